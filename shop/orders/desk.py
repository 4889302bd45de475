"""The order desk: a day's customer orders and distributor bookings in one list, and what
staff do to them (ready, collected, delivered, paid at the counter, cancel, refund).

Use cases take a Session and explicit arguments and never commit; the only network call (a
refund through the payment provider) is `issue_refund`, which runs after the commit in
short transactions of its own, like `shop.orders.flows.refund_order`.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inventory.errors import DomainError
from inventory.events import publish
from inventory.models import OutboxEvent
from scheduling.errors import BeforeTheDay
from scheduling.pickup.models import PickupSlot
from shop.distributors import pickup as bookings
from shop.distributors.models import Booking, BookingStatus, Distributor
from shop.orders import services
from shop.orders.desk_models import CounterPayment, DeskRefund
from shop.orders.desk_rules import (
    COUNTER_METHODS,
    matches,
    payment_state,
    refundable_fen,
)
from shop.orders.models import (
    Fulfilment,
    Order,
    OrderStatus,
    PaymentAttempt,
    PaymentAttemptStatus,
    PickupPoint,
)
from shop.refusals import Refused

log = logging.getLogger("gaogan.desk")

ORDER_TARGETS = {
    "ready": OrderStatus.READY,
    "collected": OrderStatus.COLLECTED,
    "delivered": OrderStatus.DELIVERED,
}
BOOKING_ACTIONS = ("check_in", "collected")
# An attempt the desk itself closed when it took over the refund (see desk_cancel).
DESK_REFUND_PREFIX = "desk:"


@dataclass(frozen=True)
class DeskFilter:
    day: date
    pickup_point: str = ""  # a pickup point code
    slot_id: int | None = None
    channel: str = ""  # pickup, delivery, distributor
    status: str = ""
    payment: str = ""
    q: str = ""


@dataclass(frozen=True)
class DeskLine:
    sku: str
    name_zh: str
    name_en: str
    quantity: int  # pieces
    # A part delivery: (served, ordered), in pieces for an order, in cases for a booking.
    part: tuple[int, int] | None = None
    part_in_cases: bool = False


@dataclass(frozen=True)
class DeskRow:
    kind: str  # "order" or "booking"
    number: str  # the order's public id, or "B<id>" for a booking
    key: str  # public id or booking id, for links
    channel: str
    name: str
    phone: str
    status: str
    payment: str
    total_fen: int
    place: str  # pickup point (zh/en joined by the page) or delivery zone
    place_en: str
    slot: str  # "06:15" for a booking
    lines: list[DeskLine] = field(default_factory=list)
    ready: bool = False


@dataclass(frozen=True)
class Money:
    online_paid_fen: int
    counter_paid_fen: int
    refunded_fen: int
    provider_ref: str  # the succeeded online payment, "" if none

    @property
    def paid_fen(self) -> int:
        return self.online_paid_fen + self.counter_paid_fen

    @property
    def refundable_fen(self) -> int:
        return refundable_fen(self.paid_fen, self.refunded_fen)


def not_found(what: str) -> Refused:
    return Refused("desk.err.not_found", status=404, code="not_found", what=what)


def desk_order(session: Session, public_id: str, *, lock: bool = False) -> Order:
    stmt = select(Order).where(Order.public_id == public_id)
    if lock:
        stmt = stmt.with_for_update(of=Order)  # its pickup point is outer-joined
    order = session.scalar(stmt)
    if order is None:
        raise not_found(public_id)
    return order


def money_of(session: Session, order: Order) -> Money:
    attempts = session.scalars(
        select(PaymentAttempt).where(
            PaymentAttempt.order_id == order.id,
            PaymentAttempt.status.in_(
                [PaymentAttemptStatus.SUCCEEDED, PaymentAttemptStatus.REFUNDED]
            ),
        )
    ).all()
    online = sum(a.amount_fen for a in attempts)
    # A full refund made by the storefront (cancel, shortfall) is on the attempt itself.
    refunded = sum(
        a.amount_fen
        for a in attempts
        if a.status is PaymentAttemptStatus.REFUNDED
        and not (a.refund_ref or "").startswith(DESK_REFUND_PREFIX)
    )
    refunded += (
        session.scalar(
            select(func.coalesce(func.sum(DeskRefund.amount_fen), 0)).where(
                DeskRefund.order_id == order.id
            )
        )
        or 0
    )
    counter = session.scalar(
        select(CounterPayment.amount_fen).where(CounterPayment.order_id == order.id)
    )
    provider_ref = next(
        (a.provider_ref or "" for a in attempts if a.status is PaymentAttemptStatus.SUCCEEDED),
        "",
    )
    if not provider_ref and attempts:
        provider_ref = attempts[0].provider_ref or ""
    return Money(online, counter or 0, refunded, provider_ref)


def _order_row(session: Session, order: Order) -> DeskRow:
    money = money_of(session, order)
    point, zone = order.pickup_point, order.delivery_zone
    return DeskRow(
        kind="order",
        number=order.public_id,
        key=order.public_id,
        channel=order.fulfilment.value,
        name=order.contact_name,
        phone=order.contact_mobile,
        status=order.status.value,
        payment=payment_state(
            online_paid_fen=money.online_paid_fen,
            counter_paid_fen=money.counter_paid_fen,
            refunded_fen=money.refunded_fen,
        ),
        total_fen=order.total_fen,
        place=point.name_zh if point else (zone.name_zh if zone else ""),
        place_en=point.name_en if point else (zone.name_en if zone else ""),
        slot="",
        lines=[
            DeskLine(
                ln.sku,
                ln.name_zh,
                ln.name_en,
                ln.quantity,
                part=(ln.quantity, ln.ordered_quantity)
                if ln.ordered_quantity is not None
                else None,
            )
            for ln in order.lines
        ],
        ready=order.status is OrderStatus.READY,
    )


def _booking_row(
    booking: Booking, distributor: Distributor, slot: PickupSlot, names: dict[str, tuple[str, str]]
) -> DeskRow:
    from inventory.rules import LOCAL_ZONE

    phone = next((c.phone for c in distributor.contacts if c.phone), "")
    return DeskRow(
        kind="booking",
        number=f"B{booking.id}",
        key=str(booking.id),
        channel="distributor",
        name=f"{distributor.company} ({distributor.code})",
        phone=phone,
        status=booking.status.value,
        payment="on_account",
        total_fen=sum(ln.cases * ln.case_price_fen for ln in booking.lines),
        place="工厂门口",
        place_en="factory gate",
        slot=slot.starts_at.astimezone(LOCAL_ZONE).strftime("%H:%M"),
        lines=[
            DeskLine(
                ln.sku,
                *names.get(ln.sku, (ln.sku, ln.sku)),
                quantity=ln.pieces,
                part=(ln.cases, ln.ordered_cases) if ln.ordered_cases is not None else None,
                part_in_cases=True,
            )
            for ln in booking.lines
        ],
        ready=booking.ready_at is not None,
    )


def _names(session: Session) -> dict[str, tuple[str, str]]:
    return {sku: (p.name_zh, p.name_en) for sku, p in services.products_by_sku(session).items()}


def day_rows(session: Session, flt: DeskFilter) -> list[DeskRow]:
    """The day's orders and bookings that pass the filter, bookings by slot, then orders."""
    rows: list[DeskRow] = []
    if flt.channel in ("", "distributor") and not flt.pickup_point:
        names = _names(session)
        stmt = (
            select(Booking, Distributor, PickupSlot)
            .join(Distributor, Distributor.id == Booking.distributor_id)
            .join(PickupSlot, PickupSlot.id == Booking.slot_id)
            .where(Booking.day == flt.day)
            .order_by(PickupSlot.starts_at, Booking.id)
        )
        if flt.slot_id is not None:
            stmt = stmt.where(Booking.slot_id == flt.slot_id)
        for booking, distributor, slot in session.execute(stmt).unique().all():
            rows.append(_booking_row(booking, distributor, slot, names))
    if flt.channel in ("", "pickup", "delivery") and flt.slot_id is None:
        stmt_o = (
            select(Order)
            .where(Order.day == flt.day, Order.status != OrderStatus.EXPIRED)
            .order_by(Order.id)
        )
        if flt.channel:
            stmt_o = stmt_o.where(Order.fulfilment == Fulfilment(flt.channel))
        if flt.pickup_point:
            stmt_o = stmt_o.join(PickupPoint, PickupPoint.id == Order.pickup_point_id).where(
                PickupPoint.code == flt.pickup_point
            )
        for order in session.scalars(stmt_o).unique().all():
            rows.append(_order_row(session, order))
    return [
        r
        for r in rows
        if (not flt.status or r.status == flt.status)
        and (not flt.payment or r.payment == flt.payment)
        and matches(flt.q, r.number, r.phone, r.name)
    ]


