"""The scheduling package's tables (capacity, calendar, plans, job runs)."""

from __future__ import annotations

from scheduling.pickup import models as slot_models  # noqa: F401  (pickup_slots on Base.metadata)
from scheduling.planning import history_models as _history_models  # noqa: F401

# The season planner's tables live in their own module; importing it here puts them on
# Base.metadata for create_all and Alembic.
from scheduling.production import models as _production_models  # noqa: F401

# Area modules keep their own tables; importing them here puts them on Base.metadata.
from scheduling.scheduler import models as _scheduler_models  # noqa: F401
