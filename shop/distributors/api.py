"""The distributor API under /api/v1/distributor: slots, bookings, standing orders, waitlist,
price list and tokens, for distributors' own systems.

Authentication: `Authorization: Bearer ggd_...` (an API token; no CSRF token needed), or the
portal's signed-in session (then with the X-CSRF-Token header). Every query is scoped to the
caller's distributor: another distributor's booking answers 404, as if it did not exist.
Token management needs the signed-in session: a leaked token cannot mint new ones.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import abort, g, request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from inventory.db import utcnow
from inventory.rules import LOCAL_ZONE
from scheduling.cutoff import cutoff_for
from scheduling.pickup.models import PickupSlot
from scheduling.pickup.slots import SlotRules
from shop.auth import current_user
from shop.distributors import accounts, bookings, common, prices, standing, tokens
from shop.distributors.bookings import BookingWithSlot, with_slot
from shop.distributors.models import StandingOrder
from shop.models import Role, User
from shop.runtime import current_runtime, read, run

blp = Blueprint(
    "distributor_api",
    __name__,
    url_prefix="/api/v1/distributor",
    description="Distributor pickups: slots, bulk bookings, standing orders (bearer token).",
)
SECURITY: list[dict[str, list[str]]] = [{"bearerAuth": []}]


def _rules() -> SlotRules:
    return SlotRules.from_settings(current_runtime().settings)


def caller_distributor_id(*, session_only: bool = False) -> int:
    """The distributor the request acts for, from a bearer token or the signed-in session."""
    if "distributor_id" in g:
        cached: int = g.distributor_id
        return cached
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        if session_only:
            abort(403, description="manage API tokens from the signed-in portal")
        distributor = run(tokens.authenticate_token, header[7:].strip())
        g.distributor_id = distributor.id
        return int(g.distributor_id)
    user: User | None = current_user()
    if user is None:
        abort(401, description="send an API token (Authorization: Bearer ...) or sign in")
    if user.role is not Role.DISTRIBUTOR or user.distributor_id is None:
        abort(403, description="only distributor accounts have bookings")
    g.distributor_id = user.distributor_id
    return int(user.distributor_id)


# --- schemas ---------------------------------------------------------------------------------


class LineSchema(Schema):
    sku = fields.String(required=True, validate=validate.Length(min=1, max=40))
    cases = fields.Integer(required=True, validate=validate.Range(min=0, max=10_000))


class BookingLineOut(Schema):
    sku = fields.String()
    cases = fields.Integer(metadata={"description": "cases served (after a part delivery)"})
    pieces = fields.Integer()
    case_price_fen = fields.Integer()
    ordered_cases = fields.Integer(
        allow_none=True,
        metadata={"description": "cases booked, when a part delivery served fewer; else null"},
    )


class SettingsSchema(Schema):
    accept_part_delivery = fields.Boolean(
        required=True,
        metadata={
            "description": "接受部分交付: after a production shortfall, serve the whole cases "
            "made and re-price the booking (true), or cancel the booking (false, the default)"
        },
    )


class SlotOut(Schema):
    id = fields.Integer()
    day = fields.Date()
    start = fields.String(metadata={"description": "local start, HH:MM Asia/Shanghai"})
    end = fields.String()
    starts_at = fields.DateTime()
    ends_at = fields.DateTime()
    capacity = fields.Integer()
    booked = fields.Integer()
    free = fields.Integer()


class SlotsOut(Schema):
    day = fields.Date()
    open = fields.Boolean()
    cutoff = fields.DateTime(metadata={"description": "changes refused from this moment"})
    slots = fields.List(fields.Nested(SlotOut))


class SlotsQuery(Schema):
    day = fields.Date(required=True)


class BookingOut(Schema):
    id = fields.Integer()
    day = fields.Date()
    slot = fields.Nested(SlotOut)
    status = fields.String()
    source = fields.String()
    version = fields.Integer()
    standing_order_id = fields.Integer(allow_none=True)
    cutoff = fields.DateTime()
    lines = fields.List(fields.Nested(BookingLineOut))
    total_fen = fields.Integer()


class BookingIn(Schema):
    day = fields.Date(required=True)
    slot_id = fields.Integer(required=True)
    lines = fields.List(fields.Nested(LineSchema), required=True, validate=validate.Length(min=1))
    note = fields.String(load_default="", validate=validate.Length(max=240))


class BookingChange(Schema):
    slot_id = fields.Integer(load_default=None)
    lines = fields.List(fields.Nested(LineSchema), load_default=None)

    @validates_schema
    def _something(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("slot_id") is None and data.get("lines") is None:
            raise ValidationError("valid.slot_or_lines")  # a catalogue key: shop.field_errors


class RangeQuery(Schema):
    start = fields.Date(load_default=None)
    end = fields.Date(load_default=None)


class StandingLine(Schema):
    weekday = fields.Integer(
        required=True, validate=validate.Range(min=0, max=6), metadata={"description": "0=Monday"}
    )
    sku = fields.String(required=True)
    cases = fields.Integer(required=True, validate=validate.Range(min=0, max=10_000))


class StandingIn(Schema):
    slot_time = fields.Time(required=True, metadata={"description": "local HH:MM, e.g. 06:15"})
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(load_default=None)
    lines = fields.List(fields.Nested(StandingLine), required=True, validate=validate.Length(min=1))


class StandingOut(Schema):
    id = fields.Integer()
    slot_time = fields.String()
    starts_on = fields.Date()
    ends_on = fields.Date(allow_none=True)
    active = fields.Boolean()
    lines = fields.List(fields.Nested(StandingLine))


class SkipIn(Schema):
    day = fields.Date(required=True)


class WaitlistIn(Schema):
    day = fields.Date(required=True)
    slot_id = fields.Integer(load_default=None)
    lines = fields.List(fields.Nested(LineSchema), required=True, validate=validate.Length(min=1))


class WaitlistOut(Schema):
    id = fields.Integer()
    day = fields.Date()
    slot_id = fields.Integer(allow_none=True)
    lines = fields.Dict(keys=fields.String(), values=fields.Integer())
    status = fields.String()
    booking_id = fields.Integer(allow_none=True)


class PriceOut(Schema):
    sku = fields.String()
    name_zh = fields.String()
    name_en = fields.String()
    case_pieces = fields.Integer()
    case_price_fen = fields.Integer()


class TokenIn(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))


class TokenOut(Schema):
    id = fields.Integer()
    name = fields.String()
    prefix = fields.String()
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)
    token = fields.String(metadata={"description": "the secret: shown only in the create answer"})


# --- dumping ---------------------------------------------------------------------------------


def slot_dict(slot: PickupSlot) -> dict[str, Any]:
    return {
        "id": slot.id,
        "day": slot.day,
        "start": f"{slot.starts_at.astimezone(LOCAL_ZONE):%H:%M}",
        "end": f"{slot.ends_at.astimezone(LOCAL_ZONE):%H:%M}",
        "starts_at": slot.starts_at,
        "ends_at": slot.ends_at,
        "capacity": slot.capacity,
        "booked": slot.booked,
        "free": slot.free,
    }


def booking_dict(loaded: BookingWithSlot, rules: SlotRules) -> dict[str, Any]:
    booking, slot = loaded.booking, loaded.slot
    return {
        "id": booking.id,
        "day": booking.day,
        "slot": slot_dict(slot),
        "status": booking.status.value,
        "source": booking.source,
        "version": booking.version,
        "standing_order_id": booking.standing_order_id,
        "cutoff": cutoff_for(booking.day, rules.cutoff),
        "lines": [
            {
                "sku": ln.sku,
                "cases": ln.cases,
                "pieces": ln.pieces,
                "case_price_fen": ln.case_price_fen,
                "ordered_cases": ln.ordered_cases,
            }
            for ln in booking.lines
        ],
        "total_fen": sum(ln.cases * ln.case_price_fen for ln in booking.lines),
    }


def standing_dict(order: StandingOrder) -> dict[str, Any]:
    return {
        "id": order.id,
        "slot_time": order.slot_time.strftime("%H:%M"),
        "starts_on": order.starts_on,
        "ends_on": order.ends_on,
        "active": order.active,
        "lines": [{"weekday": ln.weekday, "sku": ln.sku, "cases": ln.cases} for ln in order.lines],
    }


def _lines(items: list[dict[str, Any]]) -> dict[str, int]:
    merged: dict[str, int] = {}
    for item in items:
        merged[item["sku"]] = merged.get(item["sku"], 0) + int(item["cases"])
    return merged


def _weekday_lines(items: list[dict[str, Any]]) -> dict[int, dict[str, int]]:
    result: dict[int, dict[str, int]] = {}
    for item in items:
        day = result.setdefault(int(item["weekday"]), {})
        day[item["sku"]] = day.get(item["sku"], 0) + int(item["cases"])
    return result


# --- endpoints -------------------------------------------------------------------------------


@blp.route("/slots")
class Slots(MethodView):
    @blp.arguments(SlotsQuery, location="query")
    @blp.response(200, SlotsOut)
    @blp.doc(security=SECURITY)
    def get(self, args: dict[str, Any]) -> dict[str, Any]:
        """Pickup slots of a production day with free loading bays (none on a closed day)."""
        caller_distributor_id()
        day: date = args["day"]
        rules = _rules()
        open_day, slots = run(common.open_day_slots, day, rules)
        return {
            "day": day,
            "open": open_day,
            "cutoff": cutoff_for(day, rules.cutoff),
            "slots": [slot_dict(s) for s in slots],
        }


@blp.route("/bookings")
class Bookings(MethodView):
    @blp.arguments(RangeQuery, location="query")
    @blp.response(200, BookingOut(many=True))
    @blp.doc(security=SECURITY)
    def get(self, args: dict[str, Any]) -> list[dict[str, Any]]:
        """Your bookings between start and end (default: the next 14 days)."""
        distributor_id = caller_distributor_id()
        today = utcnow().astimezone(LOCAL_ZONE).date()
        start = args.get("start") or today
        end = args.get("end") or start + timedelta(days=14)
        rules = _rules()
        rows = read(bookings.list_bookings_with_slots, distributor_id, start, end)
        return [booking_dict(row, rules) for row in rows]

    @blp.arguments(BookingIn)
    @blp.response(201, BookingOut)
    @blp.alt_response(409, description="slot_full, sold_out, cutoff_passed or quota_exceeded")
    @blp.doc(security=SECURITY)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Book a slot with a bulk order (cases per product): seat and stock, all or nothing."""
        distributor_id = caller_distributor_id()
        rules = _rules()
        booked = run(
            with_slot(bookings.create_booking),
            rules,
            distributor_id=distributor_id,
            day=data["day"],
            slot_id=data["slot_id"],
            lines=_lines(data["lines"]),
            now=utcnow(),
            source="api" if request.headers.get("Authorization") else "portal",
            note=data["note"],
        )
        return booking_dict(booked, rules)


