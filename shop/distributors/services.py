"""Distributor services: accounts, bookings (stock + slot seat in one transaction), standing
orders, the pickup morning (check-in, hand-out, no-shows), peak quotas and the waitlist.

Plain functions taking a Session; they never commit. Every booking state change publishes an
event keyed `booking:<id>` in the same transaction, so webhooks arrive in order per booking.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inventory import catalog, reservations
from inventory.errors import DayClosed, DomainError, InvalidQuantity, SoldOut
from inventory.events import publish
from inventory.models import Item, Supply
from inventory.rules import LOCAL_ZONE, local_moment
from scheduling.cutoff import cutoff_for, is_past_cutoff
from scheduling.early import check_not_before_day
from scheduling.errors import CutoffPassed, SlotFull, SlotUnavailable
from scheduling.pickup import slots as slot_rules
from scheduling.pickup.models import PickupSlot
from scheduling.pickup.slots import SlotRules
from scheduling.pickup.standing_orders import (
    Occurrence,
    StandingPattern,
    days_between,
    occurrences,
    proportional_quotas,
)
from scheduling.planning import calendar
from shop.distributors.accounts import get_distributor
from shop.distributors.errors import (
    BookingNotFound,
    BookingStateError,
    NotOnPriceList,
    QuotaExceeded,
    StandingOrderNotFound,
)
from shop.distributors.models import (
    Booking,
    BookingLine,
    BookingStatus,
    CasePack,
    Distributor,
    DistributorPrice,
    Quota,
    StandingOrder,
    StandingOrderLine,
    StandingSkip,
    WaitlistEntry,
    WaitlistStatus,
)

# Hot same-morning pickup: a booking for day t draws only on day t's output.
PICKUP_WINDOW_DAYS = 1
LIVE = (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN)

P = ParamSpec("P")
R = TypeVar("R")


def _atomic(func: Callable[Concatenate[Session, P], R]) -> Callable[Concatenate[Session, P], R]:
    """Run a multi-step change in a SAVEPOINT: a refusal half-way (the new slot is full after
    the old seat was given back) leaves the caller's transaction exactly as it was, even if
    the caller goes on and commits."""

    def wrapped(session: Session, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with session.begin_nested():
            return func(session, *args, **kwargs)

    wrapped.__name__, wrapped.__doc__ = func.__name__, func.__doc__
    return wrapped


# --- accounts: price list --------------------------------------------------------------------


def set_case_pack(session: Session, sku: str, pieces: int) -> CasePack:
    catalog.get_product(session, sku)
    if pieces <= 0:
        raise InvalidQuantity(
            "a case holds at least one piece", key="msg.dist.case_pieces", sku=sku
        )
    pack = session.scalar(select(CasePack).where(CasePack.sku == sku))
    if pack is None:
        pack = CasePack(sku=sku, pieces=pieces)
        session.add(pack)
    else:
        pack.pieces = pieces
    session.flush()
    return pack


def set_price(
    session: Session, distributor_id: int, sku: str, case_price_fen: int
) -> DistributorPrice:
    get_distributor(session, distributor_id)
    catalog.get_product(session, sku)
    if case_price_fen < 0:
        raise DomainError(
            "a price cannot be negative", key="msg.dist.price_negative", field="case_price_fen"
        )
    price = session.scalar(
        select(DistributorPrice).where(
            DistributorPrice.distributor_id == distributor_id, DistributorPrice.sku == sku
        )
    )
    if price is None:
        price = DistributorPrice(
            distributor_id=distributor_id, sku=sku, case_price_fen=case_price_fen
        )
        session.add(price)
    else:
        price.case_price_fen = case_price_fen
    session.flush()
    return price


@dataclass(frozen=True)
class PriceListEntry:
    sku: str
    name_zh: str
    name_en: str
    case_pieces: int
    case_price_fen: int


def price_list(session: Session, distributor_id: int) -> list[PriceListEntry]:
    rows = session.execute(
        select(DistributorPrice, CasePack, Item)
        .join(CasePack, CasePack.sku == DistributorPrice.sku)
        .join(Item, Item.sku == DistributorPrice.sku)
        .where(DistributorPrice.distributor_id == distributor_id, Item.active.is_(True))
        .order_by(DistributorPrice.sku)
    ).all()
    return [
        PriceListEntry(p.sku, item.name_zh, item.name_en, pack.pieces, p.case_price_fen)
        for p, pack, item in rows
    ]


# --- calendar and slots ----------------------------------------------------------------------


def _closed_days(session: Session, start: date, end: date) -> set[date]:
    """Days without production between start and end (inclusive).

    The one place distributor code asks the production calendar: official holidays closed,
    make-up workdays open, and the manager's own entries (a day closed for repairs, a holiday
    worked through) win over both.
    """
    return calendar.closed_days(session, start, end)


def is_open_day(session: Session, day: date) -> bool:
    return day not in _closed_days(session, day, day)


def day_slots(session: Session, day: date, rules: SlotRules) -> list[PickupSlot]:
    """The bookable slots of a day, made on first use; none on a closed day."""
    return slot_rules.ensure_slots(session, day, rules, open_day=is_open_day(session, day))


def cutoff_message_params(day: date, rules: SlotRules) -> dict[str, str]:
    cutoff = cutoff_for(day, rules.cutoff).astimezone(LOCAL_ZONE)
    return {"day": day.isoformat(), "cutoff": cutoff.strftime("%Y-%m-%d %H:%M")}


def _check_cutoff(day: date, now: datetime, rules: SlotRules, action: str) -> None:
    if is_past_cutoff(day, now, rules.cutoff):
        params = cutoff_message_params(day, rules)
        raise CutoffPassed(
            f"too late to {action}: bookings for pickup on {params['day']} closed at "
            f"{params['cutoff']} (Beijing time), when the rice for that morning went to soak",
            key="msg.dist.too_late",
            cutoff=params["cutoff"],
            day=params["day"],
        )


# --- bookings --------------------------------------------------------------------------------


def _priced_lines(
    session: Session, distributor_id: int, day: date, lines: Mapping[str, int]
) -> list[tuple[str, int, int, int]]:
    """(sku, cases, pieces, case price) per line, validated against the price list."""
    cleaned = {sku.strip(): int(cases) for sku, cases in lines.items() if int(cases) != 0}
    if not cleaned:
        raise InvalidQuantity(
            "a booking needs at least one product with a number of cases", key="msg.dist.no_cases"
        )
    result = []
    for sku, cases in sorted(cleaned.items()):
        if cases < 0:
            raise InvalidQuantity(
                "cases cannot be negative", key="msg.dist.cases_negative", sku=sku, cases=cases
            )
        if cases > 10_000:
            raise InvalidQuantity(
                "more than 10,000 cases of one product",
                key="msg.dist.cases_too_many",
                sku=sku,
                cases=cases,
            )
        row = session.execute(
            select(DistributorPrice.case_price_fen, CasePack.pieces)
            .join(CasePack, CasePack.sku == DistributorPrice.sku)
            .where(DistributorPrice.distributor_id == distributor_id, DistributorPrice.sku == sku)
        ).first()
        if row is None:
            raise NotOnPriceList(
                f"{sku} is not on your price list; ask the factory to add it",
                key="msg.dist.not_on_price_list",
                sku=sku,
            )
        price, pieces = row
        result.append((sku, cases, cases * pieces, price))
    return result


def _stock_lines(day: date, priced: Sequence[tuple[str, int, int, int]]) -> list[reservations.Line]:
    return [reservations.Line(sku=sku, day=day, quantity=pieces) for sku, _, pieces, _ in priced]


def _check_quota(
    session: Session,
    distributor_id: int,
    day: date,
    priced: Sequence[tuple[str, int, int, int]],
    *,
    excluding_booking: int | None = None,
) -> None:
    quotas = {
        q.sku: q.cases
        for q in session.scalars(
            select(Quota).where(Quota.day == day, Quota.distributor_id == distributor_id)
        )
    }
    if not quotas:
        return
    # Read-then-check is only safe one booking at a time per distributor: a distributor's
    # system sending two bookings at once must not both fit under the quota.
    session.execute(
        select(Distributor.id).where(Distributor.id == distributor_id).with_for_update()
    ).first()
    stmt = (
        select(BookingLine.sku, func.sum(BookingLine.cases))
        .join(Booking, Booking.id == BookingLine.booking_id)
        .where(
            Booking.distributor_id == distributor_id,
            Booking.day == day,
            Booking.status.in_(LIVE),
        )
        .group_by(BookingLine.sku)
    )
    if excluding_booking is not None:
        stmt = stmt.where(Booking.id != excluding_booking)
    already = {sku: int(n) for sku, n in session.execute(stmt).all()}
    for sku, cases, _, _ in priced:
        if sku in quotas and already.get(sku, 0) + cases > quotas[sku]:
            raise QuotaExceeded(
                f"your quota for {sku} on {day.isoformat()} is {quotas[sku]} cases "
                f"({already.get(sku, 0)} already booked)",
                key="msg.dist.quota",
                sku=sku,
                quota=quotas[sku],
                booked=already.get(sku, 0),
                requested=cases,
            )


def _check_slot_ready(slot: PickupSlot, rules: SlotRules) -> None:
    ready = local_moment(slot.day, rules.ready_at)
    if slot.starts_at < ready:
        raise SlotUnavailable(
            "this slot starts before the first batch is out of the steamers",
            key="msg.dist.slot_too_early",
            slot_id=slot.id,
        )


def booking_payload(session: Session, booking: Booking) -> dict[str, Any]:
    slot = session.get(PickupSlot, booking.slot_id)
    assert slot is not None
    return {
        "booking_id": booking.id,
        "distributor_id": booking.distributor_id,
        "day": booking.day.isoformat(),
        "slot_id": slot.id,
        "slot_start": slot.starts_at.astimezone(LOCAL_ZONE).isoformat(),
        "slot_end": slot.ends_at.astimezone(LOCAL_ZONE).isoformat(),
        "status": booking.status.value,
        "version": booking.version,
        "lines": [{"sku": ln.sku, "cases": ln.cases, "pieces": ln.pieces} for ln in booking.lines],
    }


def _publish(session: Session, event_type: str, booking: Booking, **extra: Any) -> None:
    session.flush()
    payload = booking_payload(session, booking)
    payload.update(extra)
    publish(session, event_type, payload, key=booking.ref)


@_atomic
def create_booking(
    session: Session,
    rules: SlotRules,
    *,
    distributor_id: int,
    day: date,
    slot_id: int,
    lines: Mapping[str, int],
    now: datetime,
    source: str = "portal",
    standing_order_id: int | None = None,
    note: str = "",
    enforce_cutoff: bool = True,
) -> Booking:
    """Book a slot seat and reserve the stock, all or nothing.

    Order of locks: the slot row (one guarded UPDATE), then the supply rows (inside
    reservations.reserve, by id): every booking path takes them in this order.
    """
    distributor = get_distributor(session, distributor_id)
    if not distributor.active:
        raise DomainError("this distributor account is suspended", key="msg.dist.suspended")
    if enforce_cutoff:
        _check_cutoff(day, now, rules, "book")
    if not is_open_day(session, day):
        raise SlotUnavailable(
            f"no production on {day.isoformat()} (holiday or closed day): no pickup slots",
            key="msg.dist.no_production",
            day=day.isoformat(),
        )
    day_slots(session, day, rules)
    slot = slot_rules.get_slot(session, slot_id, day)
    _check_slot_ready(slot, rules)
    priced = _priced_lines(session, distributor_id, day, lines)
    _check_quota(session, distributor_id, day, priced)
    booking = Booking(
        distributor_id=distributor_id,
        day=day,
        slot_id=slot.id,
        status=BookingStatus.CONFIRMED,
        source=source,
        standing_order_id=standing_order_id,
        note=note[:240],
        version=1,
    )
    for sku, cases, pieces, price in priced:
        booking.lines.append(BookingLine(sku=sku, cases=cases, pieces=pieces, case_price_fen=price))
    session.add(booking)
    session.flush()
    slot_rules.take_seat(session, slot.id)
    reservations.reserve(
        session,
        booking.ref,
        _stock_lines(day, priced),
        hold_until=None,
        window_days=PICKUP_WINDOW_DAYS,
        now=now,
    )
    _publish(session, "booking.confirmed", booking)
    return booking


def get_booking(
    session: Session, distributor_id: int | None, booking_id: int, *, lock: bool = False
) -> Booking:
    """A booking; with a distributor id, only that distributor's (others look absent)."""
    stmt = select(Booking).where(Booking.id == booking_id)
    if lock:
        stmt = stmt.with_for_update()
    booking = session.scalar(stmt)
    if booking is None or (distributor_id is not None and booking.distributor_id != distributor_id):
        raise BookingNotFound("no such booking", key="msg.dist.no_booking", booking_id=booking_id)
    return booking


