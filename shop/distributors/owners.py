"""Who a "booking:<id>" reservation belongs to, for the trace and the shortfall priority."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduling.pickup.models import PickupSlot
from scheduling.refs import RefInfo, register_ref_provider
from shop.distributors.models import Booking, Distributor

PREFIX = "booking"


def booking_ref_infos(session: Session, refs: Sequence[str]) -> dict[str, RefInfo]:
    """The distributor company and pickup slot start of each booking ref that exists."""
    ids: dict[int, str] = {}
    for ref in refs:
        prefix, _, number = ref.partition(":")
        if prefix == PREFIX and number.isdigit():
            ids[int(number)] = ref
    if not ids:
        return {}
    rows = session.execute(
        select(Booking.id, Distributor.id, Distributor.company, PickupSlot.starts_at)
        .join(Distributor, Distributor.id == Booking.distributor_id)
        .join(PickupSlot, PickupSlot.id == Booking.slot_id)
        .where(Booking.id.in_(sorted(ids)))
    ).all()
    return {
        ids[booking_id]: RefInfo("distributor", distributor_id, company, starts_at)
        for booking_id, distributor_id, company, starts_at in rows
    }


def register_booking_owners() -> None:
    register_ref_provider(PREFIX, booking_ref_infos)
