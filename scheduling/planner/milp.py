"""The season plan as a mixed-integer programme, solved with HiGHS.

Variables, for product p, production day d and demand day t:
  n[p, d]     whole trays made (integer); pieces made = units_per_tray * n
  s[p, d, t]  pieces made on d and sold on t, created only when 0 <= t - d <= L_p - 1, so a
              plan cannot sell outside the freshness window by construction
  v[p, t, k]  demand of tier k served on t (<= that demand)
  ot[d]       hours of the extra shift run on d (<= the extra shift's length)
Rows per day: flour milled, trays steamed, and for every set of labour steps the minutes of
everyone able to do one of them (exact for pooled, multi-skilled staff), each <= the regular
capacity plus what `ot[d]` hours add; per crop year, rice used <= rice of that crop year.

The objective is lexicographic, solved in stages on one model: unmet confirmed demand, then
unmet bookings and standing orders, then unmet forecast, then waste, then overtime (weighted
by the people who stay). After each stage its value is kept as a row, so a later goal never
buys itself with an earlier one. The greedy plan is handed to HiGHS as a starting solution and
kept whenever the solver (under its time limit) finds nothing better, so the result is never
worse than greedy.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from datetime import date, timedelta

import highspy
import numpy as np

from scheduling.planner.budget import (
    DEFAULT_HEURISTIC_EFFORT,
    MAX_OVERRUN_SECONDS,
    MIN_STAGE_SECONDS,
    OVERRUN_SHARE,
    TIME_LIMIT_STATUS,
    SolveOptions,
    stage_budget,
)
from scheduling.planner.greedy import greedy_plan, result_for
from scheduling.planner.model import (
    TIERS,
    PlanInput,
    PlanResult,
    ProductSpec,
    Progress,
    SolverSnapshot,
    Watch,
    staff_capacity,
)


@dataclass(frozen=True)
class Bound:
    """Lexicographic LP-relaxation bound: the least unmet demand per tier any plan (even one
    allowed fractional trays) could reach, in pieces."""

    unmet_by_tier: list[float]

    @property
    def unmet_total(self) -> float:
        return sum(self.unmet_by_tier)


class _Model:
    def __init__(self, data: PlanInput, *, integer: bool) -> None:
        self.data = data
        self.h = highspy.Highs()  # type: ignore[no-untyped-call]
        self.h.setOptionValue("output_flag", False)
        self.lower: list[float] = []
        self.upper: list[float] = []
        self.integer_cols: list[int] = []
        self.n: dict[tuple[str, date], int] = {}
        self.s: dict[tuple[str, date, date], int] = {}
        self.v: dict[tuple[str, date, int], int] = {}
        self.ot: dict[date, int] = {}
        self.rows: list[tuple[float, float, list[int], list[float]]] = []
        self._build(integer)
        self._watch: Watch | None = None
        self._watched: tuple[str, float] = ("", 0.0)  # the running stage and its constant

    def watch(self, watch: Watch) -> None:
        """Hand `watch` a SolverSnapshot from HiGHS's MIP callback (tens of times a second)
        while a stage runs: its gap and best value so far, for the progress display."""
        self._watch = watch
        self.h.cbMipInterrupt.subscribe(self._on_mip)

    def _on_mip(self, event: highspy.HighsCallbackEvent) -> None:
        if self._watch is None:
            return
        out = event.data_out
        name, constant = self._watched
        gap = float(out.mip_gap)
        primal = float(out.mip_primal_bound)
        self._watch(
            SolverSnapshot(
                stage=name,
                gap=gap if math.isfinite(gap) else None,
                value=primal + constant if math.isfinite(primal) else None,
                seconds=float(out.running_time),
            )
        )

    def _col(self, lower: float, upper: float) -> int:
        self.lower.append(lower)
        self.upper.append(upper)
        return len(self.lower) - 1

    def _build(self, integer: bool) -> None:
        data = self.data
        inf = highspy.kHighsInf
        horizon = [c.day for c in data.days]
        last = horizon[-1]
        demand_days = {(s, d) for (s, d, _k), q in data.demand.items() if q > 0}
        for cap in data.days:
            if cap.extra_hours > 0:
                self.ot[cap.day] = self._col(0.0, cap.extra_hours)
        for p in data.products:
            for cap in data.days:
                if not cap.production:
                    continue
                max_trays = cap.trays + cap.trays_per_extra_hour * cap.extra_hours
                if max_trays < 1:
                    continue
                col = self._col(0.0, math.floor(max_trays + 1e-9))
                self.n[p.sku, cap.day] = col
                if integer:
                    self.integer_cols.append(col)
                for age in range(p.freshness_days):
                    t = cap.day + timedelta(days=age)
                    if t > last:
                        break
                    if (p.sku, t) in demand_days:
                        self.s[p.sku, cap.day, t] = self._col(0.0, inf)
        for (sku, day, tier), q in data.demand.items():
            if q > 0:
                self.v[sku, day, tier] = self._col(0.0, float(q))

        products = {p.sku: p for p in data.products}
        # Grouped once: looking the sales of every (product, day) up in all of `s` made the
        # build quadratic (0.4 s for 120 days).
        sold_from: dict[tuple[str, date], list[int]] = {}
        sold_on: dict[tuple[str, date], list[int]] = {}
        for (sku, d, t), col in self.s.items():
            sold_from.setdefault((sku, d), []).append(col)
            sold_on.setdefault((sku, t), []).append(col)
        # For `trimmed`: each sales column's production column, and pieces a tray.
        self.sale_cols = np.fromiter(self.s.values(), dtype=np.int32, count=len(self.s))
        owner = {col: i for i, col in enumerate(self.n.values())}
        self.sale_owner = np.fromiter(
            (owner[self.n[sku, d]] for (sku, d, _t) in self.s), dtype=np.int64, count=len(self.s)
        )
        self.tray_cols = np.fromiter(self.n.values(), dtype=np.int32, count=len(self.n))
        self.tray_units = np.array(
            [float(products[sku].units_per_tray) for (sku, _d) in self.n], dtype=np.float64
        )
        for (sku, d), col in self.n.items():
            idx = [col, *sold_from.get((sku, d), [])]
            val = [-float(products[sku].units_per_tray)] + [1.0] * (len(idx) - 1)
            self.rows.append((-inf, 0.0, idx, val))
        served_on: dict[tuple[str, date], list[int]] = {}
        for (sku, t, _k), col in self.v.items():
            served_on.setdefault((sku, t), []).append(col)
        for key, served_cols in served_on.items():
            sold_cols = sold_on.get(key, [])
            self.rows.append(
                (
                    0.0,
                    0.0,
                    sold_cols + served_cols,
                    [1.0] * len(sold_cols) + [-1.0] * len(served_cols),
                )
            )

        subsets = data.step_subsets()
        made_on: dict[date, list[tuple[ProductSpec, int]]] = {}
        for (s, d), col in self.n.items():
            made_on.setdefault(d, []).append((products[s], col))
        for cap in data.days:
            made = made_on.get(cap.day, [])
            if not made:
                continue
            ot = self.ot.get(cap.day)

            def add(
                coefs: list[float],
                regular: float,
                rate: float,
                made: list[tuple[ProductSpec, int]] = made,
                ot: int | None = ot,
            ) -> None:
                idx = [col for (_p, col) in made]
                val = list(coefs)
                if ot is not None and rate > 0:
                    idx.append(ot)
                    val.append(-rate)
                self.rows.append((-inf, regular, idx, val))

            add(
                [p.rice_g * p.units_per_tray / 1000.0 for p, _c in made],
                cap.mill_kg,
                cap.mill_kg_per_extra_hour,
            )
            add([1.0 for _ in made], cap.trays, cap.trays_per_extra_hour)
            for subset in subsets:
                coefs = [
                    sum(p.labour_minutes.get(st, 0.0) for st in subset) * p.units_per_tray
                    for p, _c in made
                ]
                if any(coefs):
                    regular = staff_capacity(cap, subset, 0.0)
                    add(coefs, regular, staff_capacity(cap, subset, 1.0) - regular)

        rice = data.materials.rice_by_crop_year
        if rice is not None:
            years = {c.day: c.crop_year for c in data.days}
            by_year: dict[int, tuple[list[int], list[float]]] = {}
            for (sku, d), col in self.n.items():
                p = products[sku]
                if p.rice_g > 0:
                    idx, val = by_year.setdefault(years[d], ([], []))
                    idx.append(col)
                    val.append(p.rice_g * p.units_per_tray)
            for year, (idx, val) in by_year.items():
                self.rows.append((-inf, float(rice.get(year, 0.0)), idx, val))
        if data.materials.sugar_g is not None:
            idx = [col for (sku, _d), col in self.n.items() if products[sku].sugar_g > 0]
            val = [
                products[sku].sugar_g * products[sku].units_per_tray
                for (sku, _d) in self.n
                if products[sku].sugar_g > 0
            ]
            if idx:
                self.rows.append((-inf, float(data.materials.sugar_g), idx, val))

        ncol = len(self.lower)
        zeros = np.zeros(ncol)
        self.h.addCols(
            ncol,
            zeros,
            np.array(self.lower),
            np.array(self.upper),
            0,
            np.array([], dtype=np.int32),
            np.array([], dtype=np.int32),
            np.array([], dtype=np.float64),
        )
        if self.integer_cols:
            int_idx = np.array(self.integer_cols, dtype=np.int32)
            self.h.changeColsIntegrality(
                len(int_idx), int_idx, np.array([highspy.HighsVarType.kInteger] * len(int_idx))
            )
        # Every row in ONE call (row-wise sparse arrays), in the order they were built.
        if self.rows:
            lengths = np.array([len(idx) for _lo, _up, idx, _val in self.rows], dtype=np.int32)
            starts = np.zeros(len(self.rows), dtype=np.int32)
            np.cumsum(lengths[:-1], out=starts[1:])
            self.h.addRows(
                len(self.rows),
                np.array([lo for lo, _up, _idx, _val in self.rows], dtype=np.float64),
                np.array([up for _lo, up, _idx, _val in self.rows], dtype=np.float64),
                int(lengths.sum()),
                starts,
                np.fromiter(
                    (i for _lo, _up, idx, _val in self.rows for i in idx),
                    dtype=np.int32,
                    count=int(lengths.sum()),
                ),
                np.fromiter(
                    (v for _lo, _up, _idx, val in self.rows for v in val),
                    dtype=np.float64,
                    count=int(lengths.sum()),
                ),
            )

    def _add_row(self, lower: float, upper: float, idx: np.ndarray, val: np.ndarray) -> None:
        self.h.addRow(
            lower, upper, len(idx), np.asarray(idx, dtype=np.int32), np.asarray(val, np.float64)
        )

    # --- stages ---------------------------------------------------------------------

    def stages(self) -> list[Goal]:
        """Each goal in priority order; a stage's value is cost . x + constant."""
        out: list[Goal] = []
        for tier, name in enumerate(TIERS):
            cols = [col for (_s, _d, k), col in self.v.items() if k == tier]
            if cols:
                demand = float(sum(q for (_s, _d, k), q in self.data.demand.items() if k == tier))
                out.append(Goal.of(f"unmet_{name}", {col: -1.0 for col in cols}, demand))
        products = {p.sku: p for p in self.data.products}
        waste: dict[int, float] = {
            col: float(products[sku].units_per_tray) for (sku, _d), col in self.n.items()
        }
        for col in self.s.values():
            waste[col] = -1.0
        out.append(Goal.of("waste", waste, 0.0))
        heads = {c.day: max(1, c.headcount) for c in self.data.days}
        if self.ot:
            out.append(
                Goal.of("overtime", {col: float(heads[d]) for d, col in self.ot.items()}, 0.0)
            )
        return out

    def solve_stage(
        self,
        goal: Goal,
        *,
        time_limit: float,
        gap: float,
        threads: int,
        start: np.ndarray | None,
        name: str = "",
        constant: float = 0.0,
        heuristic_effort: float = DEFAULT_HEURISTIC_EFFORT,
    ) -> tuple[str, np.ndarray | None, float]:
        self._watched = (name, constant)
        ncol = len(self.lower)
        full = np.zeros(ncol)
        full[goal.cols] = goal.coefs
        self.h.changeColsCost(ncol, np.arange(ncol, dtype=np.int32), full)
        self.h.setOptionValue("time_limit", max(MIN_STAGE_SECONDS, time_limit))
        self.h.setOptionValue("mip_rel_gap", gap)
        self.h.setOptionValue("threads", threads)
        if self.integer_cols:
            self.h.setOptionValue("mip_heuristic_effort", heuristic_effort)
        if start is not None and self.integer_cols:
            self.h.setSolution(len(start), np.arange(len(start), dtype=np.int32), start)
        self.h.run()
        status = self.h.modelStatusToString(self.h.getModelStatus())
        info = self.h.getInfo()
        if info.primal_solution_status != 2:  # 2 = feasible
            return status, None, info.mip_gap if self.integer_cols else 0.0
        # The whole solution in one call, as an array (never column by column).
        values = np.asarray(self.h.getSolution().col_value, dtype=np.float64)
        return status, values, info.mip_gap if self.integer_cols else 0.0

    def keep(self, goal: Goal, value: float) -> None:
        self._add_row(-highspy.kHighsInf, value, goal.cols, goal.coefs)

    def trimmed(self, values: np.ndarray) -> np.ndarray:
        """`values` without the whole trays nobody buys: the same sales and service, less
        waste and less of every resource, so still feasible for every row kept so far. The
        waste stage starts from it: from the demand stages' plan as it is (about 40,000
        pieces of waste for 60 days x 12 products) HiGHS often found nothing better in 4-5 s."""
        out = values.copy()
        sold = np.bincount(
            self.sale_owner, weights=values[self.sale_cols], minlength=len(self.tray_cols)
        )
        trays = np.round(values[self.tray_cols])
        spare = np.floor((trays * self.tray_units - sold) / self.tray_units + 1e-9)
        out[self.tray_cols] = trays - np.clip(spare, 0.0, trays)
        return out

    def fix_away_from_overtime(self, values: np.ndarray) -> None:
        """Fix the trays of every day that cannot change an extra shift's hours: days with
        no extra shift that are not within a product's freshness window before one (a tray
        made there could stand in for one made on an overtime day).

        Why: the overtime stage on the whole model spent its time in HiGHS's root cut
        separation, which does not look at the clock: for 60 days x 12 products it overran a
        3 s limit by up to 2 s. On the days that matter it keeps to its limit; the overtime
        cost it reached (seeds 1-3) was 109, 140 and 99 against 168, 168 and 70 on the whole
        model. Moving production further back, in chains of trays across several freshness
        windows, is not tried."""
        if not self.ot:
            return
        reach = max((p.freshness_days for p in self.data.products), default=1) - 1
        free: set[date] = set()
        for day in self.ot:
            free.update(day - timedelta(days=back) for back in range(reach + 1))
        cols = np.array([c for (_s, d), c in self.n.items() if d not in free], dtype=np.int32)
        if len(cols):
            fixed = np.round(values[cols])
            self.h.changeColsBounds(len(cols), cols, fixed, fixed)


