"""Plain values in and out of the planner: no database, no Flask.

Vocabulary: a *production day* d makes `made[p, d]` pieces of product p in whole trays; a piece
made on d may be sold on days d..d+L_p-1 (its freshness window). Demand of product p on day t
comes in priority tiers (confirmed orders, then bookings and standing orders, then forecast).
Capacity per day: flour the stone mills can grind, trays the steam cabinets can take, minutes
the rostered staff can give per step; an optional extra shift adds more of each at an overtime
cost. Rice is counted only from lots of the crop year current on the day it is used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from itertools import combinations, pairwise

TIERS = ("confirmed", "booked", "forecast")
CONFIRMED, BOOKED, FORECAST = 0, 1, 2

Progress = Callable[[str, float], None]


@dataclass(frozen=True)
class SolverSnapshot:
    """What HiGHS knows so far in the running stage, for a progress display.

    `gap` is its relative MIP gap (None until it has both a solution and a bound); `value` is
    the stage's value of the best plan found so far in the stage's own unit (pieces unmet,
    pieces wasted, person-hours of overtime)."""

    stage: str
    gap: float | None
    value: float | None
    seconds: float


Watch = Callable[[SolverSnapshot], None]


@dataclass(frozen=True)
class ProductSpec:
    sku: str
    freshness_days: int
    units_per_tray: int
    rice_g: float  # gross rice (= flour milled) per finished piece, losses included
    sugar_g: float
    labour_minutes: Mapping[str, float] = field(default_factory=dict)  # per piece, per step

    def __post_init__(self) -> None:
        if self.freshness_days < 1 or self.units_per_tray < 1:
            raise ValueError(f"{self.sku}: freshness_days and units_per_tray must be >= 1")


@dataclass(frozen=True)
class StaffGroup:
    """People on duty that day sharing one set of skills (pooled: they are interchangeable).

    `minutes` is what they give in the regular shift, productivity included; `minutes_per_extra_hour`
    what each hour of the extra shift adds."""

    skills: frozenset[str]
    minutes: float
    minutes_per_extra_hour: float = 0.0


@dataclass(frozen=True)
class DayCapacity:
    day: date
    production: bool = True
    mill_kg: float = 0.0
    mill_kg_per_extra_hour: float = 0.0
    trays: float = 0.0
    trays_per_extra_hour: float = 0.0
    staff: tuple[StaffGroup, ...] = ()
    extra_hours: float = 0.0  # 0 = no extra shift possible that day
    headcount: int = 1  # people who stay for the extra shift: the cost of one overtime hour
    crop_year: int = 0  # which rice crop year may be used on this day


@dataclass(frozen=True)
class Materials:
    """Rice on hand by crop year and sugar, in grams. None = not limited."""

    rice_by_crop_year: Mapping[int, float] | None = None
    sugar_g: float | None = None


DemandKey = tuple[str, date, int]  # (sku, day, tier)


@dataclass(frozen=True)
class PlanInput:
    products: tuple[ProductSpec, ...]
    days: tuple[DayCapacity, ...]
    demand: Mapping[DemandKey, int]
    materials: Materials = field(default_factory=Materials)

    def __post_init__(self) -> None:
        days = [d.day for d in self.days]
        if days != sorted(days) or len(set(days)) != len(days):
            raise ValueError("days must be distinct and in order")
        for a, b in pairwise(days):
            if b - a != timedelta(days=1):
                raise ValueError("days must be consecutive")
        skus = {p.sku for p in self.products}
        for sku, day, tier in self.demand:
            if sku not in skus:
                raise ValueError(f"demand for unknown product {sku}")
            if tier not in (CONFIRMED, BOOKED, FORECAST):
                raise ValueError(f"unknown tier {tier}")
            if days and not days[0] <= day <= days[-1]:
                raise ValueError(f"demand on {day} is outside the horizon")

    @property
    def steps(self) -> tuple[str, ...]:
        names = {s for p in self.products for s in p.labour_minutes}
        return tuple(sorted(names))

    def step_subsets(self) -> list[frozenset[str]]:
        """Every non-empty set of steps: staff capacity is feasible exactly when, for each such
        set S, the work of S fits the minutes of everyone able to do a step in S (Hall's
        condition for assigning pooled staff minutes to steps)."""
        steps = self.steps
        return [frozenset(c) for k in range(1, len(steps) + 1) for c in combinations(steps, k)]

    def demand_total(self) -> int:
        return sum(self.demand.values())


@dataclass
class PlanResult:
    trays: dict[tuple[str, date], int]
    made: dict[tuple[str, date], int]
    sales: dict[tuple[str, date, date], int]  # (sku, made_day, sold_day)
    served: dict[DemandKey, int]
    unmet: dict[DemandKey, int]
    waste: dict[tuple[str, date], int]
    overtime_hours: dict[date, float]
    status: str = "optimal"
    seconds: float = 0.0
    mip_gap: float = 0.0
    stage_values: dict[str, float] = field(default_factory=dict)
    stage_seconds: dict[str, float] = field(default_factory=dict)
    # Per stage: the solver's status ("Optimal", "Time limit reached") or "skipped: out of
    # time" when the budget ran out before it.
    stage_status: dict[str, str] = field(default_factory=dict)
    # Per stage: the relative MIP gap HiGHS reported when it stopped (0 = proven optimal).
    stage_gaps: dict[str, float] = field(default_factory=dict)

    @property
    def cut_short(self) -> list[str]:
        """The stages the time budget cut: stopped by the limit, or never started."""
        return [
            name
            for name, status in self.stage_status.items()
            if status == "Time limit reached" or status.startswith("skipped")
        ]

    def unmet_total(self, tier: int | None = None) -> int:
        return sum(v for (_s, _d, k), v in self.unmet.items() if tier is None or k == tier)

    def unmet_by_tier(self) -> list[int]:
        return [self.unmet_total(k) for k in range(len(TIERS))]

    def unmet_on(self, day: date) -> int:
        return sum(v for (_s, d, _k), v in self.unmet.items() if d == day)

    def waste_total(self) -> int:
        return sum(self.waste.values())

    def overtime_total(self) -> float:
        return sum(self.overtime_hours.values())


@dataclass(frozen=True)
class Usage:
    mill_kg: float
    trays: float
    staff_minutes: Mapping[str, float]
    rice_g: float
    sugar_g: float


def day_usage(
    products: Mapping[str, ProductSpec], made: Mapping[str, int], trays: Mapping[str, int]
) -> Usage:
    """Resources a day's production takes (made = pieces by sku, trays = trays by sku)."""
    mill = sum(products[s].rice_g * q for s, q in made.items()) / 1000.0
    steps: dict[str, float] = {}
    for sku, q in made.items():
        for step, minutes in products[sku].labour_minutes.items():
            steps[step] = steps.get(step, 0.0) + minutes * q
    return Usage(
        mill_kg=mill,
        trays=float(sum(trays.values())),
        staff_minutes=steps,
        rice_g=sum(products[s].rice_g * q for s, q in made.items()),
        sugar_g=sum(products[s].sugar_g * q for s, q in made.items()),
    )


def staff_capacity(cap: DayCapacity, subset: frozenset[str], overtime: float) -> float:
    return sum(
        g.minutes + g.minutes_per_extra_hour * overtime for g in cap.staff if g.skills & subset
    )


def utilisation(
    cap: DayCapacity, usage: Usage, overtime: float, steps: tuple[str, ...]
) -> dict[str, float]:
    """Share (0..1+) of each resource's regular + used-overtime capacity a day takes."""

    def share(used: float, available: float) -> float:
        return round(used / available, 4) if available > 0 else (0.0 if used == 0 else 1.0)

    out = {
        "mill": share(usage.mill_kg, cap.mill_kg + cap.mill_kg_per_extra_hour * overtime),
        "cabinet": share(usage.trays, cap.trays + cap.trays_per_extra_hour * overtime),
    }
    for step in steps:
        out[f"staff:{step}"] = share(
            usage.staff_minutes.get(step, 0.0), staff_capacity(cap, frozenset([step]), overtime)
        )
    return out
