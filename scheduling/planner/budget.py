"""The planner's one time budget: the options of a solve and how its stages share the time."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SolveOptions:
    # ONE budget, in seconds, for everything `solve` does (greedy, model, every stage): the
    # stages used to get up to 10 s each for waste and overtime on top, 21.7 s in all for
    # 60 days x 12 products. Unmet-demand stages may use what is left but a small reserve for
    # each later stage; waste takes at most `waste_share` of what is left when overtime
    # follows. Waste and overtime bounds are weak (whole trays), so proving their last
    # percent can take minutes for a few pieces: they are the stages a tight budget cuts.
    time_limit: float = 10.0
    mip_rel_gap: float = 1e-4  # for the unmet-demand stages
    secondary_gap: float = 0.01  # waste and overtime: close enough, and much faster
    waste_share: float = 0.6
    # HiGHS's default heuristic effort is 0.05. The waste stage's bound is weak, so its
    # progress comes from heuristics around the incumbent: for 60 days x 12 products (4-5 s
    # of waste stage) 0.5 found 1,256-2,395 pieces in most runs, where with 0.05 several runs
    # ended where they started (7,100 pieces after trimming).
    waste_heuristic_effort: float = 0.5
    threads: int = 1  # the machines have two cores shared with the web process
    seed_with_greedy: bool = True


# Below this a stage is not started: HiGHS needs some time to even read the model back.
MIN_STAGE_SECONDS = 0.2
# HiGHS checks its time limit between phases (cut rounds, sub-MIPs): a stage stopped by the
# limit overran it by up to 0.4 s for 60 days x 12 products. This share of the budget (at
# most MAX_OVERRUN_SECONDS) is kept back so that the whole solve, not only the stages, ends
# within the budget.
OVERRUN_SHARE = 0.04
MAX_OVERRUN_SECONDS = 1.0
TIME_LIMIT_STATUS = "Time limit reached"
DEFAULT_HEURISTIC_EFFORT = 0.05  # HiGHS's own default


def stage_budget(
    name: str, left: float, later_stages: int, total: float, waste_share: float = 0.6
) -> float:
    """Seconds for stage `name` with `left` seconds of the budget and `later_stages` after it.

    A priority stage (unmet demand) keeps back a little for each later stage, one twentieth
    of the budget (at most 1 s), but never more than half of what is left, so a slow first
    stage cannot leave waste and overtime with nothing, nor a slow start leave the demand
    stages without the time to find a plan; waste keeps back part of what is left for
    overtime.
    """
    if later_stages == 0:
        return left
    if name.startswith("unmet_"):
        # The reserve never takes more than half of what is left: with little time left a
        # plan for the demand comes before any time for waste or overtime.
        reserve = min(1.0, total / 20) * later_stages
        return max(MIN_STAGE_SECONDS, left - reserve, left / 2)
    return max(MIN_STAGE_SECONDS, left * waste_share)
