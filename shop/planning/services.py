"""The planning console's and API's use cases and page queries.

A use case is `use_case(session, ...)`: the view runs it with `shop.runtime.run` (one
transaction) or, if it only reads, `shop.runtime.read`. Each returns what its page or response
needs: plain values, dicts, or rows with every relationship the template touches already
loaded, because the session is closed before the template renders.

Most reads here still run in a transaction (`run`): `main_profile`/`list_profiles` create the
live profile on first use, so "showing" the console can write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.db import utcnow
from inventory.models import Item, ItemKind
from inventory.rules import local_day
from inventory.runtime import Runtime
from scheduling.planning import calendar as cal
from scheduling.planning.capacity import (
    add_staff,
    copy_profile,
    delete_profile,
    extra_shift_on,
    get_profile,
    list_profiles,
    main_profile,
    profile_dict,
    remove_staff,
    set_capacity_day,
    update_profile,
)
from scheduling.planning.forecast_basis import ForecastBasis, forecast_basis
from scheduling.planning.models import (
    CapacityProfile,
    OfficialStatus,
    Plan,
    PlanRunStatus,
    StaffKind,
)
from scheduling.planning.plan_reports import (
    compare,
    plan_csv,
    plan_dict,
    plan_table,
    season_outlook,
)
from scheduling.planning.plan_runs import get_run, run_in_background, start_run
from scheduling.planning.plans import (
    PlanRequest,
    get_plan,
    list_plans,
    publish_plan,
)
from scheduling.planning.recipes import Recipe, list_recipes

# --- the season window -----------------------------------------------------------------------


def coming_festival_year(today: date) -> int:
    """The Spring Festival the console plans for: this year's until 15 days after it."""
    return (
        today.year
        if today <= cal.spring_festival(today.year) + timedelta(days=15)
        else today.year + 1
    )


def default_window(year: int) -> tuple[date, date]:
    """The season a year's console shows: a week before Laba to the Lantern Festival."""
    markers = cal.lunar_markers(year)
    return markers["laba"] - timedelta(days=7), markers["yuanxiao"]


# --- loading rows for a closed session --------------------------------------------------------


def _load_plan(plan: Plan) -> Plan:
    """Load what plan pages and charts read (profile, days, lines) while the session is open."""
    _ = plan.profile.name, list(plan.days), list(plan.lines)
    return plan


def _load_profile(profile: CapacityProfile) -> CapacityProfile:
    _ = list(profile.staff), list(profile.days)
    return profile


# --- plans ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Overview:
    outlook: list[dict[str, Any]]
    warnings: list[str]
    plans: list[Plan]
    profiles: list[CapacityProfile]
    basis: ForecastBasis  # which history the outlook's forecast stands on


def overview(session: Session, start: date, end: date, *, harvest_month: int) -> Overview:
    """Demand against the live profile's capacity, the recent plans and every profile."""
    profile = main_profile(session)
    outlook, warnings = season_outlook(
        session,
        PlanRequest(start=start, end=end, profile_id=profile.id, limit_materials=False),
        harvest_month=harvest_month,
    )
    plans = [_load_plan(p) for p in list_plans(session)]
    basis = forecast_basis(session, start, end)
    return Overview(outlook, warnings, plans, list_profiles(session), basis)


# --- plans made in the background (scheduling.planning.plan_runs) ---------------------------


@dataclass(frozen=True)
class RunStart:
    run_id: int
    created: bool  # False: another manager's run for the same dates was under way


def start_plan_run(
    session: Session,
    request: PlanRequest,
    profile_ids: Sequence[int],
    *,
    compare: bool = False,
    requested_by: int | None = None,
) -> RunStart:
    """Queue a plan per profile (a comparison without baselines when `compare`); the view
    launches it after this transaction commits, so the thread always finds the row."""
    started = start_run(
        session,
        request,
        profile_ids,
        with_baselines=not compare,
        compare=compare,
        requested_by=requested_by,
    )
    return RunStart(started.run.id, started.created)


def launch_plan_run(runtime: Runtime, run_id: int) -> None:
    """Solve the queued run in a thread of this process (it claims the row first)."""
    run_in_background(runtime.sessions, run_id, harvest_month=runtime.settings.harvest_month)


