"""The planning area's scheduled work: the nightly re-plan and the inputs of the 20:00 cut-off.

Registered from the planning area's init_app (`register_planning_jobs`), so `gaogan scheduler`
and `gaogan serve` run them once create_app has been called.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.models import Item, ItemKind
from inventory.rules import local_day
from inventory.settings import Settings
from scheduling.planning.capacity import APPRENTICE_SKILLS, main_profile
from scheduling.planning.models import CapacityDay
from scheduling.planning.plans import PlanRequest, create_plan, publish_plan
from scheduling.planning.recipes import STEPS, list_recipes
from scheduling.production.batch_sheet import Capacity, DayInputs, Worker
from scheduling.production.jobs import register_cutoff_job
from scheduling.scheduler.jobs import JobContext, JobRegistry, registry

log = logging.getLogger(__name__)

REPLAN = "planning.replan"
REPLAN_HORIZON_DAYS = 14
# The solver gets this long at night; the greedy plan is the floor if it finds nothing better.
REPLAN_TIME_LIMIT = 60.0
CUTOFF_GRACE = timedelta(hours=4)


def _raw_material_sku(session: Session, kind: ItemKind) -> str:
    sku = session.scalar(
        select(Item.sku).where(Item.kind == kind, Item.active.is_(True)).order_by(Item.id).limit(1)
    )
    return sku or kind.value.upper()


def planning_day_inputs(session: Session, day: date) -> DayInputs:
    """Recipes, the main capacity profile (with that day's overrides) and who works that day:
    what the cut-off needs to turn the day's planned supply into batches and a sheet."""
    profile = main_profile(session)
    override = session.scalar(
        select(CapacityDay).where(CapacityDay.profile_id == profile.id, CapacityDay.day == day)
    )
    mills, cabinets = profile.mills, profile.cabinets
    if override is not None:
        mills = override.mills if override.mills is not None else mills
        cabinets = override.cabinets if override.cabinets is not None else cabinets
    workers = [
        Worker(member.name, tuple(member.skills))
        for member in profile.staff
        if day.weekday() in member.weekdays and day.isoformat() not in member.days_off
    ]
    # Extra hands booked for the day have no names on the roster, only a kind.
    for kind, count in (override.extra_staff if override is not None else {}).items():
        skills = tuple(STEPS) if kind == "core" else tuple(APPRENTICE_SKILLS)
        workers += [Worker(f"{kind}-extra-{i + 1}", skills) for i in range(int(count))]
    return DayInputs(
        recipes=list_recipes(session),
        capacity=Capacity(
            mills,
            profile.mill_kg_per_hour,
            cabinets,
            profile.trays_per_cycle,
            profile.cycle_minutes,
        ),
        workers=workers,
        rice_sku=_raw_material_sku(session, ItemKind.RICE),
        sugar_sku=_raw_material_sku(session, ItemKind.SUGAR),
    )


@dataclass(frozen=True)
class ReplanResult:
    plan_ref: str | None
    start: date
    end: date
    below_promised: int  # (product, day) rows planned below what is already promised

    def __str__(self) -> str:
        if self.plan_ref is None:
            return f"nothing to plan for {self.start}..{self.end}"
        return (
            f"published {self.plan_ref} for {self.start}..{self.end}; "
            f"{self.below_promised} rows below promised"
        )


def nightly_replan(
    session: Session,
    today: date,
    *,
    harvest_month: int = 10,
    horizon_days: int = REPLAN_HORIZON_DAYS,
    time_limit: float = REPLAN_TIME_LIMIT,
) -> ReplanResult:
    """Re-plan tomorrow .. tomorrow+horizon-1 with current demand and capacity, and publish it.

    Today is left alone: last evening's cut-off froze its batches. Publishing never lowers
    planned supply below what is promised silently: `set_planned_supply` reports every such
    row (the plan's `publish_conflicts` and a `stock.shortfall` event for the shop to tell
    the customers concerned), and it is logged here as a warning.
    """
    start = today + timedelta(days=1)
    end = start + timedelta(days=horizon_days - 1)
    if not list_recipes(session):
        return ReplanResult(None, start, end, 0)
    plan = create_plan(
        session,
        PlanRequest(start=start, end=end, time_limit=time_limit),
        harvest_month=harvest_month,
        with_baselines=False,
    )
    if not plan.lines:
        return ReplanResult(None, start, end, 0)
    publish_plan(session, plan.id)
    conflicts = list(plan.summary.get("publish_conflicts") or [])  # type: ignore[call-overload]
    if conflicts:
        log.warning(
            "nightly plan %s is below what is promised on %d rows: %s",
            plan.ref,
            len(conflicts),
            conflicts,
        )
    return ReplanResult(plan.ref, start, end, len(conflicts))


def register_planning_jobs(settings: Settings, *, jobs: JobRegistry = registry) -> None:
    """The nightly re-plan at 02:00 and the 20:00 cut-off fed by the planning area's inputs."""
    jobs.register(
        REPLAN,
        lambda ctx: _replan(ctx),
        {"trigger": "cron", "hour": 2, "minute": 0},
        # Back before 04:00 it still helps the day's planning; later the day is under way
        # and the next night's run comes soon enough.
        grace=timedelta(hours=2),
        description="re-plan the coming two weeks with current demand and capacity, publish it",
    )
    # A scheduler back by midnight still cuts off (the soak for 04:00 can still start);
    # later, the missed run is only recorded: nothing is planned behind the manager's back.
    register_cutoff_job(settings, planning_day_inputs, jobs=jobs, grace=CUTOFF_GRACE)


def _replan(ctx: JobContext) -> ReplanResult:
    return nightly_replan(
        ctx.session, local_day(ctx.scheduled_for), harvest_month=ctx.settings.harvest_month
    )
