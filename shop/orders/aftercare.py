"""After the sale: re-steaming and storage advice keyed to days since steaming.

From the maker (DOMAIN.md): gaogan is best 1-2 days after making, once the moisture has
settled; dried-out gaogan is re-steamed for one minute; shelf life is short (the product's
best-before days). The advice is a plain function of the days since steaming and the
best-before; the status page and the "ready" message show it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.models import Item
from inventory.rules import local_day
from inventory.settings import Settings
from shop.orders.models import Order, OrderStatus

# Orders whose gaogan exists (made or being made): advice makes sense from the day on.
ADVISED = frozenset(
    {
        OrderStatus.PAID,
        OrderStatus.CONFIRMED,
        OrderStatus.READY,
        OrderStatus.COLLECTED,
        OrderStatus.DELIVERED,
    }
)


@dataclass(frozen=True)
class Advice:
    key: str  # "fresh", "best", "resteam", "past"
    days: int  # days since steaming


def advice_for(days_since_steaming: int, best_before_days: int) -> Advice:
    """Day 0: let it cool and keep it sealed; days 1-2: at its best; later: re-steam one
    minute; from the best-before on: no longer to be eaten."""
    days = max(0, days_since_steaming)
    if days >= best_before_days:
        return Advice("past", days)
    if days == 0:
        return Advice("fresh", days)
    if days <= 2:
        return Advice("best", days)
    return Advice("resteam", days)


def best_before(session: Session, order: Order, settings: Settings) -> int:
    """The shortest best-before of the order's products (the first to dry out decides)."""
    values = session.scalars(
        select(Item.best_before_days).where(Item.sku.in_([ln.sku for ln in order.lines]))
    ).all()
    known = [v for v in values if v]
    return min(known) if known else settings.default_best_before_days


def order_advice(
    session: Session, order: Order, settings: Settings, now: datetime
) -> Advice | None:
    """The advice for an order today; None before its day or when nothing was made for it.
    The order's day is its steaming day: the 04:00 batch of that morning makes it."""
    today: date = local_day(now)
    if order.status not in ADVISED or today < order.day:
        return None
    return advice_for((today - order.day).days, best_before(session, order, settings))