def list_bookings(
    session: Session, distributor_id: int, start: date, end: date, *, include_cancelled: bool = True
) -> list[Booking]:
    stmt = (
        select(Booking)
        .where(Booking.distributor_id == distributor_id, Booking.day >= start, Booking.day <= end)
        .order_by(Booking.day, Booking.id)
    )
    if not include_cancelled:
        stmt = stmt.where(Booking.status != BookingStatus.CANCELLED)
    return list(session.scalars(stmt))


@_atomic
def change_booking(
    session: Session,
    rules: SlotRules,
    *,
    distributor_id: int,
    booking_id: int,
    now: datetime,
    lines: Mapping[str, int] | None = None,
    slot_id: int | None = None,
) -> Booking:
    """Move to another slot and/or change quantities before the cut-off, atomically: the old
    seat and stock are given back in the same transaction as the new ones are taken."""
    booking = get_booking(session, distributor_id, booking_id, lock=True)
    if booking.status is not BookingStatus.CONFIRMED:
        raise BookingStateError(
            f"a {booking.status.value} booking can no longer be changed",
            key="msg.dist.cannot_change",
            status=booking.status.value,
        )
    _check_cutoff(booking.day, now, rules, "change this booking")
    changed = False
    if slot_id is not None and slot_id != booking.slot_id:
        new_slot = slot_rules.get_slot(session, slot_id, booking.day)
        _check_slot_ready(new_slot, rules)
        slot_rules.move_seat(session, booking.slot_id, new_slot.id)
        booking.slot_id = new_slot.id
        changed = True
    released_stock = False
    if lines is not None:
        priced = _priced_lines(session, distributor_id, booking.day, lines)
        old = {ln.sku: ln.cases for ln in booking.lines}
        new = {sku: cases for sku, cases, _, _ in priced}
        if old != new:
            _check_quota(session, distributor_id, booking.day, priced, excluding_booking=booking.id)
            reservations.change(
                session,
                booking.ref,
                _stock_lines(booking.day, priced),
                hold_until=None,
                window_days=PICKUP_WINDOW_DAYS,
                now=now,
            )
            released_stock = any(new.get(sku, 0) < n for sku, n in old.items())
            booking.lines.clear()
            session.flush()
            for sku, cases, pieces, price in priced:
                booking.lines.append(
                    BookingLine(sku=sku, cases=cases, pieces=pieces, case_price_fen=price)
                )
            changed = True
    if not changed:
        return booking
    booking.version += 1
    booking.updated_at = now
    _publish(session, "booking.changed", booking)
    if released_stock or slot_id is not None:
        serve_waitlist(session, rules, booking.day, now=now)
    return booking


