"""The planner's stages share one time budget and say which of them it cut."""

from __future__ import annotations

import pytest

from scheduling.planner import SolveOptions, solve, violations
from scheduling.planner.budget import MIN_STAGE_SECONDS, stage_budget
from scheduling.planner.synthetic import synthetic_season


def test_a_priority_stage_keeps_a_little_back_for_each_later_stage() -> None:
    # 10 s budget, 9 s left, four stages after this one: 0.5 s kept back for each.
    assert stage_budget("unmet_confirmed", 9.0, 4, 10.0) == pytest.approx(7.0)
    # Waste leaves part of what is left to overtime; the last stage gets all of it.
    assert stage_budget("waste", 2.0, 1, 10.0) == pytest.approx(1.2)
    assert stage_budget("overtime", 0.8, 0, 10.0) == pytest.approx(0.8)
    # With little left, the demand stage keeps at least half of it; never less than a stage
    # needs to start.
    assert stage_budget("unmet_confirmed", 1.6, 4, 10.0) == pytest.approx(0.8)
    assert stage_budget("unmet_booked", 0.1, 3, 10.0) == MIN_STAGE_SECONDS


def test_a_tight_budget_cuts_the_later_stages_and_says_so_but_still_plans() -> None:
    data = synthetic_season(days=60, products=12, seed=1)
    plan = solve(data, SolveOptions(time_limit=1.0))
    assert violations(data, plan) == []
    # Every stage is reported, solved or not; those the budget cut are named.
    assert set(plan.stage_status) == {
        "unmet_confirmed",
        "unmet_booked",
        "unmet_forecast",
        "waste",
        "overtime",
    }
    assert plan.cut_short
    assert all(
        plan.stage_status[name] == "Time limit reached"
        or plan.stage_status[name].startswith("skipped")
        for name in plan.cut_short
    )