def day_slots(session: Session, day: date) -> list[tuple[int, datetime]]:
    return [
        (s.id, s.starts_at)
        for s in session.scalars(
            select(PickupSlot).where(PickupSlot.day == day).order_by(PickupSlot.starts_at)
        )
    ]


def pickup_point_choices(session: Session) -> list[tuple[str, str, str]]:
    return [(p.code, p.name_zh, p.name_en) for p in services.pickup_points(session)]


# --- one order ------------------------------------------------------------------------


@dataclass(frozen=True)
class TimelineEntry:
    at: datetime
    type: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class RefundView:
    id: int
    amount_fen: int
    reason: str
    channel: str
    status: str
    refund_ref: str
    error: str
    requested_by: int | None  # None: the shop itself (part delivery)
    created_at: datetime


@dataclass(frozen=True)
class OrderView:
    row: DeskRow
    day: date
    email: str
    address: str
    payment_method: str
    cancel_reason: str
    money: Money
    counter_method: str
    counter_taken_by: str
    refunds: list[RefundView]
    timeline: list[TimelineEntry]
    access_token: str
    created_at: datetime


def timeline(session: Session, order_id: int) -> list[TimelineEntry]:
    """The order's story from its outbox events, oldest first (the outbox keeps every event
    about `order:<id>` in the order it was written)."""
    events = session.scalars(
        select(OutboxEvent).where(OutboxEvent.key == f"order:{order_id}").order_by(OutboxEvent.id)
    ).all()
    return [TimelineEntry(e.occurred_at, e.type, dict(e.payload)) for e in events]