@_atomic
def cancel_booking(
    session: Session,
    rules: SlotRules,
    *,
    distributor_id: int | None,
    booking_id: int,
    now: datetime,
) -> Booking:
    booking = get_booking(session, distributor_id, booking_id, lock=True)
    if booking.status is BookingStatus.CANCELLED:
        return booking
    if booking.status is not BookingStatus.CONFIRMED:
        raise BookingStateError(
            f"a {booking.status.value} booking cannot be cancelled",
            key="msg.dist.cannot_cancel",
            status=booking.status.value,
        )
    _check_cutoff(booking.day, now, rules, "cancel this booking")
    _end_booking(session, booking, BookingStatus.CANCELLED, now, reason="cancelled")
    booking.cancelled_at = now
    _publish(session, "booking.cancelled", booking, reason="cancelled")
    serve_waitlist(session, rules, booking.day, now=now)
    return booking


def _end_booking(
    session: Session, booking: Booking, status: BookingStatus, now: datetime, *, reason: str
) -> None:
    slot_rules.release_seat(session, booking.slot_id)
    reservations.release(session, booking.ref, reason=reason)
    booking.status = status
    booking.version += 1
    booking.updated_at = now


# --- the pickup morning ----------------------------------------------------------------------


def check_in(session: Session, booking_id: int, *, now: datetime) -> Booking:
    booking = get_booking(session, None, booking_id, lock=True)
    if booking.status is BookingStatus.CHECKED_IN:
        return booking
    if booking.status is not BookingStatus.CONFIRMED:
        raise BookingStateError(
            f"a {booking.status.value} booking cannot check in",
            key="msg.dist.cannot_check_in",
            status=booking.status.value,
        )
    booking.status = BookingStatus.CHECKED_IN
    booking.checked_in_at = now
    booking.version += 1
    _publish(session, "booking.checked_in", booking)
    return booking