@blp.route("/bookings/<int:booking_id>")
class BookingItem(MethodView):
    @blp.response(200, BookingOut)
    @blp.doc(security=SECURITY)
    def get(self, booking_id: int) -> dict[str, Any]:
        distributor_id = caller_distributor_id()
        found = read(with_slot(bookings.get_booking), distributor_id, booking_id)
        return booking_dict(found, _rules())

    @blp.arguments(BookingChange)
    @blp.response(200, BookingOut)
    @blp.doc(security=SECURITY)
    def patch(self, data: dict[str, Any], booking_id: int) -> dict[str, Any]:
        """Change slot and/or quantities until the cut-off (20:00 the evening before)."""
        distributor_id = caller_distributor_id()
        rules = _rules()
        changed = run(
            with_slot(bookings.change_booking),
            rules,
            distributor_id=distributor_id,
            booking_id=booking_id,
            now=utcnow(),
            slot_id=data.get("slot_id"),
            lines=_lines(data["lines"]) if data.get("lines") is not None else None,
        )
        return booking_dict(changed, rules)

    @blp.response(200, BookingOut)
    @blp.doc(security=SECURITY)
    def delete(self, booking_id: int) -> dict[str, Any]:
        """Cancel until the cut-off; the seat and stock are released at once."""
        distributor_id = caller_distributor_id()
        rules = _rules()
        cancelled = run(
            with_slot(bookings.cancel_booking),
            rules,
            distributor_id=distributor_id,
            booking_id=booking_id,
            now=utcnow(),
        )
        return booking_dict(cancelled, rules)


