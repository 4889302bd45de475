"""After the sale: re-steaming and storage advice keyed to days since steaming.

From the maker (DOMAIN.md): gaogan is best 1-2 days after making, once the moisture has
settled; dried-out gaogan is re-steamed for one minute; shelf life is short (the product's
best-before days). The advice is a plain function of the days since steaming and the
best-before; the status page and the "ready" message show it for today, and the printed
pickup ticket (the label that goes with the gaogan) shows it as dates, from the same rule,
keyed to the steaming day, so a label printed the evening before still says the right days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.models import Item
from inventory.rules import local_day
from inventory.settings import Settings
from shop.i18n import translate
from shop.orders.models import Order, OrderStatus

# Orders whose gaogan is not going to be made: no label advice.
NOT_MADE = frozenset({OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REFUNDED})

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


@dataclass(frozen=True)
class Stage:
    """A run of days with the same advice: `first`..`last` (None: from `first` on)."""

    key: str
    first: date
    last: date | None


def advice_schedule(steamed: date, best_before_days: int) -> list[Stage]:
    """`advice_for` day by day from the steaming day to the best-before, as date ranges: what
    a label says, so it needs no rule of its own."""
    stages: list[Stage] = []
    for n in range(max(1, best_before_days) + 1):
        key = advice_for(n, best_before_days).key
        day = steamed + timedelta(days=n)
        if stages and stages[-1].key == key:
            stages[-1] = Stage(key, stages[-1].first, day)
        else:
            stages.append(Stage(key, day, day))
    if stages and stages[-1].key == "past":
        stages[-1] = Stage("past", stages[-1].first, None)  # and every day after
    return stages


def order_label(
    session: Session, public_id: str, settings: Settings
) -> tuple[date, list[Stage]] | None:
    """The steaming day and the advice schedule for an order's label; None for an order that
    will not be made. The order's day is its steaming day (its morning's batch makes it)."""
    order = session.scalar(select(Order).where(Order.public_id == public_id))
    if order is None or order.status in NOT_MADE:
        return None
    return order.day, advice_schedule(order.day, best_before(session, order, settings))


def label_day(day: date, lang: str) -> str:
    """A date as a label prints it: short, no year (a label lives a week)."""
    return f"{day.month}月{day.day}日" if lang == "zh" else day.strftime("%b %d").replace(" 0", " ")


def label_lines(stages: list[Stage], lang: str) -> list[tuple[str, str]]:
    """(advice key, text) per stage, in the label's language."""
    out = []
    for stage in stages:
        first = label_day(stage.first, lang)
        if stage.last is None:
            days = translate("aftercare.label.from", lang, day=first)
        elif stage.last == stage.first:
            days = first
        else:
            days = f"{first}–{label_day(stage.last, lang)}"
        out.append((stage.key, translate(f"aftercare.label.{stage.key}", lang, days=days)))
    return out