@dataclass(frozen=True)
class Goal:
    """One stage's objective: cost `coefs` on columns `cols`, plus a constant."""

    name: str
    cols: np.ndarray  # int32
    coefs: np.ndarray  # float64
    constant: float

    @classmethod
    def of(cls, name: str, cost: dict[int, float], constant: float) -> Goal:
        return cls(
            name,
            np.fromiter(cost.keys(), dtype=np.int32, count=len(cost)),
            np.fromiter(cost.values(), dtype=np.float64, count=len(cost)),
            constant,
        )

    def value(self, values: np.ndarray) -> float:
        """cost . x, without the constant."""
        return float(self.coefs @ values[self.cols])


def _better(a: PlanResult, b: PlanResult) -> bool:
    """a is lexicographically better than b on (unmet by tier, waste, overtime)."""
    key_a = (*a.unmet_by_tier(), a.waste_total(), round(a.overtime_total(), 6))
    key_b = (*b.unmet_by_tier(), b.waste_total(), round(b.overtime_total(), 6))
    return key_a < key_b


def trim_waste(data: PlanInput, plan: PlanResult, *, deadline: float | None = None) -> PlanResult:
    """Drop whole trays nobody buys. If a day's output of a product leaves at least a tray
    unsold, the same sales stay possible without that tray, so served demand cannot fall
    while waste and resource use do: a cheap finish when the waste stage ran out of time."""
    units = {p.sku: p.units_per_tray for p in data.products}
    for _round in range(5):
        if deadline is not None and time.monotonic() >= deadline:
            return plan
        trays = dict(plan.trays)
        changed = False
        for (sku, day), left in plan.waste.items():
            spare = left // units[sku]
            if spare > 0:
                trays[sku, day] -= spare
                changed = True
        if not changed:
            return plan
        trimmed = result_for(data, {k: n for k, n in trays.items() if n > 0}, status=plan.status)
        if _better(plan, trimmed):  # never happens by the argument above; kept as a guard
            return plan
        plan = trimmed
    return plan


