"""Sales history use cases: preview and import a CSV of past seasons, and say which
history the forecast stands on."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.events import publish
from inventory.models import Item, ItemKind
from scheduling.planning import sales_feed
from shop.history.rules import Parsed, parse
from shop.refusals import Refused


@dataclass(frozen=True)
class Preview:
    parsed: Parsed
    by_channel: dict[str, int]
    first_day: date | None
    last_day: date | None


def _skus(session: Session) -> set[str]:
    return set(session.scalars(select(Item.sku).where(Item.kind == ItemKind.PRODUCT)))


def preview(session: Session, text: str, *, today: date) -> Preview:
    parsed = parse(text, known_skus=_skus(session), today=today)
    totals: dict[str, int] = defaultdict(int)
    for sale in parsed.sales:
        totals[sale.channel] += sale.quantity
    days = [s.day for s in parsed.sales]
    return Preview(parsed, dict(totals), min(days, default=None), max(days, default=None))


def import_csv(session: Session, text: str, *, today: date, user_id: int) -> int:
    """All or nothing: a file with any bad row imports nothing (Refused names the rows)."""
    parsed = parse(text, known_skus=_skus(session), today=today)
    if not parsed.ok:
        rows = ", ".join(str(e.row) for e in parsed.errors[:20])
        raise Refused("hist.err.refused", code="bad_rows", rows=rows)
    touched = sales_feed.record(session, parsed.sales, source="import", replace=True)
    publish(
        session,
        "history.imported",
        {"rows": len(parsed.sales), "days_touched": touched, "by": user_id},
        key="history",
    )
    return len(parsed.sales)


def summary(session: Session) -> list[sales_feed.HistorySummary]:
    return sales_feed.summary(session)