def hand_out(
    session: Session,
    booking_id: int,
    *,
    now: datetime,
    override_reason: str | None = None,
    by: str = "",
) -> Booking:
    """Record the goods leaving against the day's lots (ledger 'handout', so every case is
    traceable to its batch) and mark the booking collected. Before the pickup day only with
    an override reason, recorded on `booking.collected`."""
    booking = get_booking(session, None, booking_id, lock=True)
    if booking.status is BookingStatus.COLLECTED:
        return booking
    if booking.status is not BookingStatus.CHECKED_IN:
        raise BookingStateError(
            "check the distributor in before handing out",
            key="msg.dist.check_in_first",
            status=booking.status.value,
        )
    early = check_not_before_day(booking.day, now, override_reason, action="hand out the goods")
    from inventory import production

    production.hand_out(session, booking.ref, reference=booking.ref)
    booking.status = BookingStatus.COLLECTED
    booking.collected_at = now
    booking.version += 1
    override = {"override": {"reason": early, "by": by, "at": now.isoformat()}} if early else {}
    _publish(session, "booking.collected", booking, **override)
    return booking


def sweep_no_shows(
    session: Session, now: datetime, *, grace_minutes: int = 30, rules: SlotRules | None = None
) -> list[str]:
    """Bookings whose slot ended more than the grace period ago without a check-in: their
    goods go back to the day's availability (walk-ins, then the waitlist) and the no-show is
    counted on the distributor. Returns the booking refs."""
    deadline = now - timedelta(minutes=grace_minutes)
    rows = session.scalars(
        select(Booking)
        .join(PickupSlot, PickupSlot.id == Booking.slot_id)
        .where(Booking.status == BookingStatus.CONFIRMED, PickupSlot.ends_at <= deadline)
        .order_by(Booking.id)
        .with_for_update(of=Booking)
    ).all()
    refs: list[str] = []
    days: set[date] = set()
    for booking in rows:
        _end_booking(session, booking, BookingStatus.NO_SHOW, now, reason="no_show")
        distributor = get_distributor(session, booking.distributor_id)
        distributor.no_shows += 1
        _publish(session, "booking.no_show", booking)
        refs.append(booking.ref)
        days.add(booking.day)
    for day in sorted(days):
        serve_waitlist(session, rules or SlotRules(grace_minutes=grace_minutes), day, now=now)
    return refs


