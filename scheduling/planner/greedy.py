"""The simple day-by-day plan a manager might make by hand, as a baseline for the optimiser.

Each production day makes, in tier order and then by product, whole trays for that day's
demand not yet covered by fresh leftovers, as far as mills, cabinets, staff (extra shift
included) and rice and sugar allow. It never builds ahead for a later, busier day: that is
exactly what the optimiser adds.
"""

from __future__ import annotations

import math
from collections import defaultdict
from datetime import date, timedelta

from scheduling.planner.allocate import allocate
from scheduling.planner.model import TIERS, DayCapacity, PlanInput, PlanResult, staff_capacity

EPS = 1e-9


def min_overtime(data: PlanInput, cap: DayCapacity, trays: dict[str, int]) -> float:
    """Fewest extra-shift hours that make a day's production fit (inf if nothing fits)."""
    products = {p.sku: p for p in data.products}
    need = 0.0

    def hours(used: float, regular: float, rate: float) -> float:
        if used <= regular + 1e-7:
            return 0.0
        return (used - regular) / rate if rate > 0 else math.inf

    made = {s: n * products[s].units_per_tray for s, n in trays.items()}
    mill = sum(products[s].rice_g * q for s, q in made.items()) / 1000.0
    need = max(need, hours(mill, cap.mill_kg, cap.mill_kg_per_extra_hour))
    need = max(need, hours(float(sum(trays.values())), cap.trays, cap.trays_per_extra_hour))
    for subset in data.step_subsets():
        work = sum(
            products[s].labour_minutes.get(step, 0.0) * q
            for s, q in made.items()
            for step in subset
        )
        regular = staff_capacity(cap, subset, 0.0)
        rate = staff_capacity(cap, subset, 1.0) - regular
        need = max(need, hours(work, regular, rate))
    return need


def result_for(data: PlanInput, trays: dict[tuple[str, date], int], *, status: str) -> PlanResult:
    """Everything a plan reports, from its trays alone."""
    products = {p.sku: p for p in data.products}
    made = {k: n * products[k[0]].units_per_tray for k, n in trays.items() if n > 0}
    sales, served = allocate(data, made)
    unmet = {k: q - served.get(k, 0) for k, q in data.demand.items()}
    sold_from: dict[tuple[str, date], int] = defaultdict(int)
    for (sku, made_day, _t), q in sales.items():
        sold_from[sku, made_day] += q
    waste = {k: q - sold_from.get(k, 0) for k, q in made.items()}
    # Grouped by day once (in the order of `trays`), not filtered out of all trays per day.
    trays_on: dict[date, dict[str, int]] = defaultdict(dict)
    for (sku, day), n in trays.items():
        if n > 0:
            trays_on[day][sku] = n
    overtime = {}
    for cap in data.days:
        day_trays = trays_on.get(cap.day)
        ot = min_overtime(data, cap, day_trays) if day_trays else 0.0
        overtime[cap.day] = round(ot, 6)
    return PlanResult(
        trays={k: n for k, n in trays.items() if n > 0},
        made=made,
        sales=sales,
        served=served,
        unmet=unmet,
        waste=waste,
        overtime_hours=overtime,
        status=status,
    )


def greedy_plan(data: PlanInput) -> PlanResult:
    products = {p.sku: p for p in data.products}
    order = sorted(products)
    subsets = data.step_subsets()
    trays: dict[tuple[str, date], int] = {}
    made: dict[tuple[str, date], int] = {}
    # Demand still open, and pieces not yet sold (by product and making day).
    open_demand: dict[tuple[str, date, int], int] = {k: q for k, q in data.demand.items() if q > 0}
    left: dict[tuple[str, date], int] = defaultdict(int)
    rice_left = (
        dict(data.materials.rice_by_crop_year)
        if data.materials.rice_by_crop_year is not None
        else None
    )
    sugar_left = data.materials.sugar_g

    def serve_from_leftovers(day: date) -> None:
        for tier in range(len(TIERS)):
            for sku in order:
                need = open_demand.get((sku, day, tier), 0)
                window = products[sku].freshness_days
                for back in range(window - 1, -1, -1):
                    if need == 0:
                        break
                    key = (sku, day - timedelta(days=back))
                    take = min(need, left.get(key, 0))
                    left[key] -= take
                    need -= take
                open_demand[sku, day, tier] = need

    for cap in data.days:
        day = cap.day
        serve_from_leftovers(day)
        if cap.production:
            mill = cap.mill_kg + cap.mill_kg_per_extra_hour * cap.extra_hours
            cab = cap.trays + cap.trays_per_extra_hour * cap.extra_hours
            staff = {s: staff_capacity(cap, s, cap.extra_hours) for s in subsets}
            for tier in range(len(TIERS)):
                for sku in order:
                    need = open_demand.get((sku, day, tier), 0)
                    if need <= 0:
                        continue
                    p = products[sku]
                    per_tray = p.units_per_tray
                    limits = [math.ceil(need / per_tray), math.floor(cab + EPS)]
                    if p.rice_g > 0:
                        limits.append(math.floor(mill * 1000.0 / (p.rice_g * per_tray) + EPS))
                        if rice_left is not None:
                            limits.append(
                                math.floor(
                                    rice_left.get(cap.crop_year, 0.0) / (p.rice_g * per_tray) + EPS
                                )
                            )
                    if p.sugar_g > 0 and sugar_left is not None:
                        limits.append(math.floor(sugar_left / (p.sugar_g * per_tray) + EPS))
                    for subset in subsets:
                        per = sum(p.labour_minutes.get(s, 0.0) for s in subset) * per_tray
                        if per > 0:
                            limits.append(math.floor(staff[subset] / per + EPS))
                    n = max(0, min(limits))
                    if n == 0:
                        continue
                    trays[sku, day] = trays.get((sku, day), 0) + n
                    made[sku, day] = made.get((sku, day), 0) + n * per_tray
                    left[sku, day] += n * per_tray
                    mill -= p.rice_g * per_tray * n / 1000.0
                    cab -= n
                    if rice_left is not None:
                        rice_left[cap.crop_year] = (
                            rice_left.get(cap.crop_year, 0.0) - p.rice_g * per_tray * n
                        )
                    if sugar_left is not None:
                        sugar_left -= p.sugar_g * per_tray * n
                    for subset in subsets:
                        staff[subset] -= (
                            sum(p.labour_minutes.get(s, 0.0) for s in subset) * per_tray * n
                        )
            serve_from_leftovers(day)
    return result_for(data, trays, status="greedy")
