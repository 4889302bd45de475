"""Report queries: plain values out, ready for a page, a CSV or a chart."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.models import Item, LedgerEntry, LedgerKind, Lot
from inventory.rules import LOCAL_ZONE
from scheduling.planning.calendar import spring_festival
from scheduling.planning.models import SalesHistory
from shop.distributors import onboarding
from shop.distributors.models import (
    Booking,
    BookingLine,
    BookingStatus,
    Distributor,
)
from shop.orders.models import Order, OrderLine, OrderStatus, PickupPoint
from shop.refusals import Refused
from shop.reports.rules import MAX_RANGE_DAYS, SaleLine

# A sale is what was promised and not taken back: paid, confirmed at the counter, ready,
# handed over. Cancelled, expired and refunded orders are not sales.
SOLD_ORDERS = (
    OrderStatus.PAID,
    OrderStatus.CONFIRMED,
    OrderStatus.READY,
    OrderStatus.COLLECTED,
    OrderStatus.DELIVERED,
)
SOLD_BOOKINGS = (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN, BookingStatus.COLLECTED)


def check_range(start: date, end: date) -> None:
    if end < start or (end - start).days > MAX_RANGE_DAYS:
        raise Refused("rep.err.range", code="bad_range", most=MAX_RANGE_DAYS)


def sale_lines(session: Session, start: date, end: date) -> list[SaleLine]:
    check_range(start, end)
    out: list[SaleLine] = []
    rows = session.execute(
        select(Order.day, Order.fulfilment, PickupPoint.code, OrderLine.sku, OrderLine.quantity)
        .add_columns(OrderLine.line_total_fen)
        .join(OrderLine, OrderLine.order_id == Order.id)
        .outerjoin(PickupPoint, PickupPoint.id == Order.pickup_point_id)
        .where(Order.day >= start, Order.day <= end, Order.status.in_(SOLD_ORDERS))
    )
    for day, fulfilment, point, sku, quantity, total in rows:
        out.append(SaleLine(day.isoformat(), sku, fulfilment.value, point or "", quantity, total))
    for day, sku, cases, pieces, price in session.execute(
        select(Booking.day, BookingLine.sku, BookingLine.cases, BookingLine.pieces)
        .add_columns(BookingLine.case_price_fen)
        .join(BookingLine, BookingLine.booking_id == Booking.id)
        .where(Booking.day >= start, Booking.day <= end, Booking.status.in_(SOLD_BOOKINGS))
    ):
        out.append(SaleLine(day.isoformat(), sku, "distributor", "gate", pieces, cases * price))
    return out


@dataclass(frozen=True)
class WasteRow:
    day: str
    sku: str
    kind: str
    lot: str
    quantity: int  # grams or pieces, as the ledger counts
    unit: str
    reason: str


def waste(session: Session, start: date, end: date) -> list[WasteRow]:
    """Write-offs and expiries from the ledger: product lots and raw materials alike."""
    check_range(start, end)
    rows = session.execute(
        select(LedgerEntry, Lot.code, Item.sku, Item.kind, Item.unit)
        .join(Lot, Lot.id == LedgerEntry.lot_id)
        .join(Item, Item.id == LedgerEntry.item_id)
        .where(LedgerEntry.kind == LedgerKind.WASTE)
        .order_by(LedgerEntry.id)
    )
    out = []
    for entry, code, sku, kind, unit in rows:
        day = entry.occurred_at.astimezone(LOCAL_ZONE).date()
        if start <= day <= end:
            out.append(
                WasteRow(
                    day.isoformat(), sku, kind.value, code, -entry.quantity, unit, entry.reason
                )
            )
    return out


@dataclass(frozen=True)
class DistributorRow:
    code: str
    company: str
    active: bool
    cases: int
    revenue_fen: int
    balance_fen: int


def distributors(session: Session, start: date, end: date) -> list[DistributorRow]:
    """Revenue of collected goods in the range, and what each distributor owes today."""
    check_range(start, end)
    revenue: dict[int, list[int]] = defaultdict(lambda: [0, 0])
    for distributor_id, cases, price in session.execute(
        select(Booking.distributor_id, BookingLine.cases, BookingLine.case_price_fen)
        .join(BookingLine, BookingLine.booking_id == Booking.id)
        .where(Booking.day >= start, Booking.day <= end, Booking.status == BookingStatus.COLLECTED)
    ):
        revenue[distributor_id][0] += cases
        revenue[distributor_id][1] += cases * price
    return [
        DistributorRow(
            d.code,
            d.company,
            d.active,
            revenue[d.id][0],
            revenue[d.id][1],
            onboarding.balance_fen(session, d.id),
        )
        for d in session.scalars(select(Distributor).order_by(Distributor.code))
    ]


@dataclass(frozen=True)
class SeasonRow:
    offset: int  # days from 春节 (negative: before)
    this_day: str
    this_pieces: int
    last_day: str
    last_pieces: int


def season_vs_last(
    session: Session, festival_year: int, before: int = 30, after: int = 15
) -> list[SeasonRow]:
    """Pieces sold per day around 春节 this season against the last, by days from the
    festival: the forecast's history (which real sales feed) plus what is booked and
    ordered for days it does not hold yet."""
    if not 1902 <= festival_year <= 2099 or not (0 <= before <= 60 and 0 <= after <= 60):
        raise Refused("rep.err.season", code="bad_season")
    this_f, last_f = spring_festival(festival_year), spring_festival(festival_year - 1)

    def pieces(festival: date) -> dict[int, int]:
        start, end = festival - timedelta(days=before), festival + timedelta(days=after)
        out: dict[int, int] = defaultdict(int)
        for day, quantity in session.execute(
            select(SalesHistory.day, SalesHistory.quantity).where(
                SalesHistory.day >= start, SalesHistory.day <= end
            )
        ):
            out[(day - festival).days] += quantity
        live: dict[int, int] = defaultdict(int)
        for line in sale_lines(session, start, end):
            live[(date.fromisoformat(line.day) - festival).days] += line.pieces
        for offset, n in live.items():
            out[offset] = max(out[offset], n)  # history already holds served sales
        return out

    now, last = pieces(this_f), pieces(last_f)
    return [
        SeasonRow(
            k,
            (this_f + timedelta(days=k)).isoformat(),
            now.get(k, 0),
            (last_f + timedelta(days=k)).isoformat(),
            last.get(k, 0),
        )
        for k in range(-before, after + 1)
    ]