def order_view(session: Session, public_id: str) -> OrderView:
    order = desk_order(session, public_id)
    counter = session.scalar(select(CounterPayment).where(CounterPayment.order_id == order.id))
    taker = ""
    if counter is not None:
        from shop.models import User

        user = session.get(User, counter.taken_by)
        taker = user.name if user else str(counter.taken_by)
    refunds = session.scalars(
        select(DeskRefund).where(DeskRefund.order_id == order.id).order_by(DeskRefund.id)
    ).all()
    return OrderView(
        row=_order_row(session, order),
        day=order.day,
        email=order.contact_email,
        address=order.delivery_address,
        payment_method=order.payment_method,
        cancel_reason=order.cancel_reason,
        money=money_of(session, order),
        counter_method=counter.method if counter else "",
        counter_taken_by=taker,
        refunds=[
            RefundView(
                r.id,
                r.amount_fen,
                r.reason,
                r.channel,
                r.status.value,
                r.refund_ref,
                r.error,
                r.requested_by,
                r.created_at,
            )
            for r in refunds
        ],
        timeline=timeline(session, order.id),
        access_token=order.access_token,
        created_at=order.created_at,
    )


def audit_order_event(session: Session, order: Order, event_type: str, **payload: Any) -> None:
    publish(
        session,
        event_type,
        {"order_id": order.id, "public_id": order.public_id, **payload},
        key=f"order:{order.id}",
    )


