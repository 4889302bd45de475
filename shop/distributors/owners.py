"""Who a "booking:<id>" reservation belongs to, for the trace and the shortfall priority, and
whether its distributor takes part of it when the morning falls short (in whole cases)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from scheduling.pickup.models import PickupSlot
from scheduling.refs import PartPolicy, RefInfo, register_part_policy, register_ref_provider
from shop.distributors.models import Booking, BookingLine, Distributor

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


def _booking_ids(refs: Sequence[str]) -> dict[int, str]:
    ids: dict[int, str] = {}
    for ref in refs:
        prefix, _, number = ref.partition(":")
        if prefix == PREFIX and number.isdigit():
            ids[int(number)] = ref
    return ids


def booking_part_policies(session: Session, refs: Sequence[str]) -> dict[str, PartPolicy]:
    """The distributor's setting as it stands when the batch decides (a distributor can
    change it until then, for every live booking at once), and each line's case size in
    pieces as booked, so a part delivery is whole cases."""
    ids = _booking_ids(refs)
    if not ids:
        return {}
    accepts = dict(
        session.execute(
            select(Booking.id, Distributor.accept_part_delivery)
            .join(Distributor, Distributor.id == Booking.distributor_id)
            .where(Booking.id.in_(sorted(ids)))
        ).all()
    )
    steps: dict[int, dict[str, int]] = {}
    for booking_id, sku, cases, pieces in session.execute(
        select(
            BookingLine.booking_id, BookingLine.sku, BookingLine.cases, BookingLine.pieces
        ).where(BookingLine.booking_id.in_(sorted(accepts)), BookingLine.cases > 0)
    ):
        steps.setdefault(booking_id, {})[sku] = max(1, pieces // cases)
    return {
        ids[booking_id]: PartPolicy(bool(accepted), steps.get(booking_id, {}))
        for booking_id, accepted in accepts.items()
    }


def register_booking_owners() -> None:
    register_ref_provider(PREFIX, booking_ref_infos)
    register_part_policy(PREFIX, booking_part_policies)
