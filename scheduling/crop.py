"""The new-harvest rule for planning.

`inventory.materials.current_crop_year` is the shared rule (built on the inventory branch);
this module uses it when it is there and otherwise the same rule inline, so the planner never
counts last year's rice. The lead can drop the fallback once both branches are merged."""

from __future__ import annotations

from datetime import date


def current_crop_year(day: date, harvest_month: int = 10) -> int:
    try:
        from inventory.materials import current_crop_year as shared
    except ImportError:
        # Rice harvested from `harvest_month` of year Y on is crop year Y.
        return day.year if day.month >= harvest_month else day.year - 1
    return int(shared(day, harvest_month))
