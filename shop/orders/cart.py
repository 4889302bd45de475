"""The storefront's session cart: lines for one or several pickup days.

Kept in the signed session cookie as `{"days": {"2027-01-15": {"GG-GIFT": 2}, ...}}`. The
shape before multi-day checkouts, `{"day": ..., "lines": {...}}`, is still read (a cookie set
before the upgrade, or a reorder). Plain functions over plain values: no database, no Flask.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from inventory.errors import DomainError
from shop.orders.purchases import MAX_DAYS
from shop.orders.rules import LineRequest, check_lines

Days = dict[str, dict[str, int]]  # iso day -> sku -> quantity


def _day_ok(raw: object) -> bool:
    try:
        date.fromisoformat(str(raw))
    except ValueError:
        return False
    return True


def _lines_of(raw: object) -> dict[str, int]:
    if not isinstance(raw, Mapping):
        return {}
    out: dict[str, int] = {}
    for sku, quantity in raw.items():
        if isinstance(sku, str) and isinstance(quantity, int) and quantity > 0:
            out[sku] = quantity
    return out


def days_of(raw: Any) -> Days:
    """The cart's days (sorted) from what the session holds, whatever its age or state."""
    if not isinstance(raw, Mapping):
        return {}
    found: Days = {}
    if "days" in raw and isinstance(raw["days"], Mapping):
        for day, lines in raw["days"].items():
            if _day_ok(day) and (kept := _lines_of(lines)):
                found[str(day)] = kept
    elif raw.get("day") and _day_ok(raw["day"]) and (kept := _lines_of(raw.get("lines"))):
        found[str(raw["day"])] = kept
    return dict(sorted(found.items()))


def stored(days: Days) -> dict[str, Any]:
    return {"days": {day: dict(lines) for day, lines in sorted(days.items()) if lines}}


def add(days: Days, day: date, sku: str, quantity: int) -> Days:
    """The cart with `quantity` more of `sku` for `day`; refused past MAX_DAYS days or the
    per-order line limits (each day is one order)."""
    key = day.isoformat()
    if key not in days and len(days) >= MAX_DAYS:
        raise DomainError(
            f"one checkout holds at most {MAX_DAYS} days",
            key="msg.purchase.too_many_days",
            max=MAX_DAYS,
        )
    lines = dict(days.get(key, {}))
    lines[sku] = lines.get(sku, 0) + quantity
    check_lines([LineRequest(s, q) for s, q in lines.items()])
    return {**days, key: lines}


def with_quantities(days: Days, wanted: Mapping[tuple[str, str], int]) -> Days:
    """The cart after the cart page's update: (day, sku) -> new quantity; 0 removes."""
    out: Days = {}
    for day, lines in days.items():
        kept = {}
        for sku, quantity in lines.items():
            new = wanted.get((day, sku), quantity)
            if new > 0:
                kept[sku] = new
        if kept:
            check_lines([LineRequest(s, q) for s, q in kept.items()])
            out[day] = kept
    return out


def line_requests(lines: Mapping[str, int]) -> list[LineRequest]:
    return [LineRequest(sku, int(q)) for sku, q in lines.items()]