def solve(
    data: PlanInput,
    options: SolveOptions | None = None,
    progress: Progress | None = None,
    watch: Watch | None = None,
) -> PlanResult:
    """The plan. `progress(stage, fraction)` is told when each stage starts; `watch` gets the
    solver's gap and best value while a stage runs (see `_Model.watch`)."""
    options = options or SolveOptions()
    started = time.monotonic()
    report = progress or (lambda _stage, _done: None)
    report("greedy", 0.0)
    greedy = greedy_plan(data)
    # Turning the solver's trays into a plan afterwards (result_for) costs about what the
    # greedy plan did: keep that much of the budget back from the stages, and what HiGHS
    # may overrun a stage's limit by.
    finish = time.monotonic() - started
    finish += min(MAX_OVERRUN_SECONDS, OVERRUN_SHARE * options.time_limit)
    if not data.days or not data.products:
        greedy.status = "empty"
        return greedy
    model = _Model(data, integer=True)
    if watch is not None:
        model.watch(watch)
    start: np.ndarray | None = None
    if options.seed_with_greedy:
        start = np.zeros(len(model.lower))
        for key, col in model.n.items():
            start[col] = greedy.trays.get(key, 0)
        # Only the trays are given: HiGHS completes sales and overtime itself.
        partial = np.array(list(model.n.values()), dtype=np.int32)
        model.h.setSolution(len(partial), partial, start[partial])
        start = None
    stages = model.stages()
    status, values, gap = "not solved", None, 0.0
    stage_values: dict[str, float] = {}
    stage_seconds: dict[str, float] = {}
    stage_status: dict[str, str] = {}
    stage_gaps: dict[str, float] = {}
    for i, goal in enumerate(stages):
        name = goal.name
        report(name, i / len(stages))
        left = options.time_limit - finish - (time.monotonic() - started)
        if left < MIN_STAGE_SECONDS and values is not None:
            # Out of budget: this stage and the rest keep the last stage's plan.
            for skipped in stages[i:]:
                stage_status[skipped.name] = "skipped: out of time"
            break
        if name == "overtime" and values is not None:
            model.fix_away_from_overtime(values)
        budget = stage_budget(
            name, left, len(stages) - i - 1, options.time_limit, options.waste_share
        )
        stage_started = time.monotonic()
        stage_gap = options.mip_rel_gap if name.startswith("unmet_") else options.secondary_gap
        if name == "waste" and values is not None:
            values = model.trimmed(values)
        status, solution, gap = model.solve_stage(
            goal,
            time_limit=budget,
            gap=stage_gap,
            threads=options.threads,
            start=values,
            name=name,
            constant=goal.constant,
            heuristic_effort=(
                options.waste_heuristic_effort if name == "waste" else DEFAULT_HEURISTIC_EFFORT
            ),
        )
        stage_status[name] = status
        if math.isfinite(gap):  # no bound yet is inf, which JSON (the plan's summary) refuses
            stage_gaps[name] = round(gap, 6)
        stage_seconds[name] = round(time.monotonic() - stage_started, 3)
        if solution is None:
            # No plan from this stage (its time ran out before a first solution): the later
            # stages cannot improve on nothing, so they are reported as not run.
            why = "out of time" if status == TIME_LIMIT_STATUS else status
            for skipped in stages[i + 1 :]:
                stage_status[skipped.name] = f"skipped: {why}"
            break
        values = solution
        value = goal.value(values)
        stage_values[name] = value + goal.constant
        model.keep(goal, value + 1e-6 + abs(value) * 1e-9)
    report("done", 1.0)
    if values is None:
        greedy.status = f"greedy ({status})"
        greedy.seconds = time.monotonic() - started
        greedy.stage_seconds = stage_seconds
        greedy.stage_status = stage_status
        greedy.stage_gaps = stage_gaps
        return greedy
    trays = {key: round(values[col]) for key, col in model.n.items() if round(values[col]) > 0}
    result = result_for(data, trays, status=status.lower())
    # Trimming re-evaluates the plan up to five times: only while the budget lasts.
    result = trim_waste(data, result, deadline=started + options.time_limit)
    if _better(greedy, result):
        greedy.status = f"greedy (solver {status.lower()})"
        result = greedy
    result.seconds = time.monotonic() - started
    result.mip_gap = gap
    result.stage_values = stage_values
    result.stage_seconds = stage_seconds
    result.stage_status = stage_status
    result.stage_gaps = stage_gaps
    return result


def lp_bound(data: PlanInput, options: SolveOptions | None = None) -> Bound:
    """The LP relaxation solved in the same stage order: a lower bound on each tier's unmet
    demand (the first tier's is a bound outright; later ones given the earlier optimum)."""
    options = options or SolveOptions()
    model = _Model(data, integer=False)
    by_tier = [0.0] * len(TIERS)
    for goal in model.stages():
        name = goal.name
        if not name.startswith("unmet_"):
            break
        _status, values, _gap = model.solve_stage(
            goal, time_limit=options.time_limit, gap=0.0, threads=options.threads, start=None
        )
        if values is None:
            break
        value = goal.value(values)
        by_tier[TIERS.index(name.removeprefix("unmet_"))] = value + goal.constant
        model.keep(goal, value + 1e-7)
    return Bound([max(0.0, b) for b in by_tier])
