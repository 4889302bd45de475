"""Which made piece serves which demand, once production is fixed.

Per product, the demand units that can all be served form a transversal matroid (pieces are
matched to demand days within the freshness window), so adding demand greedily in tier order
gives the best served vector tier by tier, and a basis is a maximum: the most that can be sold,
so also the least waste. Feasibility of a demand vector is checked by serving each day from the
oldest still-fresh pieces first (earliest expiry first), which is exact because every piece of
one product has the same window length.
"""

from __future__ import annotations

from datetime import date, timedelta

from scheduling.planner.model import PlanInput


def _serve(
    supply: dict[date, int], demand: dict[date, int], window: int
) -> list[tuple[date, date, int]] | None:
    """Sales (made_day, sold_day, q) covering every demand, or None if impossible."""
    left = dict(supply)
    sales: list[tuple[date, date, int]] = []
    for day in sorted(demand):
        need = demand[day]
        for back in range(window - 1, -1, -1):  # oldest fresh piece first
            if need == 0:
                break
            made_day = day - timedelta(days=back)
            have = left.get(made_day, 0)
            if have <= 0:
                continue
            take = min(have, need)
            left[made_day] = have - take
            need -= take
            sales.append((made_day, day, take))
        if need:
            return None
    return sales


def allocate(
    data: PlanInput, made: dict[tuple[str, date], int]
) -> tuple[dict[tuple[str, date, date], int], dict[tuple[str, date, int], int]]:
    """Sales and served quantities for fixed production, best tier by tier."""
    sales: dict[tuple[str, date, date], int] = {}
    served: dict[tuple[str, date, int], int] = {}
    by_product: dict[str, list[tuple[int, date, int]]] = {}
    for (sku, day, tier), q in data.demand.items():
        served[sku, day, tier] = 0
        if q > 0:
            by_product.setdefault(sku, []).append((tier, day, q))
    for product in data.products:
        sku = product.sku
        window = product.freshness_days
        supply = {d: q for (s, d), q in made.items() if s == sku and q > 0}
        accepted: dict[date, int] = {}
        if not supply:
            continue
        for tier, day, q in sorted(by_product.get(sku, [])):
            trial = dict(accepted)
            trial[day] = trial.get(day, 0) + q
            if _serve(supply, trial, window) is not None:
                accepted, low = trial, q
            else:
                low, high = 0, q - 1
                while low < high:  # the most of this demand that still fits
                    mid = (low + high + 1) // 2
                    trial[day] = accepted.get(day, 0) + mid
                    if _serve(supply, trial, window) is None:
                        high = mid - 1
                    else:
                        low = mid
                if low:
                    accepted[day] = accepted.get(day, 0) + low
            served[sku, day, tier] = low
        for made_day, sold_day, q in _serve(supply, accepted, window) or []:
            key = (sku, made_day, sold_day)
            sales[key] = sales.get(key, 0) + q
    return sales, served
