"""The address book as JSON under /api/v1/addresses, for the signed-in customer's own
entries only (anyone else's id is a 404). Signed out: 401. A session request sends its
X-CSRF-Token as every form does."""

from __future__ import annotations

from typing import Any

from flask import Flask, abort
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from inventory.db import utcnow
from inventory.runtime import Runtime
from shop.api import get_api
from shop.auth import current_user
from shop.orders import addresses
from shop.orders.models import Address
from shop.runtime import read, run

blp = Blueprint(
    "addresses_api",
    __name__,
    url_prefix="/api/v1",
    description="The signed-in customer's address book (named delivery addresses).",
)


class AddressIn(Schema):
    label = fields.String(
        required=True,
        validate=validate.Length(min=1, max=addresses.MAX_LABEL),
        metadata={"description": "the entry's name, unique in the book: 家, 公司"},
    )
    recipient = fields.String(required=True, validate=validate.Length(min=1, max=120))
    phone = fields.String(required=True, validate=validate.Length(min=5, max=32))
    zone = fields.String(
        required=True,
        validate=validate.Length(min=1, max=40),
        metadata={"description": "a delivery zone code (tianjin, beijing, ...)"},
    )
    address = fields.String(required=True, validate=validate.Length(min=1, max=300))
    make_default = fields.Boolean(load_default=False)


class AddressOut(Schema):
    id = fields.Integer()
    label = fields.String()
    recipient = fields.String()
    phone = fields.String()
    zone = fields.Function(lambda a: a.zone.code)
    zone_name_zh = fields.Function(lambda a: a.zone.name_zh)
    zone_name_en = fields.Function(lambda a: a.zone.name_en)
    address = fields.String()
    is_default = fields.Boolean()


def _owner() -> int:
    user = current_user()
    if user is None:
        abort(401, description="sign in first")
    return user.id


def _input(data: dict[str, Any]) -> addresses.AddressInput:
    return addresses.AddressInput(
        label=data["label"],
        recipient=data["recipient"],
        phone=data["phone"],
        zone=data["zone"],
        address=data["address"],
        make_default=data["make_default"],
    )


def _fresh(user_id: int, address_id: int) -> Address:
    return read(addresses.get_address, user_id, address_id)


@blp.route("/addresses")
class Addresses(MethodView):
    @blp.response(200, AddressOut(many=True))
    def get(self) -> Any:
        """The signed-in customer's addresses, the default first."""
        return read(addresses.addresses_of, _owner())

    @blp.arguments(AddressIn)
    @blp.response(201, AddressOut)
    @blp.alt_response(422, description="a field is missing or wrong; `details.field` names it")
    def post(self, data: dict[str, Any]) -> Any:
        """Add an address (the first one becomes the default)."""
        owner = _owner()
        entry = run(addresses.add_address, owner, _input(data), utcnow())
        return _fresh(owner, entry.id)


@blp.route("/addresses/<int:address_id>")
class AddressOne(MethodView):
    @blp.response(200, AddressOut)
    def get(self, address_id: int) -> Any:
        return _fresh(_owner(), address_id)

    @blp.arguments(AddressIn)
    @blp.response(200, AddressOut)
    def put(self, data: dict[str, Any], address_id: int) -> Any:
        """Change every field of an address."""
        owner = _owner()
        run(addresses.edit_address, owner, address_id, _input(data), utcnow())
        return _fresh(owner, address_id)

    @blp.response(204)
    def delete(self, address_id: int) -> None:
        """Remove an address; if it was the default, the oldest remaining one becomes it."""
        run(addresses.delete_address, _owner(), address_id)


@blp.route("/addresses/<int:address_id>/default")
class AddressDefault(MethodView):
    @blp.response(200, AddressOut)
    def post(self, address_id: int) -> Any:
        """Make this address the default."""
        owner = _owner()
        run(addresses.set_default, owner, address_id)
        return _fresh(owner, address_id)


def init_app(app: Flask, runtime: Runtime) -> None:
    get_api(app).register_blueprint(blp)
