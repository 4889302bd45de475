"""The order desk in the manager JSON API: /api/v1/manager/orders (managers and staff)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from inventory.rules import local_day
from shop.auth import current_user, require_role
from shop.orders import desk, desk_refunds
from shop.orders.desk_rules import (
    CHANNELS,
    COUNTER_METHODS,
    MAX_QUERY,
    MAX_REASON,
    PAYMENT_STATES,
    STATUSES,
)
from shop.refusals import bilingual_validation_errors
from shop.runtime import clock_now, current_runtime, read, run
from shop.staff.rules import DESK_ROLES

blp = Blueprint(
    "manager_orders",
    __name__,
    url_prefix="/api/v1/manager",
    description="The order desk: a day's orders and bookings, and what staff do to them",
)
bilingual_validation_errors(blp)


class DayQuerySchema(Schema):
    day = fields.Date(load_default=None)
    pickup_point = fields.String(load_default="", validate=validate.Length(max=40))
    slot = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**31 - 1))
    channel = fields.String(load_default="", validate=validate.OneOf(["", *CHANNELS]))
    status = fields.String(load_default="", validate=validate.OneOf(["", *STATUSES]))
    payment = fields.String(load_default="", validate=validate.OneOf(["", *PAYMENT_STATES]))
    q = fields.String(load_default="", validate=validate.Length(max=MAX_QUERY))


class DeskLineSchema(Schema):
    sku = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    quantity = fields.Integer()


class DeskRowSchema(Schema):
    kind = fields.String()
    number = fields.String()
    key = fields.String()
    channel = fields.String()
    name = fields.String()
    phone = fields.String()
    status = fields.String()
    payment = fields.String()
    total_fen = fields.Integer()
    place = fields.String()
    place_en = fields.String()
    slot = fields.String()
    ready = fields.Boolean()
    lines = fields.List(fields.Nested(DeskLineSchema))


class DeskMarkSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf(list(desk.ORDER_TARGETS)))
    override_reason = fields.String(
        load_default=None,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "needed to mark an order before its day; recorded"},
    )


class BookingMarkSchema(Schema):
    action = fields.String(required=True, validate=validate.OneOf(list(desk.BOOKING_ACTIONS)))


class CounterPaymentSchema(Schema):
    method = fields.String(required=True, validate=validate.OneOf(list(COUNTER_METHODS)))
    amount_fen = fields.Integer(
        load_default=None, validate=validate.Range(min=0, max=1_000_000_000)
    )


class DeskCancelSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=MAX_REASON))


class DeskRefundSchema(Schema):
    amount_fen = fields.Integer(required=True, validate=validate.Range(min=1, max=1_000_000_000))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=MAX_REASON))
    request_key = fields.String(required=True, validate=validate.Length(min=8, max=64))


class PackingQuerySchema(Schema):
    day = fields.Date(load_default=None)
    pickup_point = fields.String(load_default="", validate=validate.Length(max=40))


def _uid() -> int:
    user = current_user()
    assert user is not None  # require_role saw to it
    return user.id


def _order_json(public_id: str) -> dict[str, Any]:
    view = read(desk.order_view, public_id)
    body = asdict(view)
    body.pop("access_token")
    body["money"]["paid_fen"] = view.money.paid_fen
    body["money"]["refundable_fen"] = view.money.refundable_fen
    body["day"] = view.day.isoformat()
    body["created_at"] = view.created_at.isoformat()
    for entry in body["timeline"]:
        entry["at"] = entry["at"].isoformat()
    for refund in body["refunds"]:
        refund["created_at"] = refund["created_at"].isoformat()
    return body


@blp.route("/orders", methods=["GET"])
@require_role(*DESK_ROLES)
@blp.arguments(DayQuerySchema, location="query")
@blp.response(200, DeskRowSchema(many=True))
def list_orders(query: dict[str, Any]) -> Any:
    """A day's customer orders and distributor bookings (default: today), filtered."""
    flt = desk.DeskFilter(
        day=query["day"] or local_day(clock_now()),
        pickup_point=query["pickup_point"],
        slot_id=query["slot"],
        channel=query["channel"],
        status=query["status"],
        payment=query["payment"],
        q=query["q"],
    )
    return read(desk.day_rows, flt)


