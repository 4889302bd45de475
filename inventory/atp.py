"""Available to promise: what can still be sold per product and demand day."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inventory.catalog import get_products
from inventory.db import utcnow
from inventory.errors import InvalidInput
from inventory.models import Claim, ClaimKind, ClaimStatus, Supply
from inventory.rules import (
    MAX_HORIZON_DAYS,
    MAX_WINDOW_DAYS,
    local_day,
    window_for,
    windowed_atp,
)


def available_to_promise(
    session: Session,
    skus: Sequence[str],
    start: date,
    end: date,
    *,
    window_days: int | None = None,
    now: datetime | None = None,
) -> dict[str, dict[date, int]]:
    """ATP per SKU per demand day in [start, end].

    One statement reads the free quantity of every supply row the range can draw on (for all
    SKUs and days at once); the window sums are then plain Python (inventory.rules). A hold
    past its expiry counts as free at once, before any sweep has run. Closed production days
    contribute nothing; past demand days are 0.
    """
    now = utcnow() if now is None else now
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise InvalidInput(f"now must be an aware datetime, got {now!r}")
    for name, value in (("start", start), ("end", end)):
        if not isinstance(value, date) or isinstance(value, datetime):
            raise InvalidInput(f"{name} must be a date, got {value!r}")
    if end < start:
        raise InvalidInput(f"the range ends ({end}) before it starts ({start})")
    if (end - start).days > MAX_HORIZON_DAYS:
        raise InvalidInput(f"ask for at most {MAX_HORIZON_DAYS} days at once")
    if isinstance(skus, str) or not skus:
        raise InvalidInput("name at least one SKU")
    products = get_products(session, skus)
    windows = {
        sku: window_for(item.freshness_days or 1, window_days) for sku, item in products.items()
    }
    widest = min(max(windows.values()), MAX_WINDOW_DAYS)
    first_day = start - timedelta(days=widest - 1)

    dead_holds = (
        select(func.coalesce(func.sum(Claim.quantity), 0))
        .where(
            Claim.supply_id == Supply.id,
            Claim.kind == ClaimKind.HOLD,
            Claim.status == ClaimStatus.ACTIVE,
            Claim.expires_at <= now,
        )
        .correlate(Supply)
        .scalar_subquery()
    )
    capacity = func.coalesce(Supply.actual, Supply.planned)
    rows = session.execute(
        select(
            Supply.item_id, Supply.production_day, capacity - Supply.promised + dead_holds
        ).where(
            Supply.item_id.in_([item.id for item in products.values()]),
            Supply.production_day.between(first_day, end),
            Supply.closed.is_(False),
        )
    ).all()

    free: dict[int, dict[date, int]] = defaultdict(dict)
    for item_id, day, quantity in rows:
        free[item_id][day] = int(quantity)
    today = local_day(now)
    return {
        sku: windowed_atp(free[item.id], start, end, windows[sku], today)
        for sku, item in sorted(products.items())
    }
