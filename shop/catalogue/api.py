"""The catalogue in the manager JSON API: /api/v1/manager/catalogue (managers only)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask import request
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from inventory.db import utcnow
from shop.auth import current_user, require_role
from shop.catalogue import services
from shop.catalogue.pages import save_image
from shop.catalogue.rules import CHANNELS
from shop.models import Role
from shop.refusals import Refused, bilingual_validation_errors
from shop.runtime import read, run

blp = Blueprint(
    "manager_catalogue",
    __name__,
    url_prefix="/api/v1/manager/catalogue",
    description="Products, gift boxes, retail and distributor prices, price history (managers)",
)
bilingual_validation_errors(blp)

DAYS = validate.Range(min=1, max=60)
PRICE = validate.Range(min=1, max=services.MAX_PRICE_FEN)


class CatalogueChangeSchema(Schema):
    name_zh = fields.String(validate=validate.Length(min=1, max=120))
    name_en = fields.String(validate=validate.Length(min=1, max=120))
    description_zh = fields.String(validate=validate.Length(max=2000))
    description_en = fields.String(validate=validate.Length(max=2000))
    price_fen = fields.Integer(validate=PRICE)
    pack_size_g = fields.Integer(validate=validate.Range(min=1, max=100_000))
    freshness_days = fields.Integer(validate=DAYS)
    best_before_days = fields.Integer(validate=DAYS)
    gift_box = fields.Boolean()
    contents_zh = fields.String(validate=validate.Length(max=300))
    contents_en = fields.String(validate=validate.Length(max=300))
    channels = fields.List(
        fields.String(validate=validate.OneOf(CHANNELS)), validate=validate.Length(max=2)
    )
    active = fields.Boolean()


class CatalogueProductSchema(CatalogueChangeSchema):
    sku = fields.String(required=True, validate=validate.Length(min=2, max=40))
    name_zh = fields.String(required=True, validate=validate.Length(min=1, max=120))
    name_en = fields.String(required=True, validate=validate.Length(min=1, max=120))
    price_fen = fields.Integer(required=True, validate=PRICE)
    pack_size_g = fields.Integer(required=True, validate=validate.Range(min=1, max=100_000))
    freshness_days = fields.Integer(required=True, validate=DAYS)
    best_before_days = fields.Integer(required=True, validate=DAYS)


class CasePackSchema(Schema):
    pieces = fields.Integer(required=True, validate=validate.Range(min=1, max=1000))


class DistributorPriceSchema(Schema):
    case_price_fen = fields.Integer(required=True, validate=PRICE)


def _uid() -> int:
    user = current_user()
    assert user is not None  # require_role saw to it
    return user.id


def _json(view: services.ProductView) -> dict[str, Any]:
    return asdict(view)


@blp.route("/products", methods=["GET"])
@require_role(Role.MANAGER)
def products() -> Any:
    """Every product and gift box, active ones first."""
    return [_json(p) for p in read(services.list_products)]


@blp.route("/products", methods=["POST"])
@require_role(Role.MANAGER)
@blp.arguments(CatalogueProductSchema)
def create_product(body: dict[str, Any]) -> Any:
    """Create a product or gift box with its retail price (recorded in the price history)."""
    return _json(run(services.create_product, user_id=_uid(), now=utcnow(), **body)), 201


@blp.route("/products/<string:sku>", methods=["GET"])
@require_role(Role.MANAGER)
def get_product(sku: str) -> Any:
    return _json(read(services.get_product, sku[:40]))


@blp.route("/products/<string:sku>", methods=["PATCH"])
@require_role(Role.MANAGER)
@blp.arguments(CatalogueChangeSchema)
def update_product(body: dict[str, Any], sku: str) -> Any:
    """Change any field; a new price applies to orders placed from now on only."""
    return _json(run(services.update_product, sku[:40], body, user_id=_uid(), now=utcnow()))


@blp.route("/products/<string:sku>/image", methods=["POST"])
@require_role(Role.MANAGER)
def upload_image(sku: str) -> Any:
    """The product photo as multipart field `image` (PNG, JPEG or WebP, up to 900 KB)."""
    read(services.get_product, sku[:40])
    file = request.files.get("image")
    if file is None:
        raise Refused("cat.err.image", code="bad_image")
    return _json(run(services.set_image, sku, save_image(sku, file)))


@blp.route("/products/<string:sku>/price-history", methods=["GET"])
@require_role(Role.MANAGER)
def price_history(sku: str) -> Any:
    """Every retail and distributor price change of the product, newest first."""
    return [
        {**asdict(h), "changed_at": h.changed_at.isoformat()}
        for h in read(services.price_history, sku[:40])
    ]


@blp.route("/case-packs/<string:sku>", methods=["PUT"])
@require_role(Role.MANAGER)
@blp.arguments(CasePackSchema)
def case_pack(body: dict[str, Any], sku: str) -> Any:
    """How many pieces a distributor's case holds."""
    return {"sku": sku, "pieces": run(services.set_case_pack, sku[:40], body["pieces"])}


@blp.route("/distributor-prices/<int:distributor_id>/<string:sku>", methods=["PUT"])
@require_role(Role.MANAGER)
@blp.arguments(DistributorPriceSchema)
def distributor_price(body: dict[str, Any], distributor_id: int, sku: str) -> Any:
    """A distributor's case price for a product (bookings keep the price they were made at)."""
    price = run(
        services.set_distributor_price,
        distributor_id,
        sku[:40],
        body["case_price_fen"],
        user_id=_uid(),
        now=utcnow(),
    )
    return {"distributor_id": distributor_id, "sku": sku, "case_price_fen": price}
