"""Material requirements as plain functions over plain values (no database)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

# A supplier's lead time when the manager has not set one (an assumption, editable per
# material on the requirements page).
DEFAULT_LEAD_DAYS = 3
# One pillow-pack bag per piece made (the pack step of the routing).
BAGS_PER_PIECE = 1
MAX_MOISTURE_TENTHS = 400  # 40 %: wetter than that is not rice but a typo
OLD_CROP_WARNING_DAYS = 14


@dataclass(frozen=True)
class RequirementDay:
    day: date
    need: int
    incoming: int
    balance: int  # after the day's need and what arrives that day
    short: int  # what is missing on this day (0 when covered)


@dataclass(frozen=True)
class Requirement:
    sku: str
    on_hand: int
    need_total: int
    incoming_total: int
    short_total: int
    first_short_day: date | None
    order_by: date | None
    days: list[RequirementDay]


def requirement(
    sku: str,
    need_by_day: Mapping[date, int],
    on_hand: int,
    incoming_by_day: Mapping[date, int],
    lead_days: int,
    today: date,
) -> Requirement:
    """Walk the plan's days: stock plus arrivals against need. The first day that runs short
    must be covered by an order placed `lead_days` before it (never earlier than today: an
    order-by date in the past means order now)."""
    balance = on_hand
    days: list[RequirementDay] = []
    first_short: date | None = None
    short_total = 0
    # Arrivals before the first planned day count from the start.
    horizon = sorted(need_by_day)
    start = horizon[0] if horizon else today
    balance += sum(q for d, q in incoming_by_day.items() if d < start)
    for day in horizon:
        arriving = incoming_by_day.get(day, 0)
        balance += arriving
        need = need_by_day[day]
        short = max(need - balance, 0)
        balance = max(balance - need, 0)
        if short and first_short is None:
            first_short = day
        short_total += short
        days.append(RequirementDay(day, need, arriving, balance, short))
    order_by = None
    if first_short is not None:
        order_by = max(first_short - timedelta(days=lead_days), today)
    return Requirement(
        sku=sku,
        on_hand=on_hand,
        need_total=sum(need_by_day.values()),
        incoming_total=sum(incoming_by_day.values()),
        short_total=short_total,
        first_short_day=first_short,
        order_by=order_by,
        days=days,
    )


def old_crop_from(crop_year: int, harvest_month: int) -> date:
    """The first day a lot of `crop_year` rice is no longer current crop (the next harvest)."""
    return date(crop_year + 1, harvest_month, 1)


def parse_moisture(text: str) -> int | None:
    """'14.2' (%) -> 142 tenths; '' -> None; ValueError for anything else."""
    text = text.strip().rstrip("%").strip()
    if not text:
        return None
    value = round(float(text) * 10)
    if not 0 <= value <= MAX_MOISTURE_TENTHS:
        raise ValueError(text)
    return value