@blp.route("/standing-orders")
class StandingOrders(MethodView):
    @blp.response(200, StandingOut(many=True))
    @blp.doc(security=SECURITY)
    def get(self) -> list[dict[str, Any]]:
        distributor_id = caller_distributor_id()
        return [standing_dict(o) for o in read(standing.list_standing_orders, distributor_id)]

    @blp.arguments(StandingIn)
    @blp.response(201, StandingOut)
    @blp.doc(security=SECURITY)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """A standing order: cases per weekday and product, collected in a default slot."""
        return _save_standing(data)


def _save_standing(data: dict[str, Any], order_id: int | None = None) -> dict[str, Any]:
    """Create (no id) or replace the caller's standing order from a StandingIn body."""
    distributor_id = caller_distributor_id()
    order = run(
        standing.save_standing_order,
        distributor_id=distributor_id,
        slot_time=data["slot_time"],
        weekday_lines=_weekday_lines(data["lines"]),
        starts_on=data["starts_on"],
        ends_on=data["ends_on"],
        standing_order_id=order_id,
    )
    return standing_dict(order)


@blp.route("/standing-orders/<int:order_id>")
class StandingOrderItem(MethodView):
    @blp.arguments(StandingIn)
    @blp.response(200, StandingOut)
    @blp.doc(security=SECURITY)
    def put(self, data: dict[str, Any], order_id: int) -> dict[str, Any]:
        """Replace a standing order's pattern; bookings already made keep their quantities."""
        return _save_standing(data, order_id)

    @blp.response(200, StandingOut)
    @blp.doc(security=SECURITY)
    def delete(self, order_id: int) -> dict[str, Any]:
        """End a standing order: no further bookings are made from it."""
        distributor_id = caller_distributor_id()
        return standing_dict(run(standing.end_standing_order, distributor_id, order_id))


