"""What the storefront's pages and API read, each in one short session (`shop.runtime.read`).

Every query returns loaded rows or plain values, so a page renders after the session closed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from inventory.atp import available_to_promise
from inventory.db import utcnow
from inventory.models import Item
from inventory.settings import Settings
from shop.orders import order_calendar, services
from shop.orders.availability import AvailabilityCache, Rendered
from shop.orders.rules import CALENDAR_DAYS, DayState, day_states


@dataclass(frozen=True)
class ProductDays:
    product: Item
    days: list[DayState]


def catalogue_calendars(
    session: Session, *, settings: Settings, now: datetime, days: int
) -> tuple[list[Item], dict[str, list[DayState]]]:
    """Every active product of the online shop and its next `days` days of availability."""
    products = services.shop_products(session)
    calendars = order_calendar.calendars(
        session, list(products), settings=settings, now=now, days=days
    )
    return list(products.values()), calendars


def product_days(
    session: Session,
    sku: str,
    *,
    settings: Settings,
    now: datetime,
    start: date | None = None,
    days: int = CALENDAR_DAYS,
) -> ProductDays:
    """One product (404 when unknown or not sold in the online shop) and its order calendar
    from `start` (default tomorrow)."""
    item = services.shop_product(session, sku)
    return ProductDays(
        item,
        order_calendar.calendar(session, sku, settings=settings, now=now, start=start, days=days),
    )


@dataclass(frozen=True)
class Availability:
    sku: str
    atp: dict[date, int]
    closed: set[date]


def availability(
    session: Session, product: str, start: date, end: date, now: datetime
) -> Availability:
    """What can still be promised of a product per day, and the days production is closed."""
    sku = services.shop_product(session, product).sku
    atp = available_to_promise(session, [sku], start, end, now=now).get(sku, {})
    return Availability(sku, atp, order_calendar.closed_days(session, [sku], start, end))


def cached_availability(
    session: Session,
    cache: AvailabilityCache,
    product: str,
    start: date,
    end: date,
    *,
    settings: Settings,
    dump: Callable[[dict[str, object]], object],
) -> Rendered:
    """The availability document of a product over a range, from this worker's cache when the
    product's stock version is unchanged, else rendered anew (and cached)."""

    def render() -> object:
        now = utcnow()
        found = availability(session, product, start, end, now)
        days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
        states = day_states(days, found.atp, found.closed, now, settings.order_cutoff)
        return dump({"product": found.sku, "days": states})

    return cache.get(
        session,
        product,
        start,
        end,
        max_age=settings.availability_cache_seconds,
        render=render,
    )
