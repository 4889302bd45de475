"""The distributor area asks the editable production calendar which days have no production."""

from __future__ import annotations

from datetime import date, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from scheduling.pickup.models import PickupSlot
from scheduling.pickup.slots import SlotRules
from scheduling.planning.calendar import set_calendar_entry
from shop.distributors import common, standing
from shop.distributors.models import Booking
from tests.support.distributors import CLASSIC, make_distributor, setup_products

RULES = SlotRules()
WEEK = [date(2027, 9, 27) + timedelta(days=i) for i in range(7)]  # Mon 27 Sep .. Sun 3 Oct
REPAIRS = date(2027, 9, 28)  # an ordinary Tuesday the manager closes
NATIONAL_DAY = date(2027, 10, 1)  # an official holiday the manager decides to work through


def test_a_manager_closed_day_gets_no_booking_or_slots_and_a_holiday_worked_through_does(
    db: sessionmaker[Session],
) -> None:
    setup_products(db, WEEK, cases_per_day=20)
    distributor = make_distributor(db, "TJ01")
    with transaction(db) as s:
        set_calendar_entry(s, REPAIRS, production=False, note="蒸柜检修")
        set_calendar_entry(s, NATIONAL_DAY, production=True, note="国庆照常生产")
        standing.save_standing_order(
            s,
            distributor_id=distributor,
            slot_time=time(6, 15),
            weekday_lines={wd: {CLASSIC: 3} for wd in range(5)},
            starts_on=WEEK[0],
        )
    with transaction(db) as s:
        refs = standing.generate_standing_bookings(s, WEEK[0] - timedelta(days=1), 7, rules=RULES)
    with transaction(db) as s:
        booked_days = [b.day for b in s.scalars(select(Booking).order_by(Booking.day))]
        assert len(refs) == 4
        assert booked_days == [WEEK[0], WEEK[2], WEEK[3], NATIONAL_DAY]
        assert common.day_slots(s, REPAIRS, RULES) == []
        assert not common.is_open_day(s, REPAIRS)
        assert common.is_open_day(s, NATIONAL_DAY)
        assert len(common.day_slots(s, NATIONAL_DAY, RULES)) > 0
        assert s.scalars(select(PickupSlot).where(PickupSlot.day == REPAIRS)).all() == []


def test_reopening_a_closed_day_lets_the_next_generation_book_it(
    db: sessionmaker[Session],
) -> None:
    setup_products(db, WEEK, cases_per_day=20)
    distributor = make_distributor(db, "TJ02")
    with transaction(db) as s:
        set_calendar_entry(s, REPAIRS, production=False)
        standing.save_standing_order(
            s,
            distributor_id=distributor,
            slot_time=time(6, 15),
            weekday_lines={1: {CLASSIC: 2}},  # Tuesdays only
            starts_on=WEEK[0],
        )
    with transaction(db) as s:
        assert standing.generate_standing_bookings(s, WEEK[0], 6, rules=RULES) == []
    with transaction(db) as s:
        set_calendar_entry(s, REPAIRS, production=None)  # back to the library default: open
    with transaction(db) as s:
        refs = standing.generate_standing_bookings(s, WEEK[0], 6, rules=RULES)
    assert len(refs) == 1
    with db() as s:
        assert [b.day for b in s.scalars(select(Booking))] == [REPAIRS]
