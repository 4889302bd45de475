"""What the storefront's pages and API read, each in one short session (`shop.runtime.read`).

Every query returns loaded rows or plain values, so a page renders after the session closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from inventory.atp import available_to_promise
from inventory.catalog import get_product
from inventory.models import Item
from inventory.settings import Settings
from shop.orders import services
from shop.orders.rules import DayState


@dataclass(frozen=True)
class ProductDays:
    product: Item
    days: list[DayState]


def catalogue_calendars(
    session: Session, *, settings: Settings, now: datetime, days: int
) -> tuple[list[Item], dict[str, list[DayState]]]:
    """Every active product and its next `days` days of availability."""
    products = services.products_by_sku(session)
    calendars = services.calendars(session, list(products), settings=settings, now=now, days=days)
    return list(products.values()), calendars


def product_days(session: Session, sku: str, *, settings: Settings, now: datetime) -> ProductDays:
    """One product (404 when unknown) and its order calendar."""
    item = get_product(session, sku)
    return ProductDays(item, services.calendar(session, sku, settings=settings, now=now))


@dataclass(frozen=True)
class Availability:
    sku: str
    atp: dict[date, int]
    closed: set[date]


def availability(
    session: Session, product: str, start: date, end: date, now: datetime
) -> Availability:
    """What can still be promised of a product per day, and the days production is closed."""
    sku = get_product(session, product).sku
    atp = available_to_promise(session, [sku], start, end, now=now).get(sku, {})
    return Availability(sku, atp, services.closed_days(session, [sku], start, end))
