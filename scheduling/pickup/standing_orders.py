"""Standing orders: the rules that turn "every weekday the same" into dated occurrences, and
the default peak quota (a day's output shared in proportion to the standing orders).

Plain functions over plain values: the distributor service feeds them rows and the closed
days of the production calendar, and turns the occurrences into bookings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, time, timedelta


@dataclass(frozen=True)
class StandingPattern:
    """One distributor's standing order: per weekday (0 = Monday) the cases per product."""

    order_id: int
    distributor_id: int
    slot_time: time
    weekday_lines: Mapping[int, Mapping[str, int]]
    starts_on: date
    ends_on: date | None = None

    def lines_on(self, day: date) -> dict[str, int]:
        if day < self.starts_on or (self.ends_on is not None and day > self.ends_on):
            return {}
        return {sku: n for sku, n in self.weekday_lines.get(day.weekday(), {}).items() if n > 0}


@dataclass(frozen=True)
class Occurrence:
    order_id: int
    distributor_id: int
    day: date
    slot_time: time
    lines: dict[str, int] = field(default_factory=dict)


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def occurrences(
    patterns: Iterable[StandingPattern],
    start: date,
    end: date,
    *,
    closed_days: set[date],
    skipped: set[tuple[int, date]],
    existing: set[tuple[int, date]],
) -> list[Occurrence]:
    """The bookings standing orders still owe for days start..end (inclusive).

    No occurrence on a closed day (holiday, no production), on a day the distributor skipped,
    or where one was already made (so the job can run every hour and never book twice).
    Ordered by day, then by order id: the oldest standing order is served first when stock
    runs short.
    """
    result: list[Occurrence] = []
    ordered = sorted(patterns, key=lambda p: p.order_id)
    for day in days_between(start, end):
        if day in closed_days:
            continue
        for pattern in ordered:
            key = (pattern.order_id, day)
            if key in skipped or key in existing:
                continue
            lines = pattern.lines_on(day)
            if lines:
                result.append(
                    Occurrence(
                        pattern.order_id, pattern.distributor_id, day, pattern.slot_time, lines
                    )
                )
    return result


def proportional_quotas(available: int, weights: Mapping[int, int]) -> dict[int, int]:
    """Share `available` cases among distributors in proportion to `weights` (their standing
    orders), largest remainder first, never more than a distributor's own weight.

    The quotas sum to min(available, sum of weights); ties in the remainder go to the lower id
    so the result does not depend on dict order.
    """
    if available < 0:
        raise ValueError("available cannot be negative")
    positive = {k: w for k, w in weights.items() if w > 0}
    total = sum(positive.values())
    if total == 0:
        return {k: 0 for k in weights}
    if available >= total:
        return {k: max(0, w) for k, w in weights.items()}
    quotas = {k: available * w // total for k, w in positive.items()}
    left = available - sum(quotas.values())
    by_remainder = sorted(positive, key=lambda k: (-(available * positive[k] % total), k))
    for k in by_remainder[:left]:
        quotas[k] += 1
    return {k: quotas.get(k, 0) for k in weights}
