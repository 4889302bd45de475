"""`gaogan plan ...`: plan the season from the command line, with a progress bar for the solver
stages (a 60-day plan can take the full time limit)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click
from sqlalchemy import select

from inventory.db import transaction
from inventory.errors import DomainError
from scheduling.planning import calendar as cal
from scheduling.planning.capacity import main_profile
from scheduling.planning.demo_history import seed_recipes, seed_sales_history
from scheduling.planning.models import CapacityProfile
from scheduling.planning.plan_reports import plan_csv
from scheduling.planning.plans import PlanRequest, create_plan, publish_plan
from shop.commands.words import Failure, lang, refusal, say
from shop.messages import solver_status

STAGES = (
    "greedy",
    "unmet_confirmed",
    "unmet_booked",
    "unmet_forecast",
    "waste",
    "overtime",
    "bound",
    "done",
)


def _stage_label(stage: str) -> str:
    """The progress bar's label: the console's words for the stage (`plan.run.stage.*`)."""
    return say(f"plan.run.stage.{stage}") if stage in STAGES else stage


def _warning(text: str) -> str:
    """Planner warnings are written "中文 / English": the operator's half."""
    zh, _sep, en = text.partition(" / ")
    return say("cli.warning", text=(zh if lang() == "zh" or not en else en))


def _season(year: int) -> tuple[date, date]:
    markers = cal.lunar_markers(year)
    from datetime import timedelta

    return markers["laba"] - timedelta(days=7), markers["yuanxiao"]


def register(cli: click.Group) -> None:
    # Imported here: shop.cli imports this module while it is being set up.
    from shop.cli import CliState, pass_state

    @cli.group("plan", invoke_without_command=True)
    @click.option(
        "--start", type=click.DateTime(["%Y-%m-%d"]), help="first day (default: a week before 腊八)"
    )
    @click.option("--end", type=click.DateTime(["%Y-%m-%d"]), help="last day (default: 元宵)")
    @click.option(
        "--year", type=int, help="festival year whose season to plan (default: the coming one)"
    )
    @click.option(
        "--profile", "profile_name", help="capacity profile or scenario name (default: main)"
    )
    @click.option(
        "--growth",
        type=click.IntRange(1, 1000),
        default=100,
        show_default=True,
        help="forecast, % of past seasons",
    )
    @click.option(
        "--time-limit",
        type=float,
        default=None,
        help="one budget in seconds for all solver stages [default: GAOGAN_PLAN_TIME_LIMIT, 10]",
    )
    @click.option("--gap", type=float, default=1e-4, show_default=True, help="MIP relative gap")
    @click.option(
        "--ignore-stock", is_flag=True, help="do not limit by rice/sugar in stock (see what to buy)"
    )
    @click.option("--publish", "do_publish", is_flag=True, help="publish as planned supply")
    @click.option(
        "--csv",
        "csv_path",
        type=click.Path(dir_okay=False, path_type=Path),
        help="write the plan as CSV",
    )
    @click.pass_context
    def plan(
        ctx: click.Context,
        start: object,
        end: object,
        year: int | None,
        profile_name: str | None,
        growth: int,
        time_limit: float | None,
        gap: float,
        ignore_stock: bool,
        do_publish: bool,
        csv_path: Path | None,
    ) -> None:
        """Plan the Spring Festival season: what to make each day, and where it falls short."""
        if ctx.invoked_subcommand is not None:
            return
        state = ctx.ensure_object(CliState)
        runtime = state.runtime
        today = date.today()
        festival_year = year or (
            today.year if today <= cal.spring_festival(today.year) else today.year + 1
        )
        default_start, default_end = _season(festival_year)
        first = start.date() if hasattr(start, "date") else default_start
        last = end.date() if hasattr(end, "date") else default_end
        try:
            with transaction(runtime.sessions) as session:
                profile = main_profile(session)
                if profile_name:
                    found = session.scalar(
                        select(CapacityProfile).where(CapacityProfile.name == profile_name)
                    )
                    if found is None:
                        raise Failure(say("cli.plan.no_profile", name=profile_name))
                    profile = found
                request = PlanRequest(
                    start=first,
                    end=last,
                    profile_id=profile.id,
                    growth_pct=growth,
                    limit_materials=not ignore_stock,
                    time_limit=time_limit or float(runtime.settings.plan_time_limit_seconds),
                    mip_rel_gap=gap,
                )
                click.echo(say("cli.plan.planning", start=first, end=last, profile=profile.name))
                with click.progressbar(
                    length=100, label=say("cli.plan.solving"), show_eta=False
                ) as bar:
                    done = [0]

                    def progress(stage: str, fraction: float) -> None:
                        bar.label = _stage_label(stage)
                        target = int(fraction * 100)
                        if target > done[0]:
                            bar.update(target - done[0])
                            done[0] = target

                    result = create_plan(
                        session,
                        request,
                        harvest_month=runtime.settings.harvest_month,
                        progress=progress,
                    )
                for warning in result.warnings:
                    click.secho(_warning(warning), fg="yellow", err=True)
                summary = result.summary
                click.echo(
                    say(
                        "cli.plan.summary",
                        ref=result.ref,
                        demand=result.demand_total,
                        unmet=result.unmet_total,
                        bound=summary.get("lp_bound_unmet"),
                        greedy=summary.get("greedy_unmet"),
                        waste=result.waste_total,
                        overtime=result.overtime_hours,
                        seconds=f"{result.solve_seconds:.1f}",
                        status=(
                            solver_status(result.solver_status, "zh")
                            if lang() == "zh"
                            else result.solver_status
                        ),
                    )
                )
                short = [d.day.isoformat() for d in result.days if d.unmet > 0]
                click.echo(say("cli.plan.short_days", days=", ".join(short) or say("cli.none")))
                if csv_path is not None:
                    csv_path.write_text(plan_csv(session, result), encoding="utf-8")
                    click.echo(say("cli.wrote", path=csv_path))
                if do_publish:
                    publish_plan(session, result.id)
                    click.echo(say("cli.plan.published", ref=result.ref))
        except DomainError as exc:
            raise refusal(exc) from exc

    @plan.command("calendar")
    @click.option("--year", type=int, required=True, help="festival year")
    @pass_state
    def calendar_cmd(state: CliState, year: int) -> None:
        """The season's lunar markers and closed days; warns when the official arrangement is missing."""
        markers = cal.lunar_markers(year)
        for key in cal.MARKER_KEYS:
            zh, en = cal.MARKER_NAMES[key]
            click.echo(f"{zh} {en}: {markers[key].isoformat()}")
        start, end = _season(year)
        with transaction(state.runtime.sessions) as session:
            for warning in cal.missing_arrangement_warnings(session, start, end):
                click.secho(_warning(warning), fg="yellow", err=True)
            closed = sorted(cal.closed_days(session, start, end))
        click.echo(
            say(
                "cli.plan.closed_days",
                days=", ".join(d.isoformat() for d in closed) or say("cli.none"),
            )
        )

    @plan.command("seed-history")
    @click.option(
        "--latest-year", type=int, required=True, help="festival year of the last past season"
    )
    @click.option("--seasons", type=int, default=3, show_default=True)
    @pass_state
    def seed_history_cmd(state: CliState, latest_year: int, seasons: int) -> None:
        """Demo data: recipes for products without one and past seasons of daily sales."""
        with transaction(state.runtime.sessions) as session:
            recipes = seed_recipes(session)
            rows = seed_sales_history(session, latest_festival_year=latest_year, seasons=seasons)
        click.echo(say("cli.plan.seeded", recipes=recipes, days=rows))
