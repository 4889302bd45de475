"""The forecast learns from real sales: every served order and booking adds its pieces to
the sales history by production day, product and channel, through an outbox consumer; and
past seasons come in from CSV.

A consumer here reacts to the shop's events by type name (`order.collected`,
`order.delivered`, `booking.collected`) without importing the shop. The relay delivers at
least once and records (consumer, event) in the same transaction as the effect, so a
redelivered event never counts twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inventory.events import Event, Registry, registry
from inventory.models import Item, ItemKind
from scheduling.planning.history_models import SalesByChannel
from scheduling.planning.models import SalesHistory

# Consumer names are inbox keys: never rename.
ORDER_CONSUMER = "planning.sales-history.orders"
BOOKING_CONSUMER = "planning.sales-history.bookings"
CHANNELS = ("pickup", "delivery", "distributor")


@dataclass(frozen=True)
class Sale:
    day: date
    sku: str
    channel: str
    quantity: int


def _add(session: Session, item_id: int, sale: Sale, source: str, *, replace: bool) -> None:
    row = session.scalar(
        select(SalesByChannel)
        .where(
            SalesByChannel.item_id == item_id,
            SalesByChannel.day == sale.day,
            SalesByChannel.channel == sale.channel,
            SalesByChannel.source == source,
        )
        .with_for_update()
    )
    if row is None:
        session.add(
            SalesByChannel(
                item_id=item_id,
                day=sale.day,
                channel=sale.channel,
                source=source,
                quantity=sale.quantity,
            )
        )
    else:
        row.quantity = sale.quantity if replace else row.quantity + sale.quantity
    session.flush()


def _retotal(session: Session, item_id: int, day: date) -> None:
    """The forecast's row for (product, day) is the sum over channels and sources."""
    total = session.scalar(
        select(func.coalesce(func.sum(SalesByChannel.quantity), 0)).where(
            SalesByChannel.item_id == item_id, SalesByChannel.day == day
        )
    )
    row = session.scalar(
        select(SalesHistory)
        .where(SalesHistory.item_id == item_id, SalesHistory.day == day)
        .with_for_update()
    )
    if row is None:
        session.add(SalesHistory(item_id=item_id, day=day, quantity=int(total or 0)))
    else:
        row.quantity = int(total or 0)
    session.flush()


def record(session: Session, sales: Iterable[Sale], *, source: str, replace: bool) -> int:
    """Add (served sales) or set (an import) pieces per day, product and channel, and
    keep the forecast's per-day total in step. Returns the rows touched."""
    items = {
        i.sku: i.id for i in session.scalars(select(Item).where(Item.kind == ItemKind.PRODUCT))
    }
    touched: set[tuple[int, date]] = set()
    # Rows in a fixed order so two imports or consumers never deadlock.
    for sale in sorted(sales, key=lambda s: (s.sku, s.day, s.channel)):
        item_id = items.get(sale.sku)
        if item_id is None or (sale.quantity <= 0 and not replace):
            continue
        _add(session, item_id, sale, source, replace=replace)
        touched.add((item_id, sale.day))
    for item_id, day in sorted(touched):
        _retotal(session, item_id, day)
    return len(touched)


def _lines(event: Event, key: str) -> list[tuple[str, int]]:
    out = []
    for line in event.payload.get("lines") or []:
        if isinstance(line, dict) and isinstance(line.get("sku"), str):
            quantity = line.get(key)
            if isinstance(quantity, int) and quantity > 0:
                out.append((line["sku"], quantity))
    return out


def on_order_served(session: Session, event: Event) -> None:
    """A customer's order collected or delivered: its pieces are sales of its day."""
    raw_day = event.payload.get("day")
    channel = event.payload.get("fulfilment")
    if not isinstance(raw_day, str) or channel not in ("pickup", "delivery"):
        return
    day = date.fromisoformat(raw_day)
    record(
        session,
        [Sale(day, sku, str(channel), q) for sku, q in _lines(event, "quantity")],
        source="sales",
        replace=False,
    )


def on_booking_collected(session: Session, event: Event) -> None:
    raw_day = event.payload.get("day")
    if not isinstance(raw_day, str):
        return
    day = date.fromisoformat(raw_day)
    record(
        session,
        [Sale(day, sku, "distributor", q) for sku, q in _lines(event, "pieces")],
        source="sales",
        replace=False,
    )


def register_subscribers(target: Registry = registry) -> None:
    target.subscribe("order.collected", ORDER_CONSUMER, on_order_served)
    target.subscribe("order.delivered", ORDER_CONSUMER, on_order_served)
    target.subscribe("booking.collected", BOOKING_CONSUMER, on_booking_collected)


@dataclass(frozen=True)
class HistorySummary:
    source: str
    channel: str
    first_day: date | None
    last_day: date | None
    days: int
    pieces: int


def summary(session: Session) -> list[HistorySummary]:
    """Which history the forecast stands on: per source and channel, the days and pieces."""
    rows = session.execute(
        select(
            SalesByChannel.source,
            SalesByChannel.channel,
            func.min(SalesByChannel.day),
            func.max(SalesByChannel.day),
            func.count(func.distinct(SalesByChannel.day)),
            func.coalesce(func.sum(SalesByChannel.quantity), 0),
        )
        .group_by(SalesByChannel.source, SalesByChannel.channel)
        .order_by(SalesByChannel.source, SalesByChannel.channel)
    ).all()
    out = [HistorySummary(s, c, lo, hi, int(n), int(q)) for s, c, lo, hi, n, q in rows]
    # History written before the split (the demo's seasons) has no channel row.
    rest = session.execute(
        select(
            func.min(SalesHistory.day),
            func.max(SalesHistory.day),
            func.count(func.distinct(SalesHistory.day)),
            func.coalesce(func.sum(SalesHistory.quantity), 0),
        ).where(
            ~select(SalesByChannel.id)
            .where(
                SalesByChannel.item_id == SalesHistory.item_id,
                SalesByChannel.day == SalesHistory.day,
            )
            .exists()
        )
    ).one()
    if rest[2]:
        out.append(HistorySummary("seeded", "all", rest[0], rest[1], int(rest[2]), int(rest[3])))
    return out
