"""The pure rules of the inventory: plain functions over plain values, no database.

Services gather rows, hand plain values to these functions, and write back what they decide,
so every rule here is unit-tested without a database.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from inventory.errors import InvalidQuantity, OutsideFreshnessWindow
from inventory.settings import TIMEZONE

# Beyond this a quantity is a typing slip (an extra zero or three), not an order or a batch.
MAX_QUANTITY = 1_000_000
# Raw materials are weighed in grams: a 10 t rice delivery is 10_000_000 g.
MAX_MATERIAL_QUANTITY = 100_000_000
# How far ahead anyone may reserve or ask for availability.
MAX_HORIZON_DAYS = 366
# No product keeps longer than this; bounds the supply rows one demand day can draw on.
MAX_WINDOW_DAYS = 60

LOCAL_ZONE = ZoneInfo(TIMEZONE)


def local_day(now: datetime) -> date:
    """The business day (Asia/Shanghai) at the aware instant `now`."""
    if now.tzinfo is None:
        raise ValueError("naive datetime; pass an aware datetime")
    return now.astimezone(LOCAL_ZONE).date()


def local_moment(day: date, at: time) -> datetime:
    """A local wall-clock time on a business day, as an aware UTC datetime."""
    return datetime.combine(day, at, tzinfo=LOCAL_ZONE).astimezone(UTC)


def check_quantity(
    value: object, *, what: str = "quantity", allow_zero: bool = False, maximum: int = MAX_QUANTITY
) -> int:
    """A whole, positive (or zero when allowed), not absurd number, or InvalidQuantity."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidQuantity(f"{what} must be a whole number, got {value!r}", value=repr(value))
    if value < 0 or (value == 0 and not allow_zero):
        smallest = "zero or more" if allow_zero else "at least 1"
        raise InvalidQuantity(f"{what} must be {smallest}, got {value}", value=value)
    if value > maximum:
        raise InvalidQuantity(
            f"{what} {value} is more than the largest allowed ({maximum})", value=value
        )
    return value


def window_for(freshness_days: int, window_days: int | None) -> int:
    """The freshness window L in days: a channel's own, else the product's."""
    if window_days is None:
        return freshness_days
    if isinstance(window_days, bool) or not isinstance(window_days, int):
        raise OutsideFreshnessWindow(f"window_days must be a whole number, got {window_days!r}")
    if not 1 <= window_days <= MAX_WINDOW_DAYS:
        raise OutsideFreshnessWindow(
            f"window_days must be between 1 and {MAX_WINDOW_DAYS}, got {window_days}",
            window_days=window_days,
        )
    return window_days


def check_demand_day(day: date, today: date) -> None:
    """A demand day must be today or later and within the booking horizon."""
    if not isinstance(day, date) or isinstance(day, datetime):
        raise OutsideFreshnessWindow(f"day must be a date, got {day!r}")
    if day < today:
        raise OutsideFreshnessWindow(
            f"{day.isoformat()} is in the past (today is {today.isoformat()})",
            day=day.isoformat(),
            today=today.isoformat(),
        )
    if day > today + timedelta(days=MAX_HORIZON_DAYS):
        raise OutsideFreshnessWindow(
            f"{day.isoformat()} is more than {MAX_HORIZON_DAYS} days ahead",
            day=day.isoformat(),
            today=today.isoformat(),
        )


def production_days_for(demand_day: date, window: int) -> tuple[date, date]:
    """Production days whose output is still fresh on `demand_day`: t-L+1 .. t."""
    return demand_day - timedelta(days=window - 1), demand_day


@dataclass(frozen=True)
class Candidate:
    """One supply row a demand line may draw on, with what it still has free."""

    supply_id: int
    production_day: date
    free: int


def take_freshest_first(quantity: int, candidates: Iterable[Candidate]) -> list[tuple[int, int]]:
    """Split `quantity` over candidates, the most recent production day first.

    Returns (supply_id, quantity) pairs summing to `quantity`, or [] when the candidates do not
    have enough between them (all or nothing). The freshest first because the buyer eats it:
    older stock is left for demand days nearer its end of window, which only it can serve.
    """
    ordered = sorted(candidates, key=lambda c: (c.production_day, c.supply_id), reverse=True)
    takes: list[tuple[int, int]] = []
    left = quantity
    for cand in ordered:
        if left == 0:
            break
        portion = min(left, max(0, cand.free))
        if portion:
            takes.append((cand.supply_id, portion))
            left -= portion
    return takes if left == 0 else []


@dataclass(frozen=True)
class LotStock:
    """A lot as FEFO sees it: what may still be taken from it and when it goes off."""

    lot_id: int
    best_before: date | None
    received_at: datetime
    available: int


def pick_fefo(quantity: int, lots: Sequence[LotStock]) -> list[tuple[int, int]]:
    """First expired, first out: (lot_id, quantity) pairs covering as much as the lots allow.

    Lots without a best-before date (packaging) go last; ties by arrival, then id. The caller
    compares the total with what it asked for (production reports the rest as a shortfall,
    consumption refuses it).
    """
    ordered = sorted(
        lots,
        key=lambda lot: (
            lot.best_before is None,
            lot.best_before or date.max,
            lot.received_at,
            lot.lot_id,
        ),
    )
    picks: list[tuple[int, int]] = []
    left = quantity
    for lot in ordered:
        if left == 0:
            break
        portion = min(left, max(0, lot.available))
        if portion:
            picks.append((lot.lot_id, portion))
            left -= portion
    return picks


def current_crop_year(day: date, harvest_month: int = 10) -> int:
    """The crop year of new rice on `day`: the harvest from `harvest_month` on is the new crop."""
    if not 1 <= harvest_month <= 12:
        raise ValueError(f"harvest_month must be 1-12, got {harvest_month}")
    return day.year if day.month >= harvest_month else day.year - 1


def is_current_crop(crop_year: int | None, day: date, harvest_month: int = 10) -> bool:
    return crop_year is not None and crop_year == current_crop_year(day, harvest_month)


def windowed_atp(
    free_by_day: Mapping[date, int], start: date, end: date, window: int, today: date
) -> dict[date, int]:
    """Available to promise per demand day: free output of production days t-L+1 .. t.

    `free_by_day` holds each open production day's free quantity (closed days are left out).
    A negative free (production fell short of promises) counts as nothing, never as debt
    against another day. Past demand days get 0: nothing can be promised for yesterday.
    """
    result: dict[date, int] = {}
    day = start
    while day <= end:
        if day < today:
            result[day] = 0
        else:
            total = 0
            for offset in range(window):
                total += max(0, free_by_day.get(day - timedelta(days=offset), 0))
            result[day] = total
        day += timedelta(days=1)
    return result