@dataclass(frozen=True)
class RunView:
    """A plan run as the progress page and the API show it: plain values."""

    id: int
    status: str
    start: date
    end: date
    stage: str
    fraction: float
    profile_index: int
    profile_count: int
    gap: float | None
    best_value: float | None
    elapsed_seconds: float
    time_limit: float
    compare: bool
    plan_ids: list[int]
    error_key: str | None
    error_params: dict[str, Any]
    error: str
    comparison: list[dict[str, Any]] | None

    @property
    def finished(self) -> bool:
        return self.status in {PlanRunStatus.DONE.value, PlanRunStatus.FAILED.value}


def plan_run_view(session: Session, run_id: int) -> RunView:
    """The run (declared lost first if its heartbeat stopped) with its comparison when done."""
    run = get_run(session, run_id)
    began = run.started_at or run.created_at
    elapsed = ((run.finished_at or utcnow()) - began).total_seconds()
    compare_rows = None
    if run.status is PlanRunStatus.DONE and run.request.get("compare"):
        compare_rows = compare([get_plan(session, i) for i in run.plan_ids])
    return RunView(
        id=run.id,
        status=run.status.value,
        start=run.start,
        end=run.end,
        stage=run.stage,
        fraction=run.fraction,
        profile_index=run.profile_index,
        profile_count=run.profile_count,
        gap=run.gap,
        best_value=run.best_value,
        elapsed_seconds=round(max(0.0, elapsed), 1),
        time_limit=float(run.request.get("time_limit", 0.0)),  # type: ignore[arg-type]
        compare=bool(run.request.get("compare")),
        plan_ids=[int(i) for i in run.plan_ids],
        error_key=run.error_key,
        error_params=dict(run.error_params),
        error=run.error,
        comparison=compare_rows,
    )


@dataclass(frozen=True)
class PlanPage:
    plan: Plan
    products: list[str]
    rows: list[dict[str, Any]]
    basis: ForecastBasis  # the history on record now for the plan's window


def plan_page(session: Session, plan_id: int) -> PlanPage:
    plan = _load_plan(get_plan(session, plan_id))
    products, rows = plan_table(session, plan)
    return PlanPage(plan, products, rows, forecast_basis(session, plan.start, plan.end))


def plan_csv_export(session: Session, plan_id: int) -> tuple[str, str]:
    """The plan's ref (the file name) and its CSV text."""
    plan = get_plan(session, plan_id)
    return plan.ref, plan_csv(session, plan)


def publish(session: Session, plan_id: int) -> list[Any]:
    """Publish the plan; the planned-supply rows already promised beyond it (conflicts)."""
    plan = publish_plan(session, plan_id)
    conflicts: list[Any] = list(plan.summary.get("publish_conflicts") or [])  # type: ignore[call-overload]
    return conflicts


def plans_compared(session: Session, ids: Sequence[int]) -> tuple[list[Plan], list[dict[str, Any]]]:
    plans = [_load_plan(get_plan(session, i)) for i in ids]
    return plans, compare(plans)


def plan_document(session: Session, plan_id: int) -> dict[str, Any]:
    return plan_dict(session, get_plan(session, plan_id))


def publish_plan_document(session: Session, plan_id: int) -> dict[str, Any]:
    return plan_dict(session, publish_plan(session, plan_id))


# --- capacity, scenarios, calendar ------------------------------------------------------------


@dataclass(frozen=True)
class CapacityPage:
    profiles: list[CapacityProfile]
    profile: CapacityProfile
    recipes: dict[str, Recipe]
    products: list[Item]
    calendar: list[cal.CalendarDay]
    warnings: list[str]


def capacity_page(session: Session, profile_id: int | None, year: int) -> CapacityPage:
    """One profile (the live one by default) with the season's special days and recipes."""
    profiles = list_profiles(session)
    profile = _load_profile(
        get_profile(session, profile_id) if profile_id else main_profile(session)
    )
    recipes = list_recipes(session)
    products = list(
        session.scalars(select(Item).where(Item.kind == ItemKind.PRODUCT).order_by(Item.sku))
    )
    start, end = default_window(year)
    days = cal.calendar_days(session, start, end)
    # A day the manager closed outside the festival window is listed too (issue 10): what was
    # saved must be visible where it was saved.
    today = local_day(utcnow())
    ahead = cal.calendar_days(session, today, today + timedelta(days=cal.EDITABLE_DAYS_AHEAD))
    shown = {d.day for d in days}
    days = sorted(
        [*days, *(d for d in ahead if d.source == "manager" and d.day not in shown)],
        key=lambda d: d.day,
    )
    return CapacityPage(
        profiles=profiles,
        profile=profile,
        recipes=recipes,
        products=products,
        calendar=[
            d
            for d in days
            if d.official is not OfficialStatus.NORMAL or not d.production or d.source == "manager"
        ],
        warnings=cal.missing_arrangement_warnings(session, start, end),
    )