def booking_for_ref(session: Session, ref: str) -> Booking | None:
    """The booking behind a reservation ref ("booking:7"); None for any other ref."""
    prefix, _, raw = ref.partition(":")
    if prefix != "booking" or not raw.isdigit():
        return None
    return session.get(Booking, int(raw))


def mark_ready(session: Session, booking: Booking, *, now: datetime) -> bool:
    """The morning batch put every case of the booking on lots (`order.ready` from
    `scheduling.production.batches`): record when. Idempotent; a booking no longer live is left alone.
    Publishes nothing: `order.ready` itself is what the distributor's webhook carries."""
    if booking.status not in LIVE or booking.ready_at is not None:
        return False
    booking.ready_at = now
    return True


def cancel_unserved(
    session: Session,
    booking: Booking,
    *,
    now: datetime,
    batch_ref: str,
    short: Sequence[Mapping[str, Any]] = (),
) -> bool:
    """The day's last batch made too little for this booking (`order.unserved`): it is
    cancelled, its seat freed, and the distributor told by `booking.cancelled` with reason
    `production_shortfall`. Its stock was already released by the batch. Idempotent."""
    if booking.status not in LIVE:
        return False
    _end_booking(session, booking, BookingStatus.CANCELLED, now, reason="production shortfall")
    booking.cancelled_at = now
    _publish(
        session,
        "booking.cancelled",
        booking,
        reason="production_shortfall",
        batch_ref=batch_ref,
        short=[dict(item) for item in short],
    )
    return True


@dataclass(frozen=True)
class BoardRow:
    booking: Booking
    distributor: Distributor
    slot: PickupSlot
    overdue: bool


def pickup_board(
    session: Session, day: date, *, now: datetime, grace_minutes: int
) -> list[BoardRow]:
    rows = session.execute(
        select(Booking, Distributor, PickupSlot)
        .join(Distributor, Distributor.id == Booking.distributor_id)
        .join(PickupSlot, PickupSlot.id == Booking.slot_id)
        .where(Booking.day == day, Booking.status != BookingStatus.CANCELLED)
        .order_by(PickupSlot.starts_at, Distributor.company, Booking.id)
    ).all()
    return [
        BoardRow(
            b,
            d,
            s,
            b.status is BookingStatus.CONFIRMED
            and now >= slot_rules.no_show_deadline(s.ends_at, grace_minutes),
        )
        for b, d, s in rows
    ]


# --- standing orders -------------------------------------------------------------------------


def save_standing_order(
    session: Session,
    *,
    distributor_id: int,
    slot_time: time,
    weekday_lines: Mapping[int, Mapping[str, int]],
    starts_on: date,
    ends_on: date | None = None,
    standing_order_id: int | None = None,
) -> StandingOrder:
    get_distributor(session, distributor_id)
    if ends_on is not None and ends_on < starts_on:
        raise DomainError(
            "a standing order cannot end before it starts",
            key="msg.dist.standing_ends_before",
            field="ends_on",
        )
    lines = [
        (weekday, sku, int(cases))
        for weekday, by_sku in sorted(weekday_lines.items())
        for sku, cases in sorted(by_sku.items())
        if int(cases) != 0
    ]
    if not lines:
        raise InvalidQuantity(
            "a standing order needs cases on at least one weekday", key="msg.dist.standing_no_cases"
        )
    for weekday, sku, cases in lines:
        if not 0 <= weekday <= 6:
            raise DomainError(
                "weekday must be 0 (Monday) to 6 (Sunday)", key="msg.dist.weekday", weekday=weekday
            )
        if cases < 0:
            raise InvalidQuantity(
                "cases cannot be negative", key="msg.dist.standing_cases_negative", sku=sku
            )
        _priced_lines(session, distributor_id, starts_on, {sku: cases})
    if standing_order_id is None:
        order = StandingOrder(
            distributor_id=distributor_id, slot_time=slot_time, starts_on=starts_on
        )
        session.add(order)
    else:
        order = get_standing_order(session, distributor_id, standing_order_id)
        order.lines.clear()
        session.flush()
    order.slot_time = slot_time
    order.starts_on = starts_on
    order.ends_on = ends_on
    order.active = True
    for weekday, sku, cases in lines:
        order.lines.append(StandingOrderLine(weekday=weekday, sku=sku, cases=cases))
    session.flush()
    return order


def get_standing_order(
    session: Session, distributor_id: int | None, order_id: int
) -> StandingOrder:
    order = session.get(StandingOrder, order_id)
    if order is None or (distributor_id is not None and order.distributor_id != distributor_id):
        raise StandingOrderNotFound(
            "no such standing order", key="msg.dist.no_standing", standing_order_id=order_id
        )
    return order


def list_standing_orders(session: Session, distributor_id: int) -> list[StandingOrder]:
    return list(
        session.scalars(
            select(StandingOrder)
            .where(StandingOrder.distributor_id == distributor_id, StandingOrder.active.is_(True))
            .order_by(StandingOrder.id)
        )
    )


