"""`gaogan bench plan`: the season planner under one budget, beside its LP bound and greedy.

Without `--database-url` it solves synthetic seasons (`scheduling/planner/synthetic.py`):
the time is the whole `solve` (greedy, model, every stage, turning the trays into a plan).
With `--database-url` it also makes plans the way the manager does (`create_plan`: read
products, recipes and three seasons of sales history, LP bound and greedy baselines, solve,
store the lines and days, commit) on a scratch PostgreSQL database it WIPES first, and
times all of it.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import click

from scheduling.planner import PlanResult
from shop.commands.bench_load import check_url, fresh_database


def _median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else 0.0


def _ints(raw: str) -> list[int]:
    return [int(part) for part in raw.split(",") if part.strip()]


def _gaps(result: PlanResult) -> str:
    return ", ".join(f"{name} {gap:.2%}" for name, gap in result.stage_gaps.items()) or "none"


def synthetic(days: list[int], products: int, budget: float, seeds: int) -> None:
    from scheduling.planner import SolveOptions, greedy_plan, lp_bound, solve, violations
    from scheduling.planner.synthetic import synthetic_season

    table = []
    for n_days in days:
        runs = []
        for seed in range(1, seeds + 1):
            data = synthetic_season(days=n_days, products=products, seed=seed)
            started = time.perf_counter()
            result = solve(data, SolveOptions(time_limit=budget))
            seconds = time.perf_counter() - started
            bound = lp_bound(data)
            greedy = greedy_plan(data)
            if violations(data, result):
                raise click.ClickException(f"{n_days} days seed {seed}: invalid plan")
            gap = (result.unmet_total() - bound.unmet_total) / max(1.0, bound.unmet_total)
            runs.append((seconds, gap, result, greedy.unmet_total(), bound.unmet_total))
            click.echo(
                f"  {n_days} days x {products} seed {seed}: {seconds:.2f} s, unmet "
                f"{result.unmet_total()} vs LP bound {bound.unmet_total:.0f} "
                f"(gap {gap:.3%}), greedy {greedy.unmet_total()}, waste {result.waste_total()}, "
                f"stages {result.stage_seconds}, HiGHS gaps {_gaps(result)}, "
                f"cut short {result.cut_short or 'none'}"
            )
        table.append((n_days, runs))
    click.echo("")
    click.echo(
        f"| days x {products} products (budget {budget:g} s, {seeds} seeds) | total s "
        "(median, max) | gap to LP bound (median, worst) | greedy unmet / plan unmet "
        "| waste (median) | stages cut short |"
    )
    click.echo("| --- | ---: | ---: | ---: | ---: | --- |")
    for n_days, runs in table:
        secs = [r[0] for r in runs]
        gaps = [r[1] for r in runs]
        cut = sorted({name for r in runs for name in r[2].cut_short})
        ratio = _median([r[3] / max(1, r[2].unmet_total()) for r in runs])
        waste = _median([r[2].waste_total() for r in runs])
        click.echo(
            f"| {n_days} | {_median(secs):.2f}, {max(secs):.2f} | {_median(gaps):.3%}, "
            f"{max(gaps):.3%} | {ratio:.2f} | {waste:.0f} | {', '.join(cut) or 'none'} |"
        )


def through_database(url: str, days: list[int], products: int, budget: float, rounds: int) -> None:
    from inventory.catalog import create_product
    from inventory.db import make_session_factory, transaction
    from scheduling.planning.calendar import spring_festival
    from scheduling.planning.demo_history import seed_recipes, seed_sales_history
    from scheduling.planning.plans import PlanRequest, create_plan

    engine = fresh_database(url)
    factory = make_session_factory(engine)
    with transaction(factory) as s:
        for i in range(products):
            create_product(
                s,
                f"GG-{i + 1:02d}",
                f"糕干{i + 1}",
                f"Gaogan {i + 1}",
                1000 + 50 * i,
                (150, 200, 250, 300)[i % 4],
                (1, 2, 2, 3)[i % 4],
                7,
            )
        seed_recipes(s)
        seed_sales_history(s, latest_festival_year=2026, seasons=3, everyday_per_product=300)
    eve = spring_festival(2027) - timedelta(days=1)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    found: dict[int, list[tuple[float, Any]]] = {n: [] for n in days}
    for round_no in range(1, rounds + 1):
        for n_days in days:
            start = eve - timedelta(days=n_days - 10)
            request = PlanRequest(
                start=start,
                end=start + timedelta(days=n_days - 1),
                limit_materials=False,
                time_limit=budget,
            )
            started = time.perf_counter()
            with transaction(factory) as s:
                plan = create_plan(s, request, now=now)
                summary = dict(plan.summary)
                row = (plan.unmet_total, plan.solve_seconds, summary)
            seconds = time.perf_counter() - started
            found[n_days].append((seconds, row))
            bound = float(summary.get("lp_bound_unmet", 0.0))  # type: ignore[arg-type]
            click.echo(
                f"  round {round_no}/{rounds}, {n_days} days x {products}: create_plan "
                f"{seconds:.2f} s (solve {row[1]:.2f} s), unmet {row[0]} vs LP bound "
                f"{bound:.0f}, stages {summary.get('stage_seconds')}, HiGHS gaps "
                f"{summary.get('stage_gaps')}"
            )
    engine.dispose()
    click.echo("")
    click.echo(
        f"| plan creation, days x {products} (budget {budget:g} s) | total s (median, max) "
        "| solve s (median) | gap to LP bound (median, worst) |"
    )
    click.echo("| --- | ---: | ---: | ---: |")
    for n_days, runs in found.items():
        secs = [r[0] for r in runs]
        gaps = []
        for _s, (unmet, _solve, summary) in runs:
            bound = float(summary.get("lp_bound_unmet", 0.0))
            gaps.append((unmet - bound) / max(1.0, bound))
        click.echo(
            f"| {n_days} | {_median(secs):.2f}, {max(secs):.2f} | "
            f"{_median([r[1][1] for r in runs]):.2f} | {_median(gaps):.3%}, {max(gaps):.3%} |"
        )


def register(bench: click.Group) -> None:
    @bench.command("plan")
    @click.option("--days", default="30,60,120", show_default=True)
    @click.option("--products", default=12, show_default=True)
    @click.option("--budget", default=10.0, show_default=True, help="seconds for all stages")
    @click.option("--seeds", default=3, show_default=True, help="seasons per size (median)")
    @click.option(
        "--database-url",
        "url",
        default=None,
        help="also time create_plan end to end on this scratch PostgreSQL database (WIPED)",
    )
    @click.option("--rounds", default=3, show_default=True, help="create_plan runs per size")
    def plan(
        days: str, products: int, budget: float, seeds: int, url: str | None, rounds: int
    ) -> None:
        """The season planner under one budget vs its LP bound (and greedy)."""
        if url is not None:
            url = check_url(url)
        if seeds:
            synthetic(_ints(days), products, budget, seeds)
        if url is not None:
            click.echo("")
            through_database(url, _ints(days), products, budget, rounds)
