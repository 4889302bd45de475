"""The order calendar: per product and day, open, sold out, closed or past its cut-off."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.atp import available_to_promise
from inventory.models import Item, Supply
from inventory.rules import local_day
from inventory.settings import Settings
from scheduling.planning import calendar as production_calendar
from shop.orders.rules import (
    CALENDAR_DAYS,
    DayState,
    day_states,
)


def closed_days_by_sku(
    session: Session, skus: Sequence[str], start: date, end: date
) -> dict[str, set[date]]:
    """Days closed to orders per product: its supply row is closed, or the production
    calendar says the plant does not bake that day."""
    out: dict[str, set[date]] = {sku: set() for sku in skus}
    if not skus:
        return out
    rows = session.execute(
        select(Item.sku, Supply.production_day)
        .join(Item, Item.id == Supply.item_id)
        .where(
            Item.sku.in_(list(skus)),
            Supply.closed.is_(True),
            Supply.production_day >= start,
            Supply.production_day <= end,
        )
    ).all()
    for sku, day in rows:
        out[sku].add(day)
    # Days the plant does not bake (official holidays not marked as working, manager-closed
    # days): the morning batch is what customers collect, so nothing can be ordered for them.
    no_production = production_calendar.closed_days(session, start, end)
    for days in out.values():
        days |= no_production
    return out


def closed_days(session: Session, skus: Sequence[str], start: date, end: date) -> set[date]:
    """Days closed to orders for every one of these products."""
    by_sku = closed_days_by_sku(session, skus, start, end)
    sets = list(by_sku.values())
    return set.intersection(*sets) if sets else set()


def calendars(
    session: Session,
    skus: Sequence[str],
    *,
    settings: Settings,
    now: datetime,
    days: int = CALENDAR_DAYS,
    start: date | None = None,
) -> dict[str, list[DayState]]:
    """The order calendar of several products from one availability query, from `start`
    (default: tomorrow) for `days` days."""
    start = start or local_day(now) + timedelta(days=1)
    end = start + timedelta(days=days - 1)
    atp = available_to_promise(session, list(skus), start, end, now=now) if skus else {}
    shut = closed_days_by_sku(session, skus, start, end)
    span = [start + timedelta(days=i) for i in range(days)]
    return {
        sku: day_states(span, atp.get(sku, {}), shut[sku], now, settings.order_cutoff)
        for sku in skus
    }


def calendar(
    session: Session,
    sku: str,
    *,
    settings: Settings,
    now: datetime,
    days: int = CALENDAR_DAYS,
    start: date | None = None,
) -> list[DayState]:
    return calendars(session, [sku], settings=settings, now=now, days=days, start=start)[sku]
