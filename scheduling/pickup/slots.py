"""Pickup slots: the 06:00 morning window cut into slots with a seat per loading bay.

Rules (plain functions over plain values, tested without a database) decide which slots a
production day has and when a booking for a day can no longer change; the service functions
keep the `pickup_slots` rows and take or give back a seat with one guarded UPDATE, so two
distributors booking the last seat at once never both get it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from inventory.errors import DomainError
from inventory.rules import LOCAL_ZONE, local_moment
from inventory.settings import Settings
from scheduling.errors import SlotFull, SlotUnavailable
from scheduling.pickup.models import PickupSlot


@dataclass(frozen=True)
class SlotRules:
    window_start: time = time(6, 0)
    window_end: time = time(9, 0)
    slot_minutes: int = 15
    capacity: int = 4
    # The earliest moment goods are out of the steamers: no slot starts before it.
    ready_at: time = time(6, 0)
    cutoff: time = time(20, 0)
    grace_minutes: int = 30

    @classmethod
    def from_settings(cls, settings: Settings) -> SlotRules:
        return cls(
            window_start=settings.pickup_window_start,
            window_end=settings.pickup_window_end,
            slot_minutes=settings.pickup_slot_minutes,
            capacity=settings.pickup_slot_capacity,
            ready_at=settings.first_wave_ready,
            cutoff=settings.booking_cutoff,
            grace_minutes=settings.no_show_grace_minutes,
        )


def slot_times(day: date, rules: SlotRules) -> list[tuple[datetime, datetime]]:
    """(start, end) of every slot of a production day, in UTC.

    A slot lies wholly inside the window and never starts before the first batch wave is ready:
    a distributor who arrives before the goods exist would only wait at the gate.
    """
    if rules.slot_minutes <= 0:
        raise DomainError(
            "slot length must be positive", key="msg.slots.length", slot_minutes=rules.slot_minutes
        )
    if rules.capacity < 0:
        raise DomainError(
            "slot capacity cannot be negative",
            key="msg.slots.capacity_negative",
            capacity=rules.capacity,
        )
    step = timedelta(minutes=rules.slot_minutes)
    start = local_moment(day, rules.window_start)
    window_end = local_moment(day, rules.window_end)
    ready = local_moment(day, rules.ready_at)
    slots: list[tuple[datetime, datetime]] = []
    while start + step <= window_end:
        if start >= ready:
            slots.append((start, start + step))
        start += step
    return slots


def no_show_deadline(slot_end: datetime, grace_minutes: int) -> datetime:
    return slot_end + timedelta(minutes=grace_minutes)


def local_slot_label(start: datetime, end: datetime) -> str:
    return f"{start.astimezone(LOCAL_ZONE):%H:%M}-{end.astimezone(LOCAL_ZONE):%H:%M}"


# --- service functions (take a Session, never commit) ---------------------------------------


def ensure_slots(
    session: Session, day: date, rules: SlotRules, *, open_day: bool
) -> list[PickupSlot]:
    """The slots of `day`, created from the rules on first use; none on a closed day.

    Idempotent: existing rows are kept (with their bookings and any capacity the manager
    changed), only missing slots are added.
    """
    if not open_day:
        return []
    existing = {s.starts_at for s in slots_for_day(session, day, include_closed=True)}
    missing = [
        {
            "day": day,
            "starts_at": start,
            "ends_at": end,
            "capacity": rules.capacity,
            "booked": 0,
            "closed": False,
        }
        for start, end in slot_times(day, rules)
        if start not in existing
    ]
    if missing:
        # Two first visitors of a day may both find it empty: the second insert is a no-op
        # instead of a unique-constraint error.
        dialect = session.get_bind().dialect.name
        insert_fn = postgresql.insert if dialect == "postgresql" else sqlite.insert
        session.execute(
            insert_fn(PickupSlot)
            .values(missing)
            .on_conflict_do_nothing(index_elements=["day", "starts_at"])
        )
    return slots_for_day(session, day)


def slots_for_day(session: Session, day: date, *, include_closed: bool = False) -> list[PickupSlot]:
    stmt = select(PickupSlot).where(PickupSlot.day == day).order_by(PickupSlot.starts_at)
    if not include_closed:
        stmt = stmt.where(PickupSlot.closed.is_(False))
    return list(session.scalars(stmt))


def slot_at(session: Session, day: date, local_start: time) -> PickupSlot | None:
    return session.scalar(
        select(PickupSlot).where(
            PickupSlot.day == day, PickupSlot.starts_at == local_moment(day, local_start)
        )
    )


def get_slot(session: Session, slot_id: int, day: date) -> PickupSlot:
    slot = session.get(PickupSlot, slot_id)
    if slot is None or slot.day != day or slot.closed:
        raise SlotUnavailable(
            "this pickup slot is not offered on that day",
            key="msg.slots.not_offered",
            slot_id=slot_id,
            day=day.isoformat(),
        )
    return slot


def take_seat(session: Session, slot_id: int) -> None:
    """Take one loading bay of the slot or raise SlotFull; one guarded UPDATE, so concurrent
    bookings queue on the row and the loser sees the winner's count."""
    taken = session.execute(
        update(PickupSlot)
        .where(
            PickupSlot.id == slot_id,
            PickupSlot.booked < PickupSlot.capacity,
            PickupSlot.closed.is_(False),
        )
        .values(booked=PickupSlot.booked + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        raise SlotFull(
            "slot full: every loading bay of this pickup slot is booked",
            key="msg.slots.full",
            slot_id=slot_id,
        )
    _refresh(session, slot_id)


def release_seat(session: Session, slot_id: int) -> None:
    session.execute(
        update(PickupSlot)
        .where(PickupSlot.id == slot_id, PickupSlot.booked > 0)
        .values(booked=PickupSlot.booked - 1)
        .execution_options(synchronize_session=False)
    )
    _refresh(session, slot_id)


def move_seat(session: Session, from_slot_id: int, to_slot_id: int) -> None:
    """Give back one seat and take another in the caller's transaction, touching the two rows
    in id order so that two distributors swapping slots cannot deadlock."""
    if from_slot_id == to_slot_id:
        return
    if to_slot_id < from_slot_id:
        take_seat(session, to_slot_id)
        release_seat(session, from_slot_id)
    else:
        release_seat(session, from_slot_id)
        take_seat(session, to_slot_id)


def set_capacity(session: Session, slot_id: int, capacity: int) -> PickupSlot:
    """Change a slot's seats (a loading bay out of use); never below the seats already booked."""
    slot = session.get(PickupSlot, slot_id)
    if slot is None:
        raise SlotUnavailable("no such pickup slot", key="msg.slots.no_such", slot_id=slot_id)
    changed = session.execute(
        update(PickupSlot)
        .where(PickupSlot.id == slot_id, PickupSlot.booked <= capacity)
        .values(capacity=capacity)
        .execution_options(synchronize_session=False)
    )
    if capacity < 0 or changed.rowcount != 1:  # type: ignore[attr-defined]
        raise DomainError(
            "capacity cannot be lower than the seats already booked",
            key="msg.slots.capacity_below_booked",
            slot_id=slot_id,
            booked=slot.booked,
        )
    _refresh(session, slot_id)
    return slot


def _refresh(session: Session, slot_id: int) -> None:
    slot = session.get(PickupSlot, slot_id)
    if slot is not None:
        session.refresh(slot)


def slot_ids(slots: Sequence[PickupSlot]) -> list[int]:
    return [s.id for s in slots]
