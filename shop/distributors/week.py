"""The distributor's week in the portal: bookings by day, the slots still bookable, and the
standing-order days not (yet) turned into a booking, read in one transaction.

A use case rather than a plain read: the slots of a coming day are made on first use.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from scheduling.pickup.models import PickupSlot
from scheduling.pickup.slots import SlotRules
from scheduling.planning import calendar
from shop.distributors.accounts import get_distributor
from shop.distributors.bookings import list_bookings
from shop.distributors.common import closed_days, day_slots
from shop.distributors.models import Booking, Distributor, StandingOrder
from shop.distributors.prices import PriceListEntry, price_list
from shop.distributors.standing import list_standing_orders, pattern_of, skipped_days


@dataclass(frozen=True)
class WeekView:
    distributor: Distributor
    prices: list[PriceListEntry]
    by_day: dict[date, list[Booking]]
    slot_rows: dict[date, list[PickupSlot]]  # bookable slots; none for a past day
    all_slots: dict[int, PickupSlot]  # every slot a shown booking sits in, by id
    closed: set[date]
    standing: list[StandingOrder]
    upcoming: dict[date, list[tuple[StandingOrder, dict[str, int]]]]
    skipped: set[tuple[int, date]]
    # Days the factory itself closed, with the manager's reason: not a holiday (issue 10).
    closed_by_factory: dict[date, str]


def week_view(
    session: Session, distributor_id: int, days: list[date], rules: SlotRules, *, today: date
) -> WeekView:
    first, last = days[0], days[-1]
    distributor = get_distributor(session, distributor_id)
    prices = price_list(session, distributor_id, bookable_only=True)
    bookings = list_bookings(session, distributor_id, first, last)
    closed = closed_days(session, first, last)
    slot_rows = {day: day_slots(session, day, rules) if day >= today else [] for day in days}
    all_slots = {s.id: s for slots in slot_rows.values() for s in slots}
    for b in bookings:
        if b.slot_id not in all_slots:
            slot = session.get(PickupSlot, b.slot_id)
            if slot is not None:
                all_slots[slot.id] = slot
    standing = list_standing_orders(session, distributor_id)
    by_day = {day: [b for b in bookings if b.day == day] for day in days}
    # Standing-order days not (yet) turned into a booking: shown so they can be skipped.
    made = {(b.standing_order_id, b.day) for b in bookings if b.standing_order_id}
    skipped = skipped_days(session, [o.id for o in standing], first, last)
    upcoming = {
        day: [
            (order, lines)
            for order in standing
            if (lines := pattern_of(order).lines_on(day))
            and (order.id, day) not in made
            and day not in closed
        ]
        for day in days
    }
    closed_by_factory = {
        d.day: d.name
        for d in calendar.calendar_days(session, first, last)
        if not d.production and d.source == "manager"
    }
    return WeekView(
        distributor,
        prices,
        by_day,
        slot_rows,
        all_slots,
        closed,
        standing,
        upcoming,
        skipped,
        closed_by_factory,
    )
