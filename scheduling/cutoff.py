"""The cut-off: one rule for the storefront and the distributor portal.

Orders and bookings for production day D close at the cut-off time (Asia/Shanghai) on the
evening of D-1, when the rice for D goes into the soak: after that the morning's flour is set.
The time itself is a setting (`GAOGAN_ORDER_CUTOFF` for the shop, `GAOGAN_BOOKING_CUTOFF` for
distributors); the rule is the same.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from inventory.rules import LOCAL_ZONE
from scheduling.errors import CutoffPassed

__all__ = ["CutoffPassed", "cutoff_for", "is_past_cutoff"]


def cutoff_for(day: date, cutoff: time) -> datetime:
    """The last moment orders for `day` may be placed, changed or cancelled (aware, local)."""
    return datetime.combine(day - timedelta(days=1), cutoff, tzinfo=LOCAL_ZONE)


def is_past_cutoff(day: date, now: datetime, cutoff: time) -> bool:
    return now >= cutoff_for(day, cutoff)
