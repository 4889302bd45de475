"""The scheduling package's tables (capacity, calendar, plans, job runs)."""

from __future__ import annotations

# The season planner's tables live in their own module; importing it here puts them on
# Base.metadata for create_all and Alembic.
from scheduling import planning_models as planning_models
from scheduling import production_models as _production_models  # noqa: F401

# Area modules keep their own tables; importing them here puts them on Base.metadata.
from scheduling import scheduler_models as _scheduler_models  # noqa: F401
from scheduling import slot_models  # noqa: F401  (pickup_slots on Base.metadata)