def end_standing_order(session: Session, distributor_id: int, order_id: int) -> StandingOrder:
    order = get_standing_order(session, distributor_id, order_id)
    order.active = False
    return order


def pattern_of(order: StandingOrder) -> StandingPattern:
    by_day: dict[int, dict[str, int]] = defaultdict(dict)
    for line in order.lines:
        by_day[line.weekday][line.sku] = line.cases
    return StandingPattern(
        order_id=order.id,
        distributor_id=order.distributor_id,
        slot_time=order.slot_time,
        weekday_lines=dict(by_day),
        starts_on=order.starts_on,
        ends_on=order.ends_on,
    )


def skipped_days(
    session: Session, order_ids: Sequence[int], start: date, end: date
) -> set[tuple[int, date]]:
    if not order_ids:
        return set()
    return {
        (s.standing_order_id, s.day)
        for s in session.scalars(
            select(StandingSkip).where(
                StandingSkip.standing_order_id.in_(order_ids),
                StandingSkip.day >= start,
                StandingSkip.day <= end,
            )
        )
    }


@_atomic
def skip_occurrence(
    session: Session,
    rules: SlotRules,
    *,
    distributor_id: int,
    order_id: int,
    day: date,
    now: datetime,
) -> None:
    """Skip one day of a standing order before its cut-off: cancel the booking already made
    for it, or mark the day so the job never makes it."""
    order = get_standing_order(session, distributor_id, order_id)
    _check_cutoff(day, now, rules, "skip this day")
    booking = session.scalar(
        select(Booking).where(Booking.standing_order_id == order.id, Booking.day == day)
    )
    if booking is not None:
        cancel_booking(
            session, rules, distributor_id=distributor_id, booking_id=booking.id, now=now
        )
        return
    exists = session.scalar(
        select(StandingSkip.id).where(
            StandingSkip.standing_order_id == order.id, StandingSkip.day == day
        )
    )
    if exists is None:
        session.add(StandingSkip(standing_order_id=order.id, day=day))
        session.flush()


def generate_standing_bookings(
    session: Session,
    today: date,
    days_ahead: int,
    *,
    rules: SlotRules | None = None,
    now: datetime | None = None,
) -> list[str]:
    """Turn standing orders into bookings for today+1 .. today+days_ahead.

    Idempotent (one booking per order and day, a skipped day stays skipped). No booking on a
    closed day. An occurrence that cannot be served (slot full, sold out, over quota) goes on
    the waitlist for that day instead of failing the run. Returns the refs made.
    """
    rules = rules or SlotRules()
    start, end = today + timedelta(days=1), today + timedelta(days=days_ahead)
    if end < start:
        return []
    now = now or local_moment(today, time(0, 0))
    orders = list(
        session.scalars(
            select(StandingOrder).where(StandingOrder.active.is_(True)).order_by(StandingOrder.id)
        )
    )
    if not orders:
        return []
    order_ids = [o.id for o in orders]
    skipped = {
        (s.standing_order_id, s.day)
        for s in session.scalars(
            select(StandingSkip).where(
                StandingSkip.standing_order_id.in_(order_ids),
                StandingSkip.day >= start,
                StandingSkip.day <= end,
            )
        )
    }
    existing = {
        (sid, day)
        for sid, day in session.execute(
            select(Booking.standing_order_id, Booking.day).where(
                Booking.standing_order_id.in_(order_ids), Booking.day >= start, Booking.day <= end
            )
        ).all()
        if sid is not None
    } | {
        (sid, day)
        for sid, day in session.execute(
            select(WaitlistEntry.standing_order_id, WaitlistEntry.day).where(
                WaitlistEntry.standing_order_id.in_(order_ids),
                WaitlistEntry.day >= start,
                WaitlistEntry.day <= end,
            )
        ).all()
        if sid is not None
    }
    # Earlier occurrences that waited (sold out before the plan was published, slot full)
    # are tried again first: they were there before today's new ones.
    for day in days_between(start, end):
        serve_waitlist(session, rules, day, now=now)
    due = occurrences(
        [pattern_of(o) for o in orders],
        start,
        end,
        closed_days=_closed_days(session, start, end),
        skipped=skipped,
        existing=existing,
    )
    refs = []
    for occurrence in due:
        booking = _book_occurrence(session, rules, occurrence, now)
        if booking is not None:
            refs.append(booking.ref)
    return refs


