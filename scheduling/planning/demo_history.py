"""Demo data for the planner: three past seasons of daily sales and a recipe per product.

The shape follows the domain: gift buying opens at 腊八, rises from 小年, peaks in the last days
before 除夕, falls to almost nothing on the first days of the new year, and recovers a little
with visits until 元宵. Deterministic for a given seed, so demos and tests agree.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from datetime import date, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from inventory.models import Item, ItemKind
from scheduling.planning.calendar import lunar_markers, spring_festival
from scheduling.planning.models import Recipe as RecipeRow
from scheduling.planning.models import SalesHistory
from scheduling.planning.recipes import set_recipe


def season_shape(day: date, markers: dict[str, date]) -> float:
    """Relative demand on `day` (1.0 = the eve's peak)."""
    eve = markers["chuxi"]
    if day < markers["laba"] - timedelta(days=14) or day > markers["yuanxiao"] + timedelta(days=3):
        return 0.0
    if day < markers["laba"]:
        return 0.12
    if day < markers["xiaonian"]:
        span = (markers["xiaonian"] - markers["laba"]).days
        return 0.15 + 0.25 * (day - markers["laba"]).days / span
    if day <= eve:
        span = max(1, (eve - markers["xiaonian"]).days)
        return 0.4 + 0.6 * math.pow((day - markers["xiaonian"]).days / span, 1.5)
    if day <= markers["chunjie"] + timedelta(days=2):
        return 0.05
    return 0.25 * (1 - (day - markers["chunjie"]).days / 20)


def seed_sales_history(
    session: Session,
    *,
    latest_festival_year: int,
    seasons: int = 3,
    skus: Sequence[str] | None = None,
    peak_per_product: int = 2500,
    everyday_per_product: int = 0,
    seed: int = 7,
) -> int:
    """Write daily sales of `seasons` past seasons ending with the one whose 春节 falls in
    `latest_festival_year`; replaces history already there for those days. Returns rows.

    With `everyday_per_product` the ordinary days between seasons get sales too (about that
    many pieces a day for the best seller, more at weekends): a shop's real history covers the
    whole year, and without it the forecast, and so a re-plan, would make nothing outside the
    festival season."""
    rng = random.Random(seed)
    query = select(Item).where(Item.kind == ItemKind.PRODUCT).order_by(Item.sku)
    items = [i for i in session.scalars(query) if skus is None or i.sku in skus]
    rows = 0
    for year in range(latest_festival_year - seasons + 1, latest_festival_year + 1):
        markers = lunar_markers(year)
        start = markers["laba"] - timedelta(days=14)
        end = markers["yuanxiao"] + timedelta(days=3)
        session.execute(
            delete(SalesHistory).where(SalesHistory.day >= start, SalesHistory.day <= end)
        )
        growth = 1.0 + 0.08 * (year - latest_festival_year)  # each season ~8 % above the last
        if everyday_per_product:
            rows += _seed_ordinary_days(
                session, items, year, start - timedelta(days=1), everyday_per_product * growth, rng
            )
        for index, item in enumerate(items):
            popularity = 1.0 / (1 + 0.35 * index)
            day = start
            while day <= end:
                level = season_shape(day, markers) * peak_per_product * popularity * growth
                quantity = max(0, round(level * rng.uniform(0.85, 1.15)))
                if quantity:
                    session.add(SalesHistory(item_id=item.id, day=day, quantity=quantity))
                    rows += 1
                day += timedelta(days=1)
    session.flush()
    return rows


def _seed_ordinary_days(
    session: Session,
    items: Sequence[Item],
    year: int,
    end: date,
    level: float,
    rng: random.Random,
) -> int:
    """Everyday sales of festival year `year` before its season: from the day after the
    previous festival's season counts towards this one (see `festival_year_for`) to `end`."""
    start = spring_festival(year - 1) + timedelta(days=46)
    session.execute(delete(SalesHistory).where(SalesHistory.day >= start, SalesHistory.day <= end))
    rows = 0
    for index, item in enumerate(items):
        popularity = 1.0 / (1 + 0.35 * index)
        day = start
        while day <= end:
            weekend = 1.2 if day.weekday() >= 5 else 1.0
            quantity = round(level * popularity * weekend * rng.uniform(0.85, 1.15))
            if quantity:
                session.add(SalesHistory(item_id=item.id, day=day, quantity=quantity))
                rows += 1
            day += timedelta(days=1)
    return rows


def seed_recipes(session: Session) -> int:
    """A plausible recipe for every product that has none (rice and sugar scale with the
    pack size; about 4 % is lost in sieving and steaming)."""
    count = 0
    for item in session.scalars(
        select(Item).where(Item.kind == ItemKind.PRODUCT).order_by(Item.sku)
    ):
        if session.scalar(select(RecipeRow.id).where(RecipeRow.item_id == item.id)):
            continue
        grams = item.pack_size_g or 250
        set_recipe(
            session,
            item.sku,
            rice_g=round(grams * 0.72),
            sugar_g=round(grams * 0.2),
            units_per_tray=max(4, 6000 // grams),
            loss_fraction=0.04,
            labour_minutes={
                "mould": round(0.1 + grams / 1000, 2),
                "stack": round(0.05 + grams / 2500, 2),
            },
        )
        count += 1
    return count
