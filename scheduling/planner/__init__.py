"""The batch planner: plain dataclasses in, plain results out (no database).

`solve` is the optimiser (HiGHS MIP), `greedy_plan` the day-by-day baseline, `lp_bound` the LP
relaxation bound, `violations` an independent check of any plan."""

from scheduling.planner.budget import SolveOptions
from scheduling.planner.check import violations
from scheduling.planner.greedy import greedy_plan
from scheduling.planner.milp import Bound, lp_bound, solve
from scheduling.planner.model import (
    BOOKED,
    CONFIRMED,
    FORECAST,
    TIERS,
    DayCapacity,
    Materials,
    PlanInput,
    PlanResult,
    ProductSpec,
    StaffGroup,
)

__all__ = [
    "BOOKED",
    "CONFIRMED",
    "FORECAST",
    "TIERS",
    "Bound",
    "DayCapacity",
    "Materials",
    "PlanInput",
    "PlanResult",
    "ProductSpec",
    "SolveOptions",
    "StaffGroup",
    "greedy_plan",
    "lp_bound",
    "solve",
    "violations",
]