def mark_order(
    session: Session,
    public_id: str,
    target: str,
    *,
    user_id: int,
    now: datetime,
    override_reason: str | None = None,
) -> str:
    """ready / collected / delivered, with the event the customer is told of. Before the
    order's day the goods are not made yet: refused unless a reason is given (and recorded)."""
    status = ORDER_TARGETS.get(target)
    if status is None:
        raise Refused("desk.err.bad_target", target=target)
    order = desk_order(session, public_id, lock=True)
    if order.status is status:
        return order.status.value  # pressed twice: already done
    try:
        services.advance_order(session, order, status, now, override_reason=override_reason)
    except BeforeTheDay:
        raise  # its own message says what to do: give a reason
    except DomainError as exc:
        raise Refused(
            "desk.err.cannot_move",
            status=409,
            code="order_state",
            current=order.status.value,
            target=status.value,
        ) from exc
    audit_order_event(session, order, "order.desk_marked", target=status.value, by=user_id)
    return order.status.value


def take_payment(
    session: Session,
    public_id: str,
    *,
    method: str,
    user_id: int,
    now: datetime,
    amount_fen: int | None = None,
) -> CounterPayment:
    """Money taken at pickup or on delivery, with who took it. Idempotent per order."""
    if method not in COUNTER_METHODS:
        raise Refused("desk.err.bad_method", method=method)
    order = desk_order(session, public_id, lock=True)
    existing = session.scalar(select(CounterPayment).where(CounterPayment.order_id == order.id))
    if existing is not None:
        return existing
    if order.payment_method != "pay_at_pickup":
        raise Refused("desk.err.paid_online", status=409, code="paid_online")
    if order.status not in (
        OrderStatus.CONFIRMED,
        OrderStatus.READY,
        OrderStatus.COLLECTED,
        OrderStatus.DELIVERED,
    ):
        raise Refused(
            "desk.err.cannot_pay", status=409, code="order_state", current=order.status.value
        )
    amount = order.total_fen if amount_fen is None else amount_fen
    if amount != order.total_fen:
        raise Refused("desk.err.wrong_amount", expected=order.total_fen, given=amount)
    payment = CounterPayment(
        order_id=order.id, amount_fen=amount, method=method, taken_by=user_id, taken_at=now
    )
    session.add(payment)
    order.paid_at = now
    session.flush()
    audit_order_event(
        session,
        order,
        "order.paid_at_counter",
        amount_fen=amount,
        method=method,
        by=user_id,
        fulfilment=order.fulfilment.value,
    )
    return payment


# --- bookings -------------------------------------------------------------------------


def mark_booking(session: Session, booking_id: int, action: str, *, now: datetime) -> str:
    """Check a distributor in, or hand the goods out (checking in first if need be)."""
    if action not in BOOKING_ACTIONS:
        raise Refused("desk.err.bad_target", target=action)
    booking = session.get(Booking, booking_id)
    if booking is None:
        raise not_found(f"B{booking_id}")
    try:
        if booking.status is BookingStatus.CONFIRMED:
            bookings.check_in(session, booking_id, now=now)
        if action == "collected":
            bookings.hand_out(session, booking_id, now=now)
    except DomainError as exc:
        raise Refused(
            "desk.err.cannot_move",
            status=409,
            code="booking_state",
            current=booking.status.value,
            target=action,
        ) from exc
    session.refresh(booking)
    return booking.status.value


# --- print ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PackingList:
    day: date
    totals: list[tuple[str, str, str, int]]  # sku, zh, en, pieces
    rows: list[DeskRow]


def packing_list(session: Session, day: date, pickup_point: str = "") -> PackingList:
    """What to pack for a day: totals per product, then every live order and booking."""
    live_orders = {"paid", "confirmed", "ready"}
    live_bookings = {"confirmed", "checked_in"}
    rows = [
        r
        for r in day_rows(session, DeskFilter(day=day, pickup_point=pickup_point))
        if (r.kind == "order" and r.status in live_orders)
        or (r.kind == "booking" and r.status in live_bookings)
    ]
    totals: dict[str, list[Any]] = defaultdict(lambda: ["", "", 0])
    for row in rows:
        for ln in row.lines:
            entry = totals[ln.sku]
            entry[0], entry[1] = ln.name_zh, ln.name_en
            entry[2] += ln.quantity
    return PackingList(
        day=day,
        totals=[(sku, v[0], v[1], v[2]) for sku, v in sorted(totals.items())],
        rows=rows,
    )