def _book_occurrence(
    session: Session, rules: SlotRules, occurrence: Occurrence, now: datetime
) -> Booking | None:
    """The default slot if it has a bay, else the next later one that has (an earlier one
    could be before the distributor can be at the gate); waitlisted when none can serve."""
    slots = day_slots(session, occurrence.day, rules)
    if not slots:
        return None
    wanted = local_moment(occurrence.day, occurrence.slot_time)
    candidates = [s for s in slots if s.starts_at >= wanted] or [slots[-1]]
    refusal: DomainError | None = None
    for slot in candidates:
        try:
            return create_booking(
                session,
                rules,
                distributor_id=occurrence.distributor_id,
                day=occurrence.day,
                slot_id=slot.id,
                lines=occurrence.lines,
                now=now,
                source="standing",
                standing_order_id=occurrence.order_id,
                enforce_cutoff=False,
            )
        except DayClosed:
            return None  # production closed that day after all: nothing to book or wait for
        except SlotFull as exc:
            refusal = exc
            continue
        except (SoldOut, QuotaExceeded) as exc:
            refusal = exc
            break
    join_waitlist(
        session,
        distributor_id=occurrence.distributor_id,
        day=occurrence.day,
        slot_id=candidates[0].id,
        lines=occurrence.lines,
        reason=refusal.code if refusal is not None else "",
        standing_order_id=occurrence.order_id,
    )
    return None


# --- peak rationing and the waitlist ---------------------------------------------------------


def join_waitlist(
    session: Session,
    *,
    distributor_id: int,
    day: date,
    slot_id: int | None,
    lines: Mapping[str, int],
    reason: str = "",
    standing_order_id: int | None = None,
) -> WaitlistEntry:
    priced = _priced_lines(session, distributor_id, day, lines)
    entry = WaitlistEntry(
        distributor_id=distributor_id,
        day=day,
        slot_id=slot_id,
        lines={sku: cases for sku, cases, _, _ in priced},
        status=WaitlistStatus.WAITING,
        reason=reason,
        standing_order_id=standing_order_id,
    )
    session.add(entry)
    session.flush()
    publish(
        session,
        "booking.waitlisted",
        {
            "waitlist_id": entry.id,
            "distributor_id": distributor_id,
            "day": day.isoformat(),
            "lines": entry.lines,
            "reason": reason,
        },
        key=f"waitlist:{entry.id}",
    )
    return entry


def waitlist(session: Session, day: date) -> list[WaitlistEntry]:
    return list(
        session.scalars(
            select(WaitlistEntry)
            .where(WaitlistEntry.day == day, WaitlistEntry.status == WaitlistStatus.WAITING)
            .order_by(WaitlistEntry.id)
        )
    )


def serve_waitlist(session: Session, rules: SlotRules, day: date, *, now: datetime) -> list[str]:
    """Turn waiting entries of `day` into bookings, first come first served, for as long as
    stock and seats allow. Each attempt runs in a savepoint: a refusal changes nothing."""
    made = []
    for entry in waitlist(session, day):
        slots = [
            s for s in slot_rules.slots_for_day(session, day) if s.free > 0 and s.ends_at > now
        ]
        slots.sort(key=lambda s: (s.id != entry.slot_id, s.starts_at))
        for slot in slots:
            try:
                with session.begin_nested():
                    booking = create_booking(
                        session,
                        rules,
                        distributor_id=entry.distributor_id,
                        day=day,
                        slot_id=slot.id,
                        lines=entry.lines,
                        now=now,
                        source="waitlist",
                        standing_order_id=entry.standing_order_id,
                        enforce_cutoff=False,
                    )
            except SlotFull:
                continue
            except (SoldOut, QuotaExceeded, DomainError):
                break
            entry.status = WaitlistStatus.SERVED
            entry.booking_id = booking.id
            made.append(booking.ref)
            break
    return made


def cancel_waitlist_entry(session: Session, distributor_id: int, entry_id: int) -> WaitlistEntry:
    entry = session.get(WaitlistEntry, entry_id)
    if entry is None or entry.distributor_id != distributor_id:
        raise DomainError(
            "no such waitlist entry", key="msg.dist.no_waitlist", waitlist_id=entry_id
        )
    if entry.status is WaitlistStatus.WAITING:
        entry.status = WaitlistStatus.CANCELLED
    return entry


@dataclass(frozen=True)
class DemandRow:
    sku: str
    case_pieces: int
    capacity_cases: int  # what the day's supply can make, in cases
    booked_cases: int
    waitlisted_cases: int
    standing_cases: int

    @property
    def over(self) -> bool:
        return self.booked_cases + self.waitlisted_cases > self.capacity_cases


def demand_for_day(session: Session, day: date) -> list[DemandRow]:
    packs = {p.sku: p.pieces for p in session.scalars(select(CasePack))}
    supply = {
        item.sku: s.capacity
        for s, item in session.execute(
            select(Supply, Item)
            .join(Item, Item.id == Supply.item_id)
            .where(Supply.production_day == day)
        ).all()
    }
    booked: dict[str, int] = defaultdict(int)
    for sku, n in session.execute(
        select(BookingLine.sku, func.sum(BookingLine.cases))
        .join(Booking, Booking.id == BookingLine.booking_id)
        .where(Booking.day == day, Booking.status.in_((*LIVE, BookingStatus.COLLECTED)))
        .group_by(BookingLine.sku)
    ).all():
        booked[sku] = int(n)
    waiting: dict[str, int] = defaultdict(int)
    for entry in waitlist(session, day):
        for sku, n in entry.lines.items():
            waiting[sku] += int(n)
    standing = standing_weights(session, day)
    standing_total: dict[str, int] = defaultdict(int)
    for by_distributor in standing.values():
        for sku, n in by_distributor.items():
            standing_total[sku] += n
    skus = sorted(set(booked) | set(waiting) | set(standing_total))
    return [
        DemandRow(
            sku,
            packs.get(sku, 1),
            supply.get(sku, 0) // packs.get(sku, 1),
            booked[sku],
            waiting[sku],
            standing_total[sku],
        )
        for sku in skus
    ]