def update_capacity(session: Session, profile_id: int, changes: dict[str, Any]) -> None:
    update_profile(session, get_profile(session, profile_id), changes)


def add_staff_member(
    session: Session,
    profile_id: int,
    *,
    name: str,
    kind: StaffKind,
    skills: list[str] | None,
    productivity_pct: int | None,
    weekdays: list[int] | None,
) -> None:
    add_staff(
        session,
        get_profile(session, profile_id),
        name=name,
        kind=kind,
        skills=skills,
        productivity_pct=productivity_pct,
        weekdays=weekdays,
    )


def remove_staff_member(session: Session, profile_id: int, staff_id: int) -> None:
    remove_staff(session, get_profile(session, profile_id), staff_id)


def override_day(
    session: Session,
    profile_id: int,
    day: date,
    *,
    mills: int | None,
    mill_hours: float | None,
    cabinets: int | None,
    shift_hours: float | None,
    extra_shift: bool,
    extra_staff: dict[str, int],
) -> None:
    set_capacity_day(
        session,
        get_profile(session, profile_id),
        day,
        mills=mills,
        mill_hours=mill_hours,
        cabinets=cabinets,
        shift_hours=shift_hours,
        extra_shift=extra_shift,
        extra_staff=extra_staff,
    )


def apply_capacity(
    session: Session, profile_id: int | None, body: dict[str, Any]
) -> dict[str, Any]:
    """The API's capacity update: defaults, per-day overrides and new staff in one go."""
    profile = get_profile(session, profile_id) if profile_id else main_profile(session)
    simple = {k: v for k, v in body.items() if k not in {"days", "add_staff"}}
    update_profile(session, profile, simple)
    for d in body.get("days", []):
        day = d.pop("day")
        set_capacity_day(session, profile, day, **d)
    for m in body.get("add_staff", []):
        add_staff(
            session,
            profile,
            name=m["name"],
            kind=StaffKind(m["kind"]),
            skills=m["skills"],
            productivity_pct=m["productivity_pct"],
            weekdays=m["weekdays"],
        )
    session.refresh(profile)
    return profile_dict(profile)


def profile_document(session: Session, profile_id: int | None) -> dict[str, Any]:
    """One profile as the API shows it (the live one if no id)."""
    profile = get_profile(session, profile_id) if profile_id else main_profile(session)
    return profile_dict(profile)


def profile_documents(session: Session) -> list[dict[str, Any]]:
    return [profile_dict(p) for p in list_profiles(session)]


@dataclass(frozen=True)
class ScenarioRequest:
    """A what-if copy of a profile (default: the live one) with the usual quick changes: more
    mills, an extra shift on the last days before New Year's Eve, more apprentices."""

    name: str
    source_id: int | None = None
    note: str = ""
    add_mills: int = 0
    extra_shift_days: int = 0
    add_apprentices: int = 0
    festival_year: int = 0  # whose New Year's Eve the extra shifts end on
    apprentice_label: str = "apprentice"


def create_scenario(session: Session, request: ScenarioRequest) -> CapacityProfile:
    source = get_profile(session, request.source_id) if request.source_id else main_profile(session)
    scenario = copy_profile(session, source, request.name, note=request.note)
    if request.add_mills:
        update_profile(session, scenario, {"mills": scenario.mills + request.add_mills})
    if request.extra_shift_days:
        eve = cal.lunar_markers(request.festival_year)["chuxi"]
        extra_shift_on(
            session, scenario, [eve - timedelta(days=k) for k in range(request.extra_shift_days)]
        )
    for k in range(request.add_apprentices):
        add_staff(
            session,
            scenario,
            name=f"{request.apprentice_label}+{k + 1}",
            kind=StaffKind.APPRENTICE,
        )
    return scenario


def create_scenario_document(session: Session, request: ScenarioRequest) -> dict[str, Any]:
    created = create_scenario(session, request)
    session.refresh(created)
    return profile_dict(created)


def create_scenario_id(session: Session, request: ScenarioRequest) -> int:
    return create_scenario(session, request).id


def drop_scenario(session: Session, profile_id: int) -> None:
    delete_profile(session, get_profile(session, profile_id))


def season_calendar(
    session: Session, start: date, end: date
) -> tuple[list[cal.CalendarDay], list[str]]:
    """Every day in [start, end] with its status, and the missing-arrangement warnings."""
    return cal.calendar_days(session, start, end), cal.missing_arrangement_warnings(
        session, start, end
    )
