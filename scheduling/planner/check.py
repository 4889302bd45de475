"""An independent referee for any plan (the optimiser's or the greedy one's): every rule a
plan must keep, checked from the plan's own numbers."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from scheduling.planner.model import PlanInput, PlanResult, day_usage, staff_capacity

EPS = 1e-6


def violations(data: PlanInput, plan: PlanResult) -> list[str]:
    products = {p.sku: p for p in data.products}
    caps = {c.day: c for c in data.days}
    problems: list[str] = []

    for (sku, day), trays in plan.trays.items():
        if trays < 0:
            problems.append(f"{sku} {day}: negative trays")
        if plan.made.get((sku, day), 0) != trays * products[sku].units_per_tray:
            problems.append(f"{sku} {day}: pieces are not whole trays")
        if trays and not caps[day].production:
            problems.append(f"{sku} {day}: production on a closed day")

    sold_from: dict[tuple[str, date], int] = defaultdict(int)
    sold_on: dict[tuple[str, date], int] = defaultdict(int)
    for (sku, made_day, sold_day), q in plan.sales.items():
        if q < 0 or q != int(q):
            problems.append(f"{sku}: sale of {q} is not a whole non-negative number")
        age = (sold_day - made_day).days
        if not 0 <= age <= products[sku].freshness_days - 1:
            problems.append(
                f"{sku}: made {made_day} sold {sold_day}, outside the {products[sku].freshness_days}-day window"
            )
        sold_from[sku, made_day] += q
        sold_on[sku, sold_day] += q
    for key, q in sold_from.items():
        if q > plan.made.get(key, 0):
            problems.append(f"{key}: sold {q} of {plan.made.get(key, 0)} made")
    demand_on: dict[tuple[str, date], int] = defaultdict(int)
    for (sku, day, _tier), q in data.demand.items():
        demand_on[sku, day] += q
    for key, q in sold_on.items():
        if q > demand_on.get(key, 0):
            problems.append(f"{key}: sold {q} beyond demand {demand_on.get(key, 0)}")
    for tier_key, q in data.demand.items():
        if plan.served.get(tier_key, 0) + plan.unmet.get(tier_key, 0) != q:
            problems.append(f"{tier_key}: served + unmet != demand")
    for sku, day in demand_on:
        served = sum(plan.served.get((sku, day, k), 0) for k in range(3))
        if served != sold_on.get((sku, day), 0):
            problems.append(f"{sku} {day}: served {served} but sold {sold_on.get((sku, day), 0)}")

    rice_by_year: dict[int, float] = defaultdict(float)
    sugar = 0.0
    for cap in data.days:
        made_today = {s: plan.made.get((s, cap.day), 0) for s in products}
        trays_today = {s: plan.trays.get((s, cap.day), 0) for s in products}
        use = day_usage(products, made_today, trays_today)
        ot = plan.overtime_hours.get(cap.day, 0.0)
        if ot > cap.extra_hours + EPS:
            problems.append(
                f"{cap.day}: {ot} h overtime beyond the {cap.extra_hours} h extra shift"
            )
        if use.mill_kg > cap.mill_kg + cap.mill_kg_per_extra_hour * ot + 1e-4:
            problems.append(f"{cap.day}: mills over capacity ({use.mill_kg:.1f} kg)")
        if use.trays > cap.trays + cap.trays_per_extra_hour * ot + 1e-4:
            problems.append(f"{cap.day}: cabinets over capacity ({use.trays} trays)")
        for subset in data.step_subsets():
            work = sum(use.staff_minutes.get(s, 0.0) for s in subset)
            if work > staff_capacity(cap, subset, ot) + 1e-4:
                problems.append(f"{cap.day}: staff over capacity for {sorted(subset)}")
        rice_by_year[cap.crop_year] += use.rice_g
        sugar += use.sugar_g
    stock = data.materials.rice_by_crop_year
    if stock is not None:
        for year, used in rice_by_year.items():
            if used > stock.get(year, 0.0) + 1e-3:
                problems.append(
                    f"rice of crop year {year}: {used:.0f} g used, {stock.get(year, 0.0):.0f} g on hand"
                )
    if data.materials.sugar_g is not None and sugar > data.materials.sugar_g + 1e-3:
        problems.append(f"sugar: {sugar:.0f} g used, {data.materials.sugar_g:.0f} g on hand")
    return problems
