"""The planner tells how far it is: each stage as it starts, and while a stage runs HiGHS's
gap and the best value so far (what the console's progress page shows)."""

from __future__ import annotations

from scheduling.planner import SolveOptions, solve
from scheduling.planner.model import SolverSnapshot
from scheduling.planner.synthetic import synthetic_season


def test_the_solver_reports_its_stages_in_order_and_its_gap_while_a_stage_runs() -> None:
    data = synthetic_season(days=30, products=6, load=1.4)
    stages: list[str] = []
    snapshots: list[SolverSnapshot] = []
    result = solve(
        data,
        SolveOptions(time_limit=3),
        progress=lambda stage, _fraction: stages.append(stage),
        watch=snapshots.append,
    )
    assert stages[0] == "greedy" and stages[-1] == "done"
    assert stages[1:4] == ["unmet_confirmed", "unmet_booked", "unmet_forecast"]
    assert snapshots, "HiGHS's MIP callback reached the watcher"
    assert {s.stage for s in snapshots} <= set(stages)
    gaps = [s.gap for s in snapshots if s.gap is not None]
    assert gaps and all(g >= 0 for g in gaps)
    # The best value so far is the stage's incumbent: never better than where it ended.
    for s in snapshots:
        if s.value is not None and s.stage in result.stage_values:
            assert s.value >= result.stage_values[s.stage] - 1e-6, s
