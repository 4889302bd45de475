"""Console accounts in the manager JSON API: /api/v1/manager/users (managers only)."""

from __future__ import annotations

from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from shop.auth import current_user, require_role
from shop.models import Role
from shop.refusals import bilingual_validation_errors
from shop.runtime import read, run
from shop.staff import services
from shop.staff.rules import CONSOLE_ROLES

blp = Blueprint(
    "manager_users",
    __name__,
    url_prefix="/api/v1/manager/users",
    description="Manager and staff accounts (managers only)",
)
bilingual_validation_errors(blp)


class ConsoleAccountSchema(Schema):
    id = fields.Integer()
    email = fields.String()
    name = fields.String()
    mobile = fields.String()
    role = fields.String()
    active = fields.Boolean()
    created_at = fields.DateTime()


class NewConsoleAccountSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(min=3, max=254))
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    mobile = fields.String(load_default="", validate=validate.Length(max=32))
    password = fields.String(required=True, validate=validate.Length(min=8, max=200))
    role = fields.String(required=True, validate=validate.OneOf([r.value for r in CONSOLE_ROLES]))


class ConsoleActiveSchema(Schema):
    active = fields.Boolean(required=True)


@blp.route("", methods=["GET"])
@require_role(Role.MANAGER)
@blp.response(200, ConsoleAccountSchema(many=True))
def list_accounts() -> Any:
    """Every manager and staff account."""
    return read(services.list_accounts)


@blp.route("", methods=["POST"])
@require_role(Role.MANAGER)
@blp.arguments(NewConsoleAccountSchema)
@blp.response(201, ConsoleAccountSchema)
def create_account(body: dict[str, Any]) -> Any:
    """Create a manager or staff account with a first password."""
    return run(services.create_account, **body)


@blp.route("/<int:user_id>", methods=["PATCH"])
@require_role(Role.MANAGER)
@blp.arguments(ConsoleActiveSchema)
@blp.response(200, ConsoleAccountSchema)
def update_account(body: dict[str, Any], user_id: int) -> Any:
    """Enable or disable an account (a manager cannot disable themself)."""
    me = current_user()
    assert me is not None
    return run(services.set_active, user_id, body["active"], acting_user_id=me.id)
