"""The scheduling package's tables (capacity, calendar, plans, job runs)."""

from __future__ import annotations

# The season planner's tables live in their own module; importing it here puts them on
# Base.metadata for create_all and Alembic.
from scheduling import planning_models as planning_models