@blp.route("/standing-orders/<int:order_id>/skip")
class StandingSkip(MethodView):
    @blp.arguments(SkipIn)
    @blp.response(204)
    @blp.doc(security=SECURITY)
    def post(self, data: dict[str, Any], order_id: int) -> None:
        """Skip one day of a standing order (until that day's cut-off)."""
        distributor_id = caller_distributor_id()
        run(
            standing.skip_occurrence,
            _rules(),
            distributor_id=distributor_id,
            order_id=order_id,
            day=data["day"],
            now=utcnow(),
        )


@blp.route("/waitlist")
class Waitlist(MethodView):
    @blp.arguments(WaitlistIn)
    @blp.response(201, WaitlistOut)
    @blp.doc(security=SECURITY)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Wait for stock or a seat on a sold-out day: served in order when some is released."""
        distributor_id = caller_distributor_id()
        entry = run(
            bookings.join_waitlist,
            distributor_id=distributor_id,
            day=data["day"],
            slot_id=data["slot_id"],
            lines=_lines(data["lines"]),
            reason="requested",
        )
        return {
            "id": entry.id,
            "day": entry.day,
            "slot_id": entry.slot_id,
            "lines": entry.lines,
            "status": entry.status.value,
            "booking_id": entry.booking_id,
        }


@blp.route("/settings")
class Settings(MethodView):
    @blp.response(200, SettingsSchema)
    @blp.doc(security=SECURITY)
    def get(self) -> dict[str, Any]:
        """The account's settings: what a production shortfall does to your bookings."""
        distributor = read(accounts.get_distributor, caller_distributor_id())
        return {"accept_part_delivery": distributor.accept_part_delivery}

    @blp.arguments(SettingsSchema)
    @blp.response(200, SettingsSchema)
    @blp.doc(security=SECURITY)
    def put(self, data: dict[str, Any]) -> dict[str, Any]:
        """Accept part delivery (true) or whole bookings only (false), for every booking not
        yet collected, from the next shortfall on."""
        distributor_id = caller_distributor_id()
        user = current_user()
        by = user.email if user is not None else f"api-token:distributor:{distributor_id}"
        distributor = run(
            accounts.set_part_delivery, distributor_id, data["accept_part_delivery"], by=by
        )
        return {"accept_part_delivery": distributor.accept_part_delivery}


@blp.route("/price-list")
class PriceList(MethodView):
    @blp.response(200, PriceOut(many=True))
    @blp.doc(security=SECURITY)
    def get(self) -> list[Any]:
        distributor_id = caller_distributor_id()
        return read(prices.price_list, distributor_id, bookable_only=True)


@blp.route("/tokens")
class Tokens(MethodView):
    @blp.response(200, TokenOut(many=True))
    def get(self) -> list[Any]:
        distributor_id = caller_distributor_id(session_only=True)
        return read(tokens.list_tokens, distributor_id)

    @blp.arguments(TokenIn)
    @blp.response(201, TokenOut)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Create a token; its secret is in this answer only (store it now)."""
        distributor_id = caller_distributor_id(session_only=True)
        issued = run(
            tokens.create_token,
            distributor_id,
            data["name"],
            max_per_hour=current_runtime().settings.token_creations_per_hour,
        )
        # Raw values: the response decorator dumps once (dumping here too broke on the
        # already-formatted dates and lost the secret, issue 10.1).
        row = issued.token
        return {
            "id": row.id,
            "name": row.name,
            "prefix": row.prefix,
            "created_at": row.created_at,
            "last_used_at": row.last_used_at,
            "revoked_at": row.revoked_at,
            "token": issued.plaintext,
        }


@blp.route("/tokens/<int:token_id>")
class TokenItem(MethodView):
    @blp.response(200, TokenOut)
    def delete(self, token_id: int) -> Any:
        """Revoke a token: it is refused from now on."""
        distributor_id = caller_distributor_id(session_only=True)
        return run(tokens.revoke_token, distributor_id, token_id)
