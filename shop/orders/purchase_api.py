"""POST /api/v1/purchases: one checkout for several pickup days (an order per day, all or
nothing, one payment); GET /api/v1/purchases/<id> for its owner, a manager or the holder of
its link token (header `X-Purchase-Token`). CSRF as for the order API."""

from __future__ import annotations

from typing import Any

from flask import Flask, abort, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from inventory.runtime import Runtime
from shop.api import get_api
from shop.auth import current_user
from shop.csrf import csrf_exempt_without_session
from shop.models import Role
from shop.orders import checkout_forms, group_flows, purchases
from shop.orders.api import ContactIn, LineIn, OrderOut
from shop.orders.rules import MAX_LINES, LineRequest, OrderNotFound
from shop.runtime import current_runtime, read

blp = Blueprint(
    "purchases_api",
    __name__,
    url_prefix="/api/v1",
    description="Checkouts for several pickup days: an order per day, one payment.",
)


class DayIn(Schema):
    day = fields.Date(required=True)
    lines = fields.List(
        fields.Nested(LineIn), required=True, validate=validate.Length(min=1, max=MAX_LINES)
    )


class PurchaseIn(Schema):
    days = fields.List(
        fields.Nested(DayIn),
        required=True,
        validate=validate.Length(min=1, max=purchases.MAX_DAYS),
        metadata={"description": "one entry per pickup day; each becomes its own order"},
    )
    contact = fields.Nested(ContactIn, required=True)
    fulfilment = fields.String(
        load_default="pickup", validate=validate.OneOf(["pickup", "delivery"])
    )
    pickup_point = fields.String(load_default="factory", validate=validate.Length(max=40))
    delivery_zone = fields.String(load_default="", validate=validate.Length(max=40))
    delivery_address = fields.String(load_default="", validate=validate.Length(max=300))
    address_id = fields.Integer(
        load_default=None,
        allow_none=True,
        strict=True,
        validate=validate.Range(min=1, max=2**31 - 1),
        metadata={
            "description": "signed in, a delivery to this address-book entry (zone, address, "
            "recipient and phone are taken from it)"
        },
    )
    payment_method = fields.String(
        load_default="pay_at_pickup",
        validate=validate.OneOf(["pay_at_pickup", "stripe", "alipay", "wechat_pay"]),
    )
    language = fields.String(load_default="zh", validate=validate.OneOf(["zh", "en"]))
    notify_channel = fields.String(load_default="mail", validate=validate.OneOf(["mail", "sms"]))


class PurchaseOut(Schema):
    id = fields.String()
    total_fen = fields.Integer()
    payment_method = fields.String()
    paid = fields.Boolean(metadata={"description": "nothing is left to pay online"})
    orders = fields.List(fields.Nested(OrderOut), metadata={"description": "one per day"})


class PlacedPurchaseOut(PurchaseOut):
    access_token = fields.String(metadata={"description": "send as X-Purchase-Token to read"})
    url = fields.String(metadata={"description": "the purchase page (pay there)"})
    client_secret = fields.String(metadata={"description": "Stripe Payment Element secret"})


def _out(view: purchases.PurchaseView) -> dict[str, Any]:
    return {
        "id": view.purchase.public_id,
        "total_fen": view.purchase.total_fen,
        "payment_method": view.purchase.payment_method,
        "paid": all(o.status.value != "pending_payment" for o in view.orders),
        "orders": view.orders,
    }


@blp.route("/purchases")
@csrf_exempt_without_session
class Purchases(MethodView):
    @blp.arguments(PurchaseIn)
    @blp.response(201, PlacedPurchaseOut)
    @blp.alt_response(
        409,
        description="a day is sold out, closed or past its cut-off: "
        "nothing was placed; `details.day` names it",
    )
    def post(self, data: dict[str, Any]) -> Any:
        """Place an order for each day, all or nothing, and start one payment for the total
        (pay at pickup: confirmed at once)."""
        user = current_user()
        form = {k: str(data.get(k) or "") for k in checkout_forms.FIELDS}
        form.update(
            name=data["contact"]["name"],
            mobile=data["contact"]["mobile"],
            email=data["contact"]["email"],
        )
        form = checkout_forms.with_address(form, user.id if user else None)
        request_ = checkout_forms.purchase_request(
            [
                purchases.DayLines(
                    d["day"], [LineRequest(ln["sku"], ln["quantity"]) for ln in d["lines"]]
                )
                for d in data["days"]
            ],
            form,
            data["language"],
        )
        placed = group_flows.checkout_days(
            current_runtime(), request_, user_id=user.id if user else None
        )
        view = read(purchases.purchase_view, placed.public_id, placed.access_token)
        return {
            **_out(view),
            "access_token": placed.access_token,
            "url": url_for(
                "purchases.purchase_page",
                public_id=placed.public_id,
                token=placed.access_token,
                _external=True,
            ),
            "client_secret": placed.client_secret,
        }


@blp.route("/purchases/<public_id>")
class PurchaseOne(MethodView):
    @blp.response(200, PurchaseOut)
    def get(self, public_id: str) -> Any:
        """A purchase and its orders, for its owner, a manager or its X-Purchase-Token."""
        token = request.headers.get("X-Purchase-Token", "")
        try:
            if token:
                return _out(read(purchases.purchase_view, public_id[:24], token))
            user = current_user()
            if user is None:
                abort(404, description="no such order")
            return _out(
                read(
                    purchases.owned_purchase_view,
                    public_id[:24],
                    user.id,
                    user.role is Role.MANAGER,
                )
            )
        except OrderNotFound:
            abort(404, description="no such order")


def init_app(app: Flask, runtime: Runtime) -> None:
    get_api(app).register_blueprint(blp)
