"""Manager console pages for the season plan: chart, plan table, scenarios side by side,
capacity and calendar forms, CSV export. Every page needs a manager; every form carries the
CSRF token (checked globally by shop.csrf)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

from flask import (
    Blueprint,
    Flask,
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask.typing import ResponseReturnValue
from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.db import transaction, utcnow
from inventory.errors import DomainError
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
    remove_staff,
    set_capacity_day,
    update_profile,
)
from scheduling.planning.jobs import register_planning_jobs
from scheduling.planning.models import OfficialStatus, Plan, StaffKind
from scheduling.planning.plans import (
    PlanRequest,
    compare,
    create_plan,
    get_plan,
    list_plans,
    plan_csv,
    plan_table,
    publish_plan,
    season_outlook,
)
from scheduling.planning.recipes import STEPS, list_recipes, set_recipe
from shop.i18n import current_language, translate
from shop.models import Role
from shop.nav import add_nav
from shop.planning.chart import ChartDay, season_svg

bp = Blueprint("plan", __name__, url_prefix="/manager/plan")


def _runtime() -> Runtime:
    from shop.runtime import get_runtime

    return get_runtime(current_app)


@contextmanager
def _tx() -> Iterator[Session]:
    with transaction(_runtime().sessions) as session:
        yield session


def coming_festival_year(today: date) -> int:
    return (
        today.year
        if today <= cal.spring_festival(today.year) + timedelta(days=15)
        else today.year + 1
    )


def default_window(year: int) -> tuple[date, date]:
    markers = cal.lunar_markers(year)
    return markers["laba"] - timedelta(days=7), markers["yuanxiao"]


def _markers(start: date, end: date) -> dict[str, tuple[date, str]]:
    out: dict[str, tuple[date, str]] = {}
    for year in {start.year, end.year, end.year + 1}:
        for key, day in cal.lunar_markers(year).items():
            if start <= day <= end:
                zh, en = cal.MARKER_NAMES[key]
                out[f"{key}-{year}"] = (day, zh if current_language() == "zh" else en)
    return out


def _chart(days: list[ChartDay], start: date, end: date) -> str:
    labels = {
        k: translate(f"plan.chart.{k}") for k in ("demand", "unmet", "made", "capacity", "served")
    }
    return season_svg(
        days, _markers(start, end), labels=labels, title=translate("plan.chart.title")
    )


def _form_date(name: str, default: date) -> date:
    raw = request.form.get(name) or request.args.get(name)
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise DomainError(
            f"{name} must be a date (YYYY-MM-DD)", key="msg.form.date", field=name
        ) from exc


def _form_int(name: str, default: int | None = None) -> int | None:
    raw = (request.form.get(name) or "").strip()
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise DomainError(
            f"{name} must be a whole number", key="msg.form.whole", field=name
        ) from exc


def _form_float(name: str, default: float | None = None) -> float | None:
    raw = (request.form.get(name) or "").strip()
    if raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise DomainError(f"{name} must be a number", key="msg.form.number", field=name) from exc


def _plan_request(start: date, end: date, profile_id: int | None) -> PlanRequest:
    return PlanRequest(
        start=start,
        end=end,
        profile_id=profile_id,
        growth_pct=_form_int("growth_pct", 100) or 100,
        limit_materials=request.form.get("limit_materials") == "on",
        time_limit=min(120.0, _form_float("time_limit", 20.0) or 20.0),
    )


def _require_manager(view: Any) -> Any:
    from shop.auth import require_role

    return require_role(Role.MANAGER)(view)


@bp.get("/")
@_require_manager
def overview() -> ResponseReturnValue:
    year = request.args.get("year", type=int) or coming_festival_year(date.today())
    start, end = default_window(year)
    start = _form_date("start", start)
    end = _form_date("end", end)
    with _tx() as s:
        profile = main_profile(s)
        outlook, warnings = season_outlook(
            s,
            PlanRequest(start=start, end=end, profile_id=profile.id, limit_materials=False),
            harvest_month=_runtime().settings.harvest_month,
        )
        chart = _chart(
            [
                # Before any plan the gap is what demand asks beyond the day's capacity: "缺口 0"
                # under a demand three times the capacity told the manager nothing (issue 10).
                ChartDay(
                    o["day"],
                    o["demand"],
                    o["capacity"],
                    unmet=max(0, o["demand"] - (o["capacity"] if o["production"] else 0)),
                    production=o["production"],
                )
                for o in outlook
            ],
            start,
            end,
        )
        plans = list_plans(s)
        profiles = list_profiles(s)
        markers = cal.lunar_markers(year)
        return render_template(
            "plan/overview.html",
            year=year,
            start=start,
            end=end,
            chart=chart,
            plans=plans,
            profiles=profiles,
            warnings=warnings,
            markers=markers,
            marker_names=cal.MARKER_NAMES,
            marker_keys=cal.MARKER_KEYS,
        )


@bp.post("/plans")
@_require_manager
def make_plan() -> ResponseReturnValue:
    start = _form_date("start", date.today())
    end = _form_date("end", start + timedelta(days=30))
    profile_ids = [int(p) for p in request.form.getlist("profile_id") if p.isdigit()]
    with _tx() as s:
        if not profile_ids:
            profile_ids = [main_profile(s).id]
        made = [
            create_plan(
                s, _plan_request(start, end, pid), harvest_month=_runtime().settings.harvest_month
            ).id
            for pid in profile_ids
        ]
    if len(made) == 1:
        return redirect(url_for("plan.show_plan", plan_id=made[0]))
    return redirect(url_for("plan.compare_plans", ids=",".join(map(str, made))))


def _plan_chart(plan: Plan) -> str:
    made_by_day: dict[date, int] = {}
    for line in plan.lines:
        made_by_day[line.day] = made_by_day.get(line.day, 0) + line.quantity
    days = [
        ChartDay(
            d.day, d.demand, d.capacity_units, made_by_day.get(d.day, 0), d.unmet, d.production
        )
        for d in plan.days
    ]
    return _chart(days, plan.start, plan.end)


@bp.get("/plans/<int:plan_id>")
@_require_manager
def show_plan(plan_id: int) -> ResponseReturnValue:
    with _tx() as s:
        plan = get_plan(s, plan_id)
        products, rows = plan_table(s, plan)
        return render_template(
            "plan/plan.html",
            plan=plan,
            products=products,
            rows=rows,
            chart=_plan_chart(plan),
            resources=sorted({k for r in rows for k in r["utilisation"]}),
        )


@bp.get("/plans/<int:plan_id>.csv")
@_require_manager
def plan_csv_view(plan_id: int) -> ResponseReturnValue:
    with _tx() as s:
        plan = get_plan(s, plan_id)
        body = plan_csv(s, plan)
        name = plan.ref
    return Response(
        "\ufeff" + body,  # a BOM so Excel opens the Chinese headers as UTF-8
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@bp.post("/plans/<int:plan_id>/publish")
@_require_manager
def publish(plan_id: int) -> ResponseReturnValue:
    with _tx() as s:
        plan = publish_plan(s, plan_id)
        conflicts = list(plan.summary.get("publish_conflicts") or [])  # type: ignore[call-overload]
    flash(translate("plan.flash.published"), "ok")
    if conflicts:
        flash(translate("plan.flash.conflicts", count=len(conflicts)), "warning")
    return redirect(url_for("plan.show_plan", plan_id=plan_id))


@bp.get("/compare")
@_require_manager
def compare_plans() -> ResponseReturnValue:
    ids = [int(i) for i in request.args.get("ids", "").split(",") if i.strip().isdigit()]
    with _tx() as s:
        plans = [get_plan(s, i) for i in ids]
        rows = compare(plans)
        charts = [_plan_chart(p) for p in plans]
        resources = sorted({k for r in rows for k in r["peak_utilisation"]})
        return render_template(
            "plan/compare.html", rows=rows, charts=charts, plans=plans, resources=resources
        )


# --- capacity, scenarios, recipes, calendar ------------------------------------------------


@bp.get("/capacity")
@_require_manager
def capacity() -> ResponseReturnValue:
    with _tx() as s:
        profiles = list_profiles(s)
        chosen = request.args.get("profile", type=int)
        profile = get_profile(s, chosen) if chosen else main_profile(s)
        year = coming_festival_year(date.today())
        markers = cal.lunar_markers(year)
        recipes = list_recipes(s)
        from inventory.models import Item, ItemKind

        products = list(
            s.scalars(select(Item).where(Item.kind == ItemKind.PRODUCT).order_by(Item.sku))
        )
        start, end = default_window(year)
        days = cal.calendar_days(s, start, end)
        # A day the manager closed outside the festival window is listed too (issue 10): what
        # was saved must be visible where it was saved.
        today = local_day(utcnow())
        ahead = cal.calendar_days(s, today, today + timedelta(days=cal.EDITABLE_DAYS_AHEAD))
        shown = {d.day for d in days}
        days = sorted(
            [*days, *(d for d in ahead if d.source == "manager" and d.day not in shown)],
            key=lambda d: d.day,
        )
        return render_template(
            "plan/capacity.html",
            profiles=profiles,
            profile=profile,
            markers=markers,
            eve=markers["chuxi"],
            recipes=recipes,
            products=products,
            steps=STEPS,
            calendar=[
                d
                for d in days
                if d.official is not OfficialStatus.NORMAL
                or not d.production
                or d.source == "manager"
            ],
            year=year,
            warnings=cal.missing_arrangement_warnings(s, start, end),
        )


@bp.post("/capacity/<int:profile_id>")
@_require_manager
def save_capacity(profile_id: int) -> ResponseReturnValue:
    from scheduling.planning.capacity import PROFILE_FIELDS

    changes: dict[str, Any] = {
        k: request.form[k] for k in PROFILE_FIELDS if request.form.get(k, "").strip()
    }
    for k, v in changes.items():
        try:
            changes[k] = PROFILE_FIELDS[k](v)
        except ValueError as exc:
            raise DomainError(f"{k} must be a number", key="msg.form.number", field=k) from exc
    with _tx() as s:
        update_profile(s, get_profile(s, profile_id), changes)
    flash(translate("plan.flash.saved"), "ok")
    return redirect(url_for("plan.capacity", profile=profile_id))


@bp.post("/capacity/<int:profile_id>/staff")
@_require_manager
def staff_add(profile_id: int) -> ResponseReturnValue:
    kind = (
        StaffKind(request.form.get("kind", "core"))
        if request.form.get("kind") in {"core", "apprentice"}
        else StaffKind.CORE
    )
    with _tx() as s:
        add_staff(
            s,
            get_profile(s, profile_id),
            name=request.form.get("name", ""),
            kind=kind,
            skills=request.form.getlist("skills") or None,
            productivity_pct=_form_int("productivity_pct"),
            weekdays=[int(d) for d in request.form.getlist("weekdays") if d.isdigit()] or None,
        )
    flash(translate("plan.flash.saved"), "ok")
    return redirect(url_for("plan.capacity", profile=profile_id))


@bp.post("/capacity/<int:profile_id>/staff/<int:staff_id>/delete")
@_require_manager
def staff_remove(profile_id: int, staff_id: int) -> ResponseReturnValue:
    with _tx() as s:
        remove_staff(s, get_profile(s, profile_id), staff_id)
    return redirect(url_for("plan.capacity", profile=profile_id))


@bp.post("/capacity/<int:profile_id>/days")
@_require_manager
def day_override(profile_id: int) -> ResponseReturnValue:
    if not (request.form.get("day") or "").strip():
        raise DomainError("choose a day", key="msg.form.required", field="day")
    day = _form_date("day", date.today())
    cal.check_editable_day(day, local_day(utcnow()))
    extra: dict[str, int] = {}
    for kind in ("core", "apprentice"):
        n = _form_int(f"extra_{kind}", 0) or 0
        if n:
            extra[kind] = n
    with _tx() as s:
        set_capacity_day(
            s,
            get_profile(s, profile_id),
            day,
            mills=_form_int("mills"),
            mill_hours=_form_float("mill_hours"),
            cabinets=_form_int("cabinets"),
            shift_hours=_form_float("shift_hours"),
            extra_shift=request.form.get("extra_shift") == "on",
            extra_staff=extra,
        )
    flash(translate("plan.flash.saved"), "ok")
    return redirect(url_for("plan.capacity", profile=profile_id))


@bp.post("/scenarios")
@_require_manager
def new_scenario() -> ResponseReturnValue:
    """Copy a profile into a what-if scenario, with the usual quick changes applied."""
    source_id = _form_int("source_id")
    with _tx() as s:
        source = get_profile(s, source_id) if source_id else main_profile(s)
        scenario = copy_profile(
            s, source, request.form.get("name", ""), note=request.form.get("note", "")
        )
        more_mills = _form_int("add_mills", 0) or 0
        if more_mills:
            update_profile(s, scenario, {"mills": scenario.mills + more_mills})
        shift_days = _form_int("extra_shift_days", 0) or 0
        if shift_days:
            eve = cal.lunar_markers(coming_festival_year(date.today()))["chuxi"]
            extra_shift_on(s, scenario, [eve - timedelta(days=k) for k in range(shift_days)])
        apprentices = _form_int("add_apprentices", 0) or 0
        for k in range(apprentices):
            add_staff(
                s,
                scenario,
                name=f"{translate('plan.staff.apprentice')}+{k + 1}",
                kind=StaffKind.APPRENTICE,
            )
        scenario_id = scenario.id
    flash(translate("plan.flash.scenario"), "ok")
    return redirect(url_for("plan.capacity", profile=scenario_id))


@bp.post("/scenarios/<int:profile_id>/delete")
@_require_manager
def drop_scenario(profile_id: int) -> ResponseReturnValue:
    with _tx() as s:
        delete_profile(s, get_profile(s, profile_id))
    return redirect(url_for("plan.capacity"))


@bp.post("/recipes")
@_require_manager
def save_recipe() -> ResponseReturnValue:
    labour = {step: _form_float(f"labour_{step}", 0.0) or 0.0 for step in STEPS}
    with _tx() as s:
        set_recipe(
            s,
            request.form.get("sku", ""),
            rice_g=_form_int("rice_g", 0) or 0,
            sugar_g=_form_int("sugar_g", 0) or 0,
            # No default: a blank or 0 is refused by set_recipe, never quietly saved as 1.
            units_per_tray=_required_int("units_per_tray"),
            loss_fraction=(_form_float("loss_pct", 0.0) or 0.0) / 100,
            labour_minutes=labour,
        )
    flash(
        translate(
            "plan.flash.recipe_saved",
            sku=request.form.get("sku", ""),
            units=_required_int("units_per_tray"),
        ),
        "ok",
    )
    return redirect(url_for("plan.capacity"))


def _required_int(name: str) -> int:
    value = _form_int(name)
    if value is None:
        raise DomainError(f"{name} is required", key="msg.form.required", field=name)
    return value


@bp.post("/calendar")
@_require_manager
def calendar_entry() -> ResponseReturnValue:
    if not (request.form.get("day") or "").strip():
        raise DomainError("choose a day", key="msg.form.required", field="day")
    day = _form_date("day", date.today())
    cal.check_editable_day(day, local_day(utcnow()))
    official_raw = request.form.get("official", "")
    official = (
        OfficialStatus(official_raw) if official_raw in {o.value for o in OfficialStatus} else None
    )
    production_raw = request.form.get("production", "")
    production = {"open": True, "closed": False}.get(production_raw)
    with _tx() as s:
        had = cal.calendar_entry_of(s, day) is not None
        if official is None and production is None and not had:
            # An empty form changes nothing: say so instead of "saved" (issue 10).
            flash(translate("plan.flash.calendar_nothing", day=day.isoformat()), "error")
            return redirect(url_for("plan.capacity"))
        cal.set_calendar_entry(
            s, day, official=official, production=production, name=request.form.get("name", "")
        )
        saved = cal.calendar_days(s, day, day)[0]
    flash(
        translate(
            "plan.flash.calendar_saved",
            day=day.isoformat(),
            production=translate("plan.cal.open" if saved.production else "plan.cal.closed"),
            source=translate(f"plan.cal.src.{saved.source}"),
        ),
        "ok",
    )
    return redirect(url_for("plan.capacity"))


@bp.post("/calendar/year")
@_require_manager
def calendar_year() -> ResponseReturnValue:
    year = _form_int("year")
    if year is None:
        raise DomainError("year is required", key="msg.form.year_required", field="year")
    with _tx() as s:
        cal.set_arrangement_entered(s, year, True)
    flash(translate("plan.flash.saved"), "ok")
    return redirect(url_for("plan.capacity"))


def init_app(app: Flask, runtime: Runtime) -> None:
    from shop.planning import api

    app.register_blueprint(bp)
    api.init_app(app)
    add_nav(app, "plan.nav", "/manager/plan/", 80, roles=[Role.MANAGER])
    register_planning_jobs(runtime.settings)
