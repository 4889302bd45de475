"""The new-harvest rule as the planner applies it: one rule, owned by inventory."""

from __future__ import annotations

from inventory.materials import current_crop_year

__all__ = ["current_crop_year"]
