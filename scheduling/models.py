"""The scheduling package's tables (capacity, calendar, plans, job runs)."""

from __future__ import annotations

from scheduling import slot_models  # noqa: F401  (pickup_slots on Base.metadata)
