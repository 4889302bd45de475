"""Demand for the planner: what is already promised, and a forecast for the rest.

Promised demand is read from inventory claims (never from the shop's tables): allocations of
paid orders (`order:*`) are *confirmed*; allocations of distributor bookings and standing
orders and live checkout holds are *booked*. The forecast aligns past seasons by days relative
to their Spring Festival (the eve moves by weeks between years, so calendar dates do not
compare), averages them, scales by the manager's growth factor, and leaves as *forecast* only
what exceeds what is already promised.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime, timedelta

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from inventory.db import utcnow
from inventory.models import Claim, ClaimKind, ClaimStatus, Item, Reservation
from scheduling.planner.model import BOOKED, CONFIRMED, FORECAST
from scheduling.planning.calendar import days_from_festival, festival_year_for, spring_festival
from scheduling.planning.models import SalesHistory

CONFIRMED_PREFIXES = ("order:",)
# Distributors collect at 06:00 still steaming: what they booked must be made that morning,
# whatever the product's shelf window. Such demand is planned as a same-day variant.
HOT_PREFIXES = ("booking:", "standing:")
HOT_SUFFIX = "@hot"


def base_sku(sku: str) -> str:
    return sku.removesuffix(HOT_SUFFIX)


def promised_demand(
    session: Session,
    start: date,
    end: date,
    *,
    now: datetime | None = None,
    split_hot: bool = False,
) -> dict[tuple[str, date, int], int]:
    """Promised pieces by (sku, day, tier); with `split_hot`, distributor pickups are keyed
    `sku + HOT_SUFFIX` because they must be made on their pickup day."""
    now = now or utcnow()
    rows = session.execute(
        select(Item.sku, Claim.demand_day, Claim.kind, Reservation.ref, Claim.quantity)
        .join(Item, Item.id == Claim.item_id)
        .join(Reservation, Reservation.id == Claim.reservation_id)
        .where(
            Claim.demand_day >= start,
            Claim.demand_day <= end,
            Claim.status == ClaimStatus.ACTIVE,
            or_(
                Claim.kind == ClaimKind.ALLOCATION,
                and_(Claim.kind == ClaimKind.HOLD, Claim.expires_at > now),
            ),
        )
    )
    out: dict[tuple[str, date, int], int] = defaultdict(int)
    for sku, day, kind, ref, quantity in rows:
        confirmed = kind is ClaimKind.ALLOCATION and str(ref).startswith(CONFIRMED_PREFIXES)
        hot = split_hot and str(ref).startswith(HOT_PREFIXES)
        out[sku + HOT_SUFFIX if hot else sku, day, CONFIRMED if confirmed else BOOKED] += int(
            quantity
        )
    return dict(out)


def seasonal_profile(session: Session, skus: Sequence[str]) -> dict[str, dict[int, float]]:
    """Average daily sales per product by offset from 春节, over the past seasons on record."""
    rows = session.execute(
        select(Item.sku, SalesHistory.day, SalesHistory.quantity)
        .join(Item, Item.id == SalesHistory.item_id)
        .where(Item.sku.in_(list(skus)))
    )
    sums: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    seasons: dict[str, set[int]] = defaultdict(set)
    for sku, day, quantity in rows:
        sums[sku][days_from_festival(day)] += quantity
        seasons[sku].add(festival_year_for(day))
    return {
        sku: {offset: total / len(seasons[sku]) for offset, total in by_offset.items()}
        for sku, by_offset in sums.items()
    }


def forecast(
    session: Session, skus: Sequence[str], start: date, end: date, *, growth_pct: int = 100
) -> dict[tuple[str, date], int]:
    """Expected total sales per product and day (all channels), from aligned history."""
    profile = seasonal_profile(session, skus)
    out: dict[tuple[str, date], int] = {}
    day = start
    while day <= end:
        offset = (day - spring_festival(festival_year_for(day))).days
        for sku in skus:
            mean = profile.get(sku, {}).get(offset)
            if mean:
                out[sku, day] = round(mean * growth_pct / 100.0)
        day += timedelta(days=1)
    return out


def season_demand(
    session: Session,
    skus: Sequence[str],
    start: date,
    end: date,
    *,
    growth_pct: int = 100,
    now: datetime | None = None,
    split_hot: bool = False,
) -> dict[tuple[str, date, int], int]:
    promised = promised_demand(session, start, end, now=now, split_hot=split_hot)
    demand = {k: q for k, q in promised.items() if base_sku(k[0]) in skus and q > 0}
    for (sku, day), expected in forecast(session, skus, start, end, growth_pct=growth_pct).items():
        already = sum(
            promised.get((variant, day, tier), 0)
            for variant in (sku, sku + HOT_SUFFIX)
            for tier in (CONFIRMED, BOOKED)
        )
        rest = expected - already
        if rest > 0:
            demand[sku, day, FORECAST] = rest
    return demand
