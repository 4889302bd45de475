"""Which raw material, if any, held the plan back.

A plan limited by the rice (or sugar) in stock leaves demand unmet while its mills, cabinets
and staff still have room: the page must then say "rice is the bottleneck, buy rice", not
leave the manager to hunt for a full resource that is not there (issue 10).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

# Within this share of the usable stock, the stock is what stopped the plan.
USED_UP = 0.97


def material_bottleneck(
    *,
    unmet: int,
    limit_materials: bool,
    rice_used_g: float,
    rice_stock_g: Mapping[int, float],
    crop_years: Iterable[int],
    sugar_used_g: float,
    sugar_stock_g: float,
    smallest_tray_rice_g: float = 0.0,
    smallest_tray_sugar_g: float = 0.0,
) -> str | None:
    """ "rice", "sugar" or None: the material whose usable stock the plan used up while some
    demand stayed unmet. Only rice of the crop years the plan's days may draw counts. Used up
    means: what is left would not fill even the smallest tray (production is in whole trays),
    or less than 3 % of the stock is left."""
    if not limit_materials or unmet <= 0:
        return None
    usable_rice = sum(max(0.0, rice_stock_g.get(year, 0.0)) for year in set(crop_years))
    if _used_up(rice_used_g, usable_rice, smallest_tray_rice_g):
        return "rice"
    if _used_up(sugar_used_g, max(0.0, sugar_stock_g), smallest_tray_sugar_g):
        return "sugar"
    return None


def _used_up(used: float, stock: float, smallest_tray: float) -> bool:
    left = stock - used
    return left < smallest_tray or used >= stock * USED_UP
