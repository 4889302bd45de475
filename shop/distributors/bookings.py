"""Bookings (stock + slot seat in one transaction) and the waitlist.

Plain functions taking a Session; they never commit. Every booking state change publishes an
event keyed `booking:<id>` in the same transaction, so webhooks arrive in order per booking.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Concatenate, ParamSpec

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inventory import reservations
from inventory.errors import DomainError, SoldOut
from inventory.events import publish
from scheduling.errors import SlotFull, SlotUnavailable
from scheduling.pickup import slots as slot_rules
from scheduling.pickup.models import PickupSlot
from scheduling.pickup.slots import SlotRules
from shop.distributors.accounts import get_distributor
from shop.distributors.common import atomic, day_slots, is_open_day, priced_lines, publish_booking
from shop.distributors.credit import AccountSuspended, check_credit, lock_account
from shop.distributors.errors import BookingNotFound, BookingStateError, QuotaExceeded
from shop.distributors.models import (
    Booking,
    BookingLine,
    BookingStatus,
    Distributor,
    Quota,
    WaitlistEntry,
    WaitlistStatus,
)
from shop.distributors.rules import (
    LIVE,
    PICKUP_WINDOW_DAYS,
    check_cutoff,
    check_slot_ready,
    stock_lines,
)

P = ParamSpec("P")


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


def _value(priced: Sequence[tuple[str, int, int, int]]) -> int:
    """What the lines are worth at the distributor's case prices, in fen."""
    return sum(cases * price for _, cases, _, price in priced)


@atomic
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
    wait_for_account: bool = True,
) -> Booking:
    """Book a slot seat and reserve the stock, all or nothing.

    Order of locks: the distributor row (suspension and credit limit, `credit.lock_account`),
    the slot row (one guarded UPDATE), then the supply rows (inside reservations.reserve, by
    id): every booking path takes them in this order. `wait_for_account=False` for callers
    already holding slot or supply rows (the waitlist, standing orders): see `credit`.
    """
    lock_account(session, distributor_id, wait=wait_for_account)
    if enforce_cutoff:
        check_cutoff(day, now, rules, "book")
    if not is_open_day(session, day):
        raise SlotUnavailable(
            f"no production on {day.isoformat()} (holiday or closed day): no pickup slots",
            key="msg.dist.no_production",
            day=day.isoformat(),
        )
    day_slots(session, day, rules)
    slot = slot_rules.get_slot(session, slot_id, day)
    check_slot_ready(slot, rules)
    priced = priced_lines(session, distributor_id, day, lines)
    _check_quota(session, distributor_id, day, priced)
    check_credit(session, distributor_id, _value(priced))
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
        stock_lines(day, priced),
        hold_until=None,
        window_days=PICKUP_WINDOW_DAYS,
        now=now,
    )
    publish_booking(session, "booking.confirmed", booking)
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


@atomic
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
    seat and stock are given back in the same transaction as the new ones are taken. A
    suspended account changes nothing; more goods must fit under the credit limit."""
    lock_account(session, distributor_id)
    booking = get_booking(session, distributor_id, booking_id, lock=True)
    if booking.status is not BookingStatus.CONFIRMED:
        raise BookingStateError(
            f"a {booking.status.value} booking can no longer be changed",
            key="msg.dist.cannot_change",
            status=booking.status.value,
        )
    check_cutoff(booking.day, now, rules, "change this booking")
    changed = False
    if slot_id is not None and slot_id != booking.slot_id:
        new_slot = slot_rules.get_slot(session, slot_id, booking.day)
        check_slot_ready(new_slot, rules)
        slot_rules.move_seat(session, booking.slot_id, new_slot.id)
        booking.slot_id = new_slot.id
        changed = True
    released_stock = False
    if lines is not None:
        priced = priced_lines(session, distributor_id, booking.day, lines)
        old = {ln.sku: ln.cases for ln in booking.lines}
        new = {sku: cases for sku, cases, _, _ in priced}
        if old != new:
            _check_quota(session, distributor_id, booking.day, priced, excluding_booking=booking.id)
            if _value(priced) > sum(ln.cases * ln.case_price_fen for ln in booking.lines):
                check_credit(session, distributor_id, _value(priced), excluding_booking=booking.id)
            reservations.change(
                session,
                booking.ref,
                stock_lines(booking.day, priced),
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
    publish_booking(session, "booking.changed", booking)
    if released_stock or slot_id is not None:
        serve_waitlist(session, rules, booking.day, now=now)
    return booking


@atomic
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
    check_cutoff(booking.day, now, rules, "cancel this booking")
    end_booking(session, booking, BookingStatus.CANCELLED, now, reason="cancelled")
    booking.cancelled_at = now
    publish_booking(session, "booking.cancelled", booking, reason="cancelled")
    serve_waitlist(session, rules, booking.day, now=now)
    return booking


def end_booking(
    session: Session, booking: Booking, status: BookingStatus, now: datetime, *, reason: str
) -> None:
    slot_rules.release_seat(session, booking.slot_id)
    reservations.release(session, booking.ref, reason=reason)
    booking.status = status
    booking.version += 1
    booking.updated_at = now


# --- the waitlist --------------------------------------------------------------------------


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
    if not get_distributor(session, distributor_id).active:
        raise AccountSuspended("this distributor account is suspended", key="msg.dist.suspended")
    priced = priced_lines(session, distributor_id, day, lines)
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
                        wait_for_account=False,
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


# --- for views: a booking with its slot ------------------------------------------------------


@dataclass(frozen=True)
class BookingWithSlot:
    """A booking and its slot, loaded together so a view can show both after the session."""

    booking: Booking
    slot: PickupSlot


def _with_its_slot(session: Session, booking: Booking) -> BookingWithSlot:
    slot = session.get(PickupSlot, booking.slot_id)
    assert slot is not None  # a booking's slot is a foreign key
    return BookingWithSlot(booking, slot)


def with_slot(
    use_case: Callable[Concatenate[Session, P], Booking],
) -> Callable[Concatenate[Session, P], BookingWithSlot]:
    """The same use case, answering the booking together with its slot (read in the same
    session, after the change)."""

    def wrapped(session: Session, /, *args: P.args, **kwargs: P.kwargs) -> BookingWithSlot:
        return _with_its_slot(session, use_case(session, *args, **kwargs))

    wrapped.__name__, wrapped.__doc__ = use_case.__name__, use_case.__doc__
    return wrapped


def list_bookings_with_slots(
    session: Session, distributor_id: int, start: date, end: date
) -> list[BookingWithSlot]:
    return [
        _with_its_slot(session, booking)
        for booking in list_bookings(session, distributor_id, start, end)
    ]
