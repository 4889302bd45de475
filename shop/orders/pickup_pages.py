"""Staff look an order up by its pickup code (typed, or scanned from the customer's QR code)
and hand it over: a page for the counter and `GET /api/v1/pickup-codes/<code>` for the order
desk and the pickup board."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Flask, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask.views import MethodView
from flask_smorest import Blueprint as ApiBlueprint
from marshmallow import Schema, fields

from inventory.db import utcnow
from inventory.runtime import Runtime
from shop.api import get_api
from shop.auth import require_role
from shop.i18n import translate
from shop.models import Role
from shop.orders import pickup_code
from shop.orders.models import Order
from shop.runtime import current_runtime, read, run

bp = Blueprint("pickup", __name__)
blp = ApiBlueprint(
    "pickup_api",
    __name__,
    url_prefix="/api/v1",
    description="Look an order up by the pickup code the customer shows.",
)


def _find(session: Any, code: str) -> Order:
    return pickup_code.find_order_by_pickup_code(session, code, current_runtime().settings)


@bp.get("/pickup")
@require_role(Role.MANAGER)
def lookup_form() -> ResponseReturnValue:
    code = request.args.get("code", "")
    if code:
        return redirect(url_for("pickup.lookup", code=pickup_code.normalise(code)[:12]))
    return render_template("store/pickup_lookup.html", order=None, code="")


@bp.get("/pickup/<code>")
@require_role(Role.MANAGER)
def lookup(code: str) -> ResponseReturnValue:
    order = read(_find, code)
    return render_template(
        "store/pickup_lookup.html",
        order=order,
        code=pickup_code.display(pickup_code.normalise(code)),
    )


@bp.post("/pickup/<code>/collected")
@require_role(Role.MANAGER)
def collected(code: str) -> ResponseReturnValue:
    settings = current_runtime().settings
    reason = request.form.get("override_reason", "").strip()[:200] or None
    order = run(pickup_code.hand_out_by_code, code, settings, utcnow(), reason)
    flash(translate("pickup.handed_out", id=order.public_id), "ok")
    return redirect(url_for("pickup.lookup", code=pickup_code.normalise(code)))


class PickupLineOut(Schema):
    sku = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    quantity = fields.Integer()


class PickupOrderOut(Schema):
    id = fields.String(attribute="public_id")
    pickup_code = fields.String()
    status = fields.String()
    day = fields.Date()
    pickup_point = fields.String(allow_none=True)
    contact_name = fields.String()
    contact_mobile = fields.String()
    payment_method = fields.String()
    total_fen = fields.Integer(metadata={"description": "to collect when paying at pickup"})
    lines = fields.List(fields.Nested(PickupLineOut))


@blp.route("/pickup-codes/<code>")
class PickupCodeOne(MethodView):
    @require_role(Role.MANAGER)
    @blp.response(200, PickupOrderOut)
    @blp.alt_response(404, description="no pickup order has this code")
    @blp.alt_response(422, description="not a pickup code")
    def get(self, code: str) -> Any:
        """The pickup order behind a code (dashes, spaces and look-alike letters allowed)."""
        order = read(_find, code)
        return {
            "public_id": order.public_id,
            "pickup_code": pickup_code.display(
                pickup_code.code_of(order, current_runtime().settings)
            ),
            "status": order.status.value,
            "day": order.day,
            "pickup_point": order.pickup_point.code if order.pickup_point else None,
            "contact_name": order.contact_name,
            "contact_mobile": order.contact_mobile,
            "payment_method": order.payment_method,
            "total_fen": order.total_fen,
            "lines": order.lines,
        }


def init_app(app: Flask, runtime: Runtime) -> None:
    app.register_blueprint(bp)
    get_api(app).register_blueprint(blp)
