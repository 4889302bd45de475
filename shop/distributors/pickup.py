"""The pickup morning: check-in, hand-out, no-shows, the manager's board, and the
bookings' reactions to the morning batch (ready, unserved, part served).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory import production
from scheduling.early import check_not_before_day
from scheduling.pickup import slots as slot_rules
from scheduling.pickup.models import PickupSlot
from scheduling.pickup.slots import SlotRules
from shop.distributors.accounts import get_distributor
from shop.distributors.bookings import end_booking, get_booking, serve_waitlist, waitlist
from shop.distributors.common import publish_booking
from shop.distributors.errors import BookingStateError
from shop.distributors.models import Booking, BookingStatus, Distributor, WaitlistEntry
from shop.distributors.prices import PriceListEntry, price_list
from shop.distributors.rules import LIVE


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
    publish_booking(session, "booking.checked_in", booking)
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
    production.hand_out(session, booking.ref, reference=booking.ref)
    booking.status = BookingStatus.COLLECTED
    booking.collected_at = now
    booking.version += 1
    override = {"override": {"reason": early, "by": by, "at": now.isoformat()}} if early else {}
    publish_booking(session, "booking.collected", booking, **override)
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
        end_booking(session, booking, BookingStatus.NO_SHOW, now, reason="no_show")
        distributor = get_distributor(session, booking.distributor_id)
        distributor.no_shows += 1
        publish_booking(session, "booking.no_show", booking)
        refs.append(booking.ref)
        days.add(booking.day)
    for day in sorted(days):
        serve_waitlist(session, rules or SlotRules(grace_minutes=grace_minutes), day, now=now)
    return refs


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
    end_booking(session, booking, BookingStatus.CANCELLED, now, reason="production shortfall")
    booking.cancelled_at = now
    publish_booking(
        session,
        "booking.cancelled",
        booking,
        reason="production_shortfall",
        batch_ref=batch_ref,
        short=[dict(item) for item in short],
    )
    return True


def serve_part(
    session: Session,
    booking: Booking,
    *,
    now: datetime,
    batch_ref: str,
    served: Mapping[str, int],
    short: Sequence[Mapping[str, Any]] = (),
) -> bool:
    """The distributor accepts part delivery and the day's last batch made only part of this
    booking (`order.part_served`): each short line keeps the whole cases that were made, i.e.
    `served` pieces (`ordered_cases` keeps what was booked; a line that got nothing stays with
    0 cases), the booking is re-priced by its lines, and `booking.reduced` tells the
    distributor (webhook and mail). The stock was already cut by the batch. Lines are set to
    a number, not cut by a difference, so the event applied twice changes nothing; a booking
    no longer live is left alone."""
    if booking.status not in LIVE:
        return False
    was_total = booking_total_fen(booking)
    changed = False
    for line in booking.lines:
        target = served.get(line.sku)
        if target is None or not 0 <= target < line.pieces or line.cases <= 0:
            continue
        per_case = max(1, line.pieces // line.cases)
        if line.ordered_cases is None:
            line.ordered_cases = line.cases  # the first cut keeps what was booked
        line.cases = target // per_case
        line.pieces = line.cases * per_case
        changed = True
    if not changed:
        return False
    booking.version += 1
    booking.updated_at = now
    publish_booking(
        session,
        "booking.reduced",
        booking,
        reason="production_shortfall",
        batch_ref=batch_ref,
        short=[dict(item) for item in short],
        part=part_lines(booking),
        was_total_fen=was_total,
        total_fen=booking_total_fen(booking),
    )
    return True


def booking_total_fen(booking: Booking) -> int:
    return sum(ln.cases * ln.case_price_fen for ln in booking.lines)


def part_lines(booking: Booking) -> list[dict[str, Any]]:
    """Reduced lines, ordered and served side by side (cases)."""
    return [
        {"sku": ln.sku, "ordered_cases": ln.ordered_cases, "cases": ln.cases, "pieces": ln.pieces}
        for ln in booking.lines
        if ln.ordered_cases is not None
    ]


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


@dataclass(frozen=True)
class BoardView:
    """The manager's board of a day: bookings by slot, counts per status, the waitlist."""

    rows: list[BoardRow]
    counts: dict[str, int]
    waiting: list[WaitlistEntry]
    companies: dict[int, str]


def board_view(session: Session, day: date, *, now: datetime, grace_minutes: int) -> BoardView:
    rows = pickup_board(session, day, now=now, grace_minutes=grace_minutes)
    counts = {s.value: 0 for s in BookingStatus}
    for row in rows:
        counts[row.booking.status.value] += 1
    return BoardView(
        rows,
        counts,
        waitlist(session, day),
        {d.id: d.company for d in session.scalars(select(Distributor))},
    )


@dataclass(frozen=True)
class BookingSheet:
    """The printable pickup sheet of one booking."""

    booking: Booking
    distributor: Distributor
    slot: PickupSlot | None
    names: dict[str, PriceListEntry]

    @property
    def total_fen(self) -> int:
        return booking_total_fen(self.booking)


def booking_sheet(session: Session, distributor_id: int | None, booking_id: int) -> BookingSheet:
    """A booking's sheet; with a distributor id, only that distributor's (others look absent)."""
    booking = get_booking(session, distributor_id, booking_id)
    return BookingSheet(
        booking,
        get_distributor(session, booking.distributor_id),
        session.get(PickupSlot, booking.slot_id),
        {p.sku: p for p in price_list(session, booking.distributor_id)},
    )