def standing_weights(session: Session, day: date) -> dict[int, dict[str, int]]:
    """distributor id -> sku -> cases their standing orders ask for on `day`."""
    weights: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for order in session.scalars(select(StandingOrder).where(StandingOrder.active.is_(True))):
        for sku, cases in pattern_of(order).lines_on(day).items():
            weights[order.distributor_id][sku] += cases
    return {d: dict(v) for d, v in weights.items()}


def apply_quotas(
    session: Session, day: date, quotas: Mapping[tuple[int, str], int] | None = None
) -> dict[tuple[int, str], int]:
    """Set the day's quotas: the given (distributor, sku) -> cases, or by default each product's
    capacity shared in proportion to the standing orders. Replaces the day's earlier quotas."""
    if quotas is None:
        computed: dict[tuple[int, str], int] = {}
        weights = standing_weights(session, day)
        for row in demand_for_day(session, day):
            per = {d: by_sku.get(row.sku, 0) for d, by_sku in weights.items()}
            if not any(per.values()):
                continue
            for distributor_id, cases in proportional_quotas(row.capacity_cases, per).items():
                computed[(distributor_id, row.sku)] = cases
        quotas = computed
    for (_, sku), cases in quotas.items():
        if cases < 0:
            raise InvalidQuantity(
                "a quota cannot be negative", key="msg.dist.quota_negative_sku", sku=sku
            )
    for old in session.scalars(select(Quota).where(Quota.day == day)):
        session.delete(old)
    session.flush()
    for (distributor_id, sku), cases in sorted(quotas.items()):
        session.add(Quota(day=day, distributor_id=distributor_id, sku=sku, cases=cases))
    session.flush()
    publish(
        session,
        "distributor.quotas_set",
        {
            "day": day.isoformat(),
            "quotas": [
                {"distributor_id": d, "sku": s, "cases": c} for (d, s), c in sorted(quotas.items())
            ],
        },
        key=f"quotas:{day.isoformat()}",
    )
    return dict(quotas)


def set_quota(session: Session, day: date, distributor_id: int, sku: str, cases: int) -> Quota:
    """One distributor's quota for one product and day, set by hand (keeps the others)."""
    get_distributor(session, distributor_id)
    catalog.get_product(session, sku)
    if cases < 0:
        raise InvalidQuantity("a quota cannot be negative", key="msg.dist.quota_negative", sku=sku)
    quota = session.scalar(
        select(Quota).where(
            Quota.day == day, Quota.distributor_id == distributor_id, Quota.sku == sku
        )
    )
    if quota is None:
        quota = Quota(day=day, distributor_id=distributor_id, sku=sku, cases=cases)
        session.add(quota)
    else:
        quota.cases = cases
    session.flush()
    publish(
        session,
        "distributor.quotas_set",
        {
            "day": day.isoformat(),
            "quotas": [{"distributor_id": distributor_id, "sku": sku, "cases": cases}],
        },
        key=f"quotas:{day.isoformat()}",
    )
    return quota


def quotas_for_day(session: Session, day: date) -> list[Quota]:
    return list(
        session.scalars(
            select(Quota).where(Quota.day == day).order_by(Quota.distributor_id, Quota.sku)
        )
    )


# --- monthly statement -----------------------------------------------------------------------


@dataclass(frozen=True)
class StatementLine:
    day: date
    booking_id: int
    sku: str
    cases: int
    case_price_fen: int

    @property
    def amount_fen(self) -> int:
        return self.cases * self.case_price_fen


def monthly_statement(
    session: Session, distributor_id: int, year: int, month: int
) -> list[StatementLine]:
    """Collected goods of a month, priced as booked: the basis of payment on account."""
    first = date(year, month, 1)
    after = date(year + (month == 12), month % 12 + 1, 1)
    rows = session.execute(
        select(
            Booking.day, Booking.id, BookingLine.sku, BookingLine.cases, BookingLine.case_price_fen
        )
        .join(BookingLine, BookingLine.booking_id == Booking.id)
        .where(
            Booking.distributor_id == distributor_id,
            Booking.status == BookingStatus.COLLECTED,
            Booking.day >= first,
            Booking.day < after,
        )
        .order_by(Booking.day, Booking.id, BookingLine.sku)
    ).all()
    return [StatementLine(*row) for row in rows]
