"""Synthetic seasons for tests and the benchmark: a plant and a demand curve that rises from
腊八 to the eve, deterministic for a given seed."""

from __future__ import annotations

import random
from datetime import date, timedelta

from scheduling.planner.model import (
    BOOKED,
    CONFIRMED,
    FORECAST,
    DayCapacity,
    Materials,
    PlanInput,
    ProductSpec,
    StaffGroup,
)


def synthetic_season(
    *, days: int = 60, products: int = 12, seed: int = 1, eve_offset: int = 10, load: float = 1.3
) -> PlanInput:
    """`days` days ending `eve_offset` days after the eve; demand peaks at `load` times what
    the plant makes in a regular day."""
    rng = random.Random(seed)
    start = date(2027, 2, 5) - timedelta(days=days - eve_offset)
    specs = []
    for i in range(products):
        specs.append(
            ProductSpec(
                sku=f"GG-{i + 1:02d}",
                freshness_days=rng.choice([1, 2, 2, 3]),
                units_per_tray=rng.choice([20, 24, 30, 40]),
                rice_g=rng.choice([120.0, 150.0, 200.0, 250.0]),
                sugar_g=rng.choice([30.0, 40.0, 60.0]),
                labour_minutes={
                    "mould": rng.choice([0.3, 0.4, 0.5]),
                    "stack": rng.choice([0.1, 0.15, 0.2]),
                },
            )
        )
    caps = []
    for k in range(days):
        day = start + timedelta(days=k)
        closed = day in (date(2027, 2, 6), date(2027, 2, 7))
        late = date(2027, 1, 31) <= day <= date(2027, 2, 5)
        caps.append(
            DayCapacity(
                day=day,
                production=not closed,
                mill_kg=4 * 18 * 10.0,
                mill_kg_per_extra_hour=4 * 18.0,
                trays=3 * 12 * 15.0,
                trays_per_extra_hour=3 * 12 * 1.5,
                staff=(
                    StaffGroup(frozenset({"mould", "stack"}), 5 * 600.0, 5 * 60.0),
                    StaffGroup(frozenset({"stack"}), 2 * 600.0 * 0.6, 2 * 60.0 * 0.6),
                ),
                extra_hours=4.0 if late else 0.0,
                headcount=7,
                crop_year=2026,
            )
        )
    # A regular day makes roughly this many pieces over all products.
    regular_pieces = 4 * 18 * 10.0 * 1000 / 180.0
    demand: dict[tuple[str, date, int], int] = {}
    eve = date(2027, 2, 5)
    for cap in caps:
        offset = (cap.day - eve).days
        if offset <= 0:
            shape = 0.25 + 0.75 * max(0.0, 1 + offset / 28.0) ** 2
        else:
            shape = 0.4 * max(0.1, 1 - offset / 10.0)
        total = regular_pieces * load * shape
        for spec in specs:
            share = total / products * rng.uniform(0.6, 1.4)
            for tier, part in ((CONFIRMED, 0.15), (BOOKED, 0.25), (FORECAST, 0.6)):
                q = int(share * part)
                if q > 0:
                    demand[spec.sku, cap.day, tier] = q
    return PlanInput(
        products=tuple(specs),
        days=tuple(caps),
        demand=demand,
        materials=Materials(
            rice_by_crop_year={2026: 60_000_000.0, 2025: 10_000_000.0}, sugar_g=None
        ),
    )