@blp.route("/orders/packing-list", methods=["GET"])
@require_role(*DESK_ROLES)
@blp.arguments(PackingQuerySchema, location="query")
def packing_list(query: dict[str, Any]) -> Any:
    """What to pack for a day: totals per product and every live order and booking."""
    packing = read(desk.packing_list, query["day"] or local_day(clock_now()), query["pickup_point"])
    return {
        "day": packing.day.isoformat(),
        "totals": [
            {"sku": s, "name_zh": zh, "name_en": en, "pieces": n} for s, zh, en, n in packing.totals
        ],
        "rows": [asdict(r) for r in packing.rows],
    }


@blp.route("/orders/<string:public_id>", methods=["GET"])
@require_role(*DESK_ROLES)
def get_order(public_id: str) -> Any:
    """One order: lines, money taken and refunded, refunds, and its timeline of events."""
    return _order_json(public_id[:40])


@blp.route("/orders/<string:public_id>/status", methods=["POST"])
@require_role(*DESK_ROLES)
@blp.arguments(DeskMarkSchema)
def mark_order(body: dict[str, Any], public_id: str) -> Any:
    """Mark an order ready, collected (pickup) or delivered (delivery)."""
    run(
        desk.mark_order,
        public_id[:40],
        body["status"],
        user_id=_uid(),
        now=clock_now(),
        override_reason=body["override_reason"],
    )
    return _order_json(public_id[:40])


@blp.route("/orders/<string:public_id>/payment", methods=["POST"])
@require_role(*DESK_ROLES)
@blp.arguments(CounterPaymentSchema)
def take_payment(body: dict[str, Any], public_id: str) -> Any:
    """Record pay at pickup or cash on delivery, with who took it (idempotent per order)."""
    run(
        desk.take_payment,
        public_id[:40],
        method=body["method"],
        amount_fen=body["amount_fen"],
        user_id=_uid(),
        now=clock_now(),
    )
    return _order_json(public_id[:40])


@blp.route("/orders/<string:public_id>/cancel", methods=["POST"])
@require_role(*DESK_ROLES)
@blp.arguments(DeskCancelSchema)
def cancel_order(body: dict[str, Any], public_id: str) -> Any:
    """Cancel with a reason; money taken goes back as a refund issued after commit."""
    refund_id = run(
        desk_refunds.desk_cancel,
        public_id[:40],
        reason=body["reason"],
        user_id=_uid(),
        now=clock_now(),
    )
    if refund_id is not None:
        runtime = current_runtime()
        desk_refunds.issue_refund(runtime.sessions, runtime.settings, refund_id)
    return _order_json(public_id[:40])


@blp.route("/orders/<string:public_id>/refunds", methods=["POST"])
@require_role(*DESK_ROLES)
@blp.arguments(DeskRefundSchema)
def refund_order(body: dict[str, Any], public_id: str) -> Any:
    """A full or partial refund. The same request_key again returns the same refund."""
    refund = run(
        desk_refunds.request_refund,
        public_id[:40],
        amount_fen=body["amount_fen"],
        reason=body["reason"],
        request_key=body["request_key"],
        user_id=_uid(),
        now=clock_now(),
    )
    runtime = current_runtime()
    desk_refunds.issue_refund(runtime.sessions, runtime.settings, refund.id)
    return _order_json(public_id[:40]), 201


@blp.route("/bookings/<int:booking_id>/status", methods=["POST"])
@require_role(*DESK_ROLES)
@blp.arguments(BookingMarkSchema)
def mark_booking(body: dict[str, Any], booking_id: int) -> Any:
    """Check a distributor's booking in, or hand its goods out."""
    status = run(desk.mark_booking, booking_id, body["action"], now=clock_now())
    return {"booking_id": booking_id, "status": status}
