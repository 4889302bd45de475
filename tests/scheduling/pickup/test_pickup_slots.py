"""Pickup slot rows: made once per day, seats taken by one guarded UPDATE."""

from __future__ import annotations

from datetime import date, time

import pytest
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from inventory.errors import DomainError
from scheduling.errors import SlotFull
from scheduling.pickup import slots
from scheduling.pickup.slots import SlotRules

DAY = date(2027, 1, 20)


def test_a_day_s_slots_are_made_once_and_a_closed_day_has_none(db: sessionmaker[Session]) -> None:
    with transaction(db) as s:
        made = slots.ensure_slots(s, DAY, SlotRules(), open_day=True)
        again = slots.ensure_slots(s, DAY, SlotRules(), open_day=True)
        assert len(made) == 12 and [x.id for x in again] == [x.id for x in made]
        assert all(x.capacity == 4 and x.booked == 0 for x in made)
        assert slots.ensure_slots(s, date(2027, 10, 1), SlotRules(), open_day=False) == []
        assert slots.slots_for_day(s, date(2027, 10, 1)) == []


def test_a_later_first_wave_makes_no_earlier_slots(db: sessionmaker[Session]) -> None:
    with transaction(db) as s:
        made = slots.ensure_slots(s, DAY, SlotRules(ready_at=time(7, 0)), open_day=True)
        assert slots.local_slot_label(made[0].starts_at, made[0].ends_at) == "07:00-07:15"
        assert slots.slot_at(s, DAY, time(6, 0)) is None


def test_seats_run_out_at_the_capacity_and_a_released_seat_can_be_taken_again(
    db: sessionmaker[Session],
) -> None:
    with transaction(db) as s:
        slot_id = slots.ensure_slots(s, DAY, SlotRules(capacity=2), open_day=True)[0].id
    for _ in range(2):
        with transaction(db) as s:
            slots.take_seat(s, slot_id)
    with transaction(db) as s, pytest.raises(SlotFull, match="slot full"):
        slots.take_seat(s, slot_id)
    with transaction(db) as s:
        slots.release_seat(s, slot_id)
        slots.take_seat(s, slot_id)
        assert slots.get_slot(s, slot_id, DAY).booked == 2


def test_moving_a_seat_frees_the_old_slot_and_fills_the_new_one(db: sessionmaker[Session]) -> None:
    with transaction(db) as s:
        first, second = slots.ensure_slots(s, DAY, SlotRules(capacity=1), open_day=True)[:2]
        slots.take_seat(s, first.id)
        slots.move_seat(s, first.id, second.id)
        assert (first.booked, second.booked) == (0, 1)
    with transaction(db) as s, pytest.raises(SlotFull):
        slots.take_seat(s, second.id)


def test_capacity_cannot_drop_below_the_seats_already_booked(db: sessionmaker[Session]) -> None:
    with transaction(db) as s:
        slot = slots.ensure_slots(s, DAY, SlotRules(capacity=3), open_day=True)[0]
        slots.take_seat(s, slot.id)
        slots.take_seat(s, slot.id)
        with pytest.raises(DomainError, match="lower than the seats"):
            slots.set_capacity(s, slot.id, 1)
        assert slots.set_capacity(s, slot.id, 2).capacity == 2
