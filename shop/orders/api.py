"""The storefront's JSON API under /api/v1: products, availability and orders.

Who may see an order: its owner (signed-in session), a manager, or whoever holds its status
link token (header `X-Order-Token`). Anyone else gets 404, so ids cannot be probed.

CSRF: a JSON request to the order endpoints that carries no session cookie has no ambient
authority (it acts only as an anonymous buyer or through the order token it names), so it
needs no CSRF token; with a session cookie the `X-CSRF-Token` header is required as for every
form (`shop.csrf.csrf_exempt_without_session`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Flask, Response, abort, current_app, request, url_for
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from inventory.errors import DomainError
from inventory.runtime import Runtime
from shop.api import get_api
from shop.auth import current_user
from shop.csrf import csrf_exempt_without_session
from shop.models import Role
from shop.orders import flows, placing, queries, services
from shop.orders.availability import AvailabilityCache
from shop.orders.models import Order
from shop.orders.rules import MAX_LINE_QUANTITY, MAX_LINES, LineRequest, OrderNotFound
from shop.runtime import current_runtime, read

blp = Blueprint(
    "store_api",
    __name__,
    url_prefix="/api/v1",
    description="Products, availability to promise and customer orders.",
)
MAX_RANGE_DAYS = 62


class ProductSchema(Schema):
    sku = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    price_fen = fields.Integer(metadata={"description": "price in fen (1/100 yuan)"})
    freshness_days = fields.Integer()
    description_zh = fields.String()
    description_en = fields.String()


class AvailabilityQuery(Schema):
    product = fields.String(required=True, validate=validate.Length(min=1, max=40))
    from_ = fields.Date(required=True, data_key="from")
    to = fields.Date(required=True)


class DaySchema(Schema):
    date = fields.Date(attribute="day")
    available = fields.Integer()
    state = fields.String(metadata={"description": "open, sold_out, closed or cutoff"})


class AvailabilitySchema(Schema):
    product = fields.String()
    days = fields.List(fields.Nested(DaySchema))


class LineIn(Schema):
    sku = fields.String(required=True, validate=validate.Length(min=1, max=40))
    quantity = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=MAX_LINE_QUANTITY)
    )


class ContactIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    mobile = fields.String(required=True, validate=validate.Length(min=5, max=32))
    email = fields.Email(required=True)


class OrderIn(Schema):
    day = fields.Date(required=True)
    lines = fields.List(
        fields.Nested(LineIn), required=True, validate=validate.Length(min=1, max=MAX_LINES)
    )
    contact = fields.Nested(ContactIn, required=True)
    fulfilment = fields.String(
        load_default="pickup", validate=validate.OneOf(["pickup", "delivery"])
    )
    pickup_point = fields.String(load_default="factory")
    delivery_zone = fields.String(load_default="")
    delivery_address = fields.String(load_default="", validate=validate.Length(max=300))
    payment_method = fields.String(
        load_default="pay_at_pickup",
        validate=validate.OneOf(["pay_at_pickup", "stripe", "alipay", "wechat_pay"]),
    )
    language = fields.String(load_default="zh", validate=validate.OneOf(["zh", "en"]))
    notify_channel = fields.String(
        load_default="mail",
        validate=validate.OneOf(["mail", "sms"]),
        metadata={"description": "how confirmation, ready and shortfall notices are sent"},
    )
    season_reminders = fields.Boolean(
        load_default=False,
        metadata={
            "description": "also remind this customer (same channel) before 小年 and before "
            "the last fresh day before 除夕, each season, until they unsubscribe"
        },
    )
    accept_part_delivery = fields.Boolean(
        load_default=None,
        metadata={
            "description": "after a production shortfall, serve what was made and refund the "
            "rest (true) or cancel the order (false); omitted: the signed-in account's "
            "setting, false for a guest. Recorded on the order."
        },
    )


class OrderLineOut(Schema):
    sku = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    quantity = fields.Integer(metadata={"description": "pieces served (after a part delivery)"})
    ordered_quantity = fields.Integer(
        allow_none=True,
        metadata={"description": "pieces ordered, when a part delivery served fewer; else null"},
    )
    unit_price_fen = fields.Integer()
    line_total_fen = fields.Integer()


class OrderOut(Schema):
    id = fields.String(attribute="public_id")
    status = fields.Function(lambda o: o.status.value)
    day = fields.Date()
    fulfilment = fields.Function(lambda o: o.fulfilment.value)
    pickup_point = fields.Function(lambda o: o.pickup_point.code if o.pickup_point else None)
    delivery_zone = fields.Function(lambda o: o.delivery_zone.code if o.delivery_zone else None)
    payment_method = fields.String()
    subtotal_fen = fields.Integer()
    delivery_fee_fen = fields.Integer()
    total_fen = fields.Integer()
    hold_expires_at = fields.DateTime(allow_none=True)
    cutoff_at = fields.DateTime()
    created_at = fields.DateTime()
    accept_part_delivery = fields.Boolean()
    lines = fields.List(fields.Nested(OrderLineOut))


class PlacedOut(Schema):
    """The placed order as OrderOut shows it, plus what only its creator receives."""

    id = fields.String()
    status = fields.String()
    day = fields.String()
    fulfilment = fields.String()
    pickup_point = fields.String(allow_none=True)
    delivery_zone = fields.String(allow_none=True)
    payment_method = fields.String()
    subtotal_fen = fields.Integer()
    delivery_fee_fen = fields.Integer()
    total_fen = fields.Integer()
    hold_expires_at = fields.String(allow_none=True)
    cutoff_at = fields.String()
    created_at = fields.String()
    accept_part_delivery = fields.Boolean()
    lines = fields.List(fields.Nested(OrderLineOut))
    access_token = fields.String(
        metadata={"description": "send as X-Order-Token to read or cancel"}
    )
    status_url = fields.String()
    client_secret = fields.String(metadata={"description": "Stripe Payment Element secret"})


@blp.route("/products")
class Products(MethodView):
    @blp.response(200, ProductSchema(many=True))
    def get(self) -> Any:
        """Active products sold in the online shop, by SKU."""
        return list(read(services.shop_products).values())


@blp.route("/products/<sku>")
class ProductOne(MethodView):
    @blp.response(200, ProductSchema)
    def get(self, sku: str) -> Any:
        """One product of the online shop (404 when unknown or not sold there)."""
        return read(services.shop_product, sku)


# Made once: a marshmallow schema instance costs about as much to build as a cached answer
# (webargs builds one per request when given the class).
_AVAILABILITY_QUERY = AvailabilityQuery()
_AVAILABILITY_DUMP = AvailabilitySchema().dump


@blp.route("/availability")
class Availability(MethodView):
    @blp.arguments(_AVAILABILITY_QUERY, location="query")
    @blp.response(200, AvailabilitySchema)
    def get(self, args: dict[str, Any]) -> Any:
        """How many units of a product can still be promised per day (closed days: 0)."""
        start: date = args["from_"]
        end: date = args["to"]
        if end < start:
            raise DomainError(
                "'to' must not be before 'from'", key="msg.api.to_before_from", field="to"
            )
        if (end - start).days >= MAX_RANGE_DAYS:
            raise DomainError(
                f"ask for at most {MAX_RANGE_DAYS} days at a time", key="msg.api.range", field="to"
            )
        runtime = current_runtime()
        cache: AvailabilityCache = current_app.extensions["gaogan_availability"]
        rendered = read(
            queries.cached_availability,
            cache,
            args["product"],
            start,
            end,
            settings=runtime.settings,
            dump=_AVAILABILITY_DUMP,
        )
        # Clients may keep the body but must ask again (no-cache): a day that sold out a
        # second ago must not show as open from a phone's cache. Unchanged: 304, no body.
        if request.if_none_match.contains(rendered.etag):
            response = Response(status=304)
        else:
            response = Response(rendered.body, mimetype="application/json")
        response.set_etag(rendered.etag)
        response.headers["Cache-Control"] = "no-cache"
        return response


def _authorised_order(public_id: str) -> Order:
    token = request.headers.get("X-Order-Token", "")
    try:
        if token:
            return read(services.get_order_by_link, public_id, token)
        order = read(services.get_order, public_id)
    except OrderNotFound:
        abort(404, description="no such order")
    user = current_user()
    if user is not None and (order.user_id == user.id or user.role is Role.MANAGER):
        return order
    abort(404, description="no such order")


@blp.route("/orders")
@csrf_exempt_without_session
class Orders(MethodView):
    @blp.arguments(OrderIn)
    @blp.response(201, PlacedOut)
    @blp.alt_response(409, description="sold out, day closed or past its cut-off")
    def post(self, data: dict[str, Any]) -> Any:
        """Place an order: all lines or nothing. Pay at pickup confirms at once; an online
        payment holds the stock for the configured minutes while the customer pays."""
        user = current_user()
        place = placing.PlaceOrder(
            day=data["day"],
            lines=[LineRequest(ln["sku"], ln["quantity"]) for ln in data["lines"]],
            contact=placing.Contact(**data["contact"]),
            fulfilment=data["fulfilment"],
            payment_method=data["payment_method"],
            pickup_point=data["pickup_point"],
            delivery_zone=data["delivery_zone"],
            delivery_address=data["delivery_address"],
            language=data["language"],
            notify_channel=data["notify_channel"],
            season_reminders=data["season_reminders"],
            accept_part_delivery=bool(
                data["accept_part_delivery"]
                if data["accept_part_delivery"] is not None
                else user is not None and user.accept_part_delivery
            ),
        )
        placed = flows.checkout(current_runtime(), place, user_id=user.id if user else None)
        order = read(services.get_order, placed.public_id)
        return {
            **OrderOut().dump(order),
            "access_token": placed.access_token,
            "status_url": url_for(
                "store.track",
                public_id=placed.public_id,
                token=placed.access_token,
                _external=True,
            ),
            "client_secret": placed.client_secret,
        }


@blp.route("/orders/<public_id>")
class OrderOne(MethodView):
    @blp.response(200, OrderOut)
    def get(self, public_id: str) -> Any:
        """An order, for its owner, a manager or the holder of its X-Order-Token."""
        return _authorised_order(public_id)


@blp.route("/orders/<public_id>/cancel")
@csrf_exempt_without_session
class OrderCancel(MethodView):
    @blp.response(200, OrderOut)
    @blp.alt_response(409, description="past the cut-off or not cancellable")
    def post(self, public_id: str) -> Any:
        """Cancel before the cut-off (the evening before); a paid order is refunded."""
        order = _authorised_order(public_id)
        flows.cancel(current_runtime(), order.public_id, reason="cancelled by the customer")
        return read(services.get_order, public_id)


def init_app(app: Flask, runtime: Runtime) -> None:
    # One cache per app, so per gunicorn worker process; see shop.orders.availability for
    # why that is safe across processes.
    app.extensions["gaogan_availability"] = AvailabilityCache()
    get_api(app).register_blueprint(blp)
