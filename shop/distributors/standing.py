"""Standing orders: the weekly pattern, skipped days, and the job that turns them into
bookings (waitlisted when an occurrence cannot be served).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.errors import DayClosed, DomainError, InvalidQuantity, SoldOut
from inventory.rules import local_moment
from scheduling.errors import SlotFull
from scheduling.pickup.slots import SlotRules
from scheduling.pickup.standing_orders import Occurrence, StandingPattern, days_between, occurrences
from shop.catalogue.channels import NotSoldHere
from shop.distributors.accounts import get_distributor
from shop.distributors.bookings import cancel_booking, create_booking, join_waitlist, serve_waitlist
from shop.distributors.common import atomic, closed_days, day_slots, priced_lines
from shop.distributors.credit import AccountBusy, AccountSuspended, CreditLimitExceeded
from shop.distributors.errors import QuotaExceeded, StandingOrderNotFound
from shop.distributors.models import (
    Booking,
    StandingOrder,
    StandingOrderLine,
    StandingSkip,
    WaitlistEntry,
)
from shop.distributors.prices import PriceListEntry, price_list
from shop.distributors.rules import check_cutoff


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
        priced_lines(session, distributor_id, starts_on, {sku: cases})
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


@atomic
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
    check_cutoff(day, now, rules, "skip this day")
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
        closed_days=closed_days(session, start, end),
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
                # This run already holds other accounts' slot and supply rows: never wait
                # for an account's lock (shop.distributors.credit).
                wait_for_account=False,
            )
        except DayClosed:
            return None  # production closed that day after all: nothing to book or wait for
        except (AccountSuspended, NotSoldHere, AccountBusy):
            # Suspended, or a product no longer sold to distributors: nothing is booked and
            # nothing waits. A busy account is simply tried again at the next hourly run.
            return None
        except SlotFull as exc:
            refusal = exc
            continue
        except (SoldOut, QuotaExceeded, CreditLimitExceeded) as exc:
            # Over the credit limit: it waits, and each run serves the waitlist first, so
            # it is booked once a payment brings the balance down.
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


def standing_overview(
    session: Session, distributor_id: int
) -> tuple[list[PriceListEntry], list[StandingOrder]]:
    """The standing-orders page: the products one can order and the active orders."""
    return (
        price_list(session, distributor_id, bookable_only=True),
        list_standing_orders(session, distributor_id),
    )
