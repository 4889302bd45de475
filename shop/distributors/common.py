"""Helpers every distributor use case shares: the SAVEPOINT decorator, the production
calendar and the day's slots, price-list validation of booked lines, and the booking event.

Plain functions taking a Session; they never commit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.errors import InvalidQuantity
from inventory.events import publish
from inventory.rules import LOCAL_ZONE
from scheduling.pickup import slots as slot_rules
from scheduling.pickup.models import PickupSlot
from scheduling.pickup.slots import SlotRules
from scheduling.planning import calendar
from shop.catalogue.channels import DISTRIBUTOR, check_sold_on
from shop.distributors.errors import NotOnPriceList
from shop.distributors.models import Booking, CasePack, DistributorPrice

P = ParamSpec("P")
R = TypeVar("R")


def atomic(func: Callable[Concatenate[Session, P], R]) -> Callable[Concatenate[Session, P], R]:
    """Run a multi-step change in a SAVEPOINT: a refusal half-way (the new slot is full after
    the old seat was given back) leaves the caller's transaction exactly as it was, even if
    the caller goes on and commits."""

    def wrapped(session: Session, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with session.begin_nested():
            return func(session, *args, **kwargs)

    wrapped.__name__, wrapped.__doc__ = func.__name__, func.__doc__
    return wrapped


# --- calendar and slots ----------------------------------------------------------------------


def closed_days(session: Session, start: date, end: date) -> set[date]:
    """Days without production between start and end (inclusive).

    The one place distributor code asks the production calendar: official holidays closed,
    make-up workdays open, and the manager's own entries (a day closed for repairs, a holiday
    worked through) win over both.
    """
    return calendar.closed_days(session, start, end)


def is_open_day(session: Session, day: date) -> bool:
    return day not in closed_days(session, day, day)


def day_slots(session: Session, day: date, rules: SlotRules) -> list[PickupSlot]:
    """The bookable slots of a day, made on first use; none on a closed day."""
    return slot_rules.ensure_slots(session, day, rules, open_day=is_open_day(session, day))


def open_day_slots(session: Session, day: date, rules: SlotRules) -> tuple[bool, list[PickupSlot]]:
    """Whether the day has production, and its bookable slots (made on first use)."""
    return is_open_day(session, day), day_slots(session, day, rules)


# --- booked lines against the price list ---------------------------------------------------


def priced_lines(
    session: Session, distributor_id: int, day: date, lines: Mapping[str, int]
) -> list[tuple[str, int, int, int]]:
    """(sku, cases, pieces, case price) per line, validated against the price list."""
    cleaned = {sku.strip(): int(cases) for sku, cases in lines.items() if int(cases) != 0}
    if not cleaned:
        raise InvalidQuantity(
            "a booking needs at least one product with a number of cases", key="msg.dist.no_cases"
        )
    # A product the manager does not sell to distributors is refused by name, even if an
    # old price list still has it (catalogue channels).
    check_sold_on(session, DISTRIBUTOR, cleaned)
    result = []
    for sku, cases in sorted(cleaned.items()):
        if cases < 0:
            raise InvalidQuantity(
                "cases cannot be negative",
                key="msg.dist.standing_cases_negative",
                sku=sku,
                cases=cases,
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


# --- the booking event ---------------------------------------------------------------------


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


def publish_booking(session: Session, event_type: str, booking: Booking, **extra: Any) -> None:
    session.flush()
    payload = booking_payload(session, booking)
    payload.update(extra)
    publish(session, event_type, payload, key=booking.ref)


def booking_for_ref(session: Session, ref: str) -> Booking | None:
    """The booking behind a reservation ref ("booking:7"); None for any other ref."""
    prefix, _, raw = ref.partition(":")
    if prefix != "booking" or not raw.isdigit():
        return None
    return session.get(Booking, int(raw))
