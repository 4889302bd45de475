"""Manager JSON API for security under /api/v1/manager: the audit log, sign-in locks and
"sign out everywhere". Managers only; customers and distributors get 403."""

from __future__ import annotations

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from inventory.errors import UnknownItem
from shop.auth import require_role
from shop.models import Role
from shop.runtime import read, run
from shop.security import audit, services, throttle

blp = Blueprint(
    "security_api",
    __name__,
    url_prefix="/api/v1/manager",
    description="Security: audit log, sign-in locks, ending sessions (managers)",
)


class AuditQuery(Schema):
    action = fields.String(load_default=None, validate=validate.OneOf(audit.ACTIONS))
    limit = fields.Integer(load_default=200, validate=validate.Range(min=1, max=1000))
    before_id = fields.Integer(load_default=None, validate=validate.Range(min=1))


class AuditOut(Schema):
    id = fields.Integer()
    at = fields.DateTime()
    action = fields.String()
    actor = fields.String()
    subject = fields.String()
    address = fields.String()
    details = fields.Dict()


class LockOut(Schema):
    key = fields.String()
    failures = fields.Integer()
    locked_until = fields.DateTime(allow_none=True)


class UnlockIn(Schema):
    key = fields.String(required=True, validate=validate.Length(min=1, max=300))


class EndedOut(Schema):
    user_id = fields.Integer()
    email = fields.String()


@blp.route("/audit")
class AuditLog(MethodView):
    @require_role(Role.MANAGER)
    @blp.arguments(AuditQuery, location="query")
    @blp.response(200, AuditOut(many=True))
    def get(self, args: dict[str, Any]) -> list[Any]:
        """Security-relevant actions, newest first."""
        return list(
            read(
                audit.recent,
                limit=args["limit"],
                action=args["action"],
                before_id=args["before_id"],
            )
        )


@blp.route("/locks")
class Locks(MethodView):
    @blp.response(200, LockOut(many=True))
    @require_role(Role.MANAGER)
    def get(self) -> list[Any]:
        """Accounts and addresses locked now after failed sign-ins."""
        return list(read(throttle.active_locks))

    @require_role(Role.MANAGER)
    @blp.arguments(UnlockIn)
    @blp.response(204)
    def delete(self, data: dict[str, Any]) -> None:
        """Unlock an account ("account:<email>") or address ("address:<ip>") now."""
        if not run(services.unlock, data["key"]):
            raise UnknownItem("no such lock", key=data["key"])


@blp.route("/users/<int:user_id>/sessions")
class UserSessions(MethodView):
    @blp.response(200, EndedOut)
    @require_role(Role.MANAGER)
    def delete(self, user_id: int) -> dict[str, Any]:
        """Sign a user out everywhere: every copy of every session cookie stops working."""
        user = run(services.end_sessions_of_user, user_id)
        return {"user_id": user.id, "email": user.email}
