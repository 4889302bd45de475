"""Manager console pages for the season plan: chart, plan table, scenarios side by side,
capacity and calendar forms, CSV export. Every page needs a manager; every form carries the
CSRF token (checked globally by shop.csrf). The work is done by `shop.planning.services`."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from inventory.db import utcnow
from inventory.errors import DomainError
from inventory.rules import local_day
from scheduling.planning import calendar as cal
from scheduling.planning.capacity import PROFILE_FIELDS
from scheduling.planning.models import OfficialStatus, Plan, StaffKind
from scheduling.planning.recipes import STEPS, set_recipe
from shop.auth import current_user, require_role
from shop.i18n import current_language, translate
from shop.models import Role
from shop.planning import progress, services
from shop.planning.chart import ChartDay, season_svg
from shop.planning.forms import (
    form_date,
    form_float,
    form_int,
    plan_request,
    required_date,
    required_int,
)
from shop.planning.services import coming_festival_year, default_window
from shop.runtime import current_runtime, read, run

bp = Blueprint("plan", __name__, url_prefix="/manager/plan")

_manager = require_role(Role.MANAGER)


def _harvest_month() -> int:
    return current_runtime().settings.harvest_month


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


@bp.get("/")
@_manager
def overview() -> ResponseReturnValue:
    year = request.args.get("year", type=int) or coming_festival_year(date.today())
    start, end = default_window(year)
    start = form_date("start", start)
    end = form_date("end", end)
    page = run(services.overview, start, end, harvest_month=_harvest_month())
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
            for o in page.outlook
        ],
        start,
        end,
    )
    return render_template(
        "plan/overview.html",
        year=year,
        start=start,
        end=end,
        chart=chart,
        plans=page.plans,
        profiles=page.profiles,
        basis=page.basis,
        warnings=page.warnings,
        markers=cal.lunar_markers(year),
        marker_names=cal.MARKER_NAMES,
        marker_keys=cal.MARKER_KEYS,
        plan_time_limit=current_runtime().settings.plan_time_limit_seconds,
    )


@bp.post("/plans")
@_manager
def make_plan() -> ResponseReturnValue:
    """Queue the plan and show its progress page at once: the solve (up to the time budget)
    runs in the background instead of freezing this request."""
    start = form_date("start", date.today())
    end = form_date("end", start + timedelta(days=30))
    profile_ids = [int(p) for p in request.form.getlist("profile_id") if p.isdigit()]
    user = current_user()
    started = run(
        services.start_plan_run,
        plan_request(
            start, end, None, budget=float(current_runtime().settings.plan_time_limit_seconds)
        ),
        profile_ids,
        requested_by=user.id if user else None,
    )
    if started.created:
        services.launch_plan_run(current_runtime(), started.run_id)
    else:
        flash(translate("plan.run.already"), "warning")
    return redirect(url_for("plan.show_run", run_id=started.run_id), 303)


@bp.get("/runs/<int:run_id>")
@_manager
def show_run(run_id: int) -> ResponseReturnValue:
    """The progress of a plan being made; the finished plan itself once it is there."""
    view = run(services.plan_run_view, run_id)
    document = progress.run_document(view)
    if document["next_url"]:
        return redirect(document["next_url"], 303)
    return render_template("plan/run.html", run=document, failed=view.status == "failed")


@bp.get("/plans/<int:plan_id>")
@_manager
def show_plan(plan_id: int) -> ResponseReturnValue:
    page = read(services.plan_page, plan_id)
    return render_template(
        "plan/plan.html",
        plan=page.plan,
        products=page.products,
        rows=page.rows,
        chart=_plan_chart(page.plan),
        basis=page.basis,
        resources=sorted({k for r in page.rows for k in r["utilisation"]}),
    )


@bp.get("/plans/<int:plan_id>.csv")
@_manager
def plan_csv_view(plan_id: int) -> ResponseReturnValue:
    name, body = read(services.plan_csv_export, plan_id)
    return Response(
        "\ufeff" + body,  # a BOM so Excel opens the Chinese headers as UTF-8
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@bp.post("/plans/<int:plan_id>/publish")
@_manager
def publish(plan_id: int) -> ResponseReturnValue:
    conflicts = run(services.publish, plan_id)
    flash(translate("plan.flash.published"), "ok")
    if conflicts:
        flash(translate("plan.flash.conflicts", count=len(conflicts)), "warning")
    return redirect(url_for("plan.show_plan", plan_id=plan_id))


@bp.get("/compare")
@_manager
def compare_plans() -> ResponseReturnValue:
    ids = [int(i) for i in request.args.get("ids", "").split(",") if i.strip().isdigit()]
    plans, rows = read(services.plans_compared, ids)
    charts = [_plan_chart(p) for p in plans]
    resources = sorted({k for r in rows for k in r["peak_utilisation"]})
    return render_template(
        "plan/compare.html", rows=rows, charts=charts, plans=plans, resources=resources
    )


# --- capacity, scenarios, recipes, calendar ------------------------------------------------


@bp.get("/capacity")
@_manager
def capacity() -> ResponseReturnValue:
    year = coming_festival_year(date.today())
    markers = cal.lunar_markers(year)
    page = run(services.capacity_page, request.args.get("profile", type=int), year)
    return render_template(
        "plan/capacity.html",
        profiles=page.profiles,
        profile=page.profile,
        markers=markers,
        eve=markers["chuxi"],
        recipes=page.recipes,
        products=page.products,
        steps=STEPS,
        calendar=page.calendar,
        year=year,
        warnings=page.warnings,
    )


@bp.post("/capacity/<int:profile_id>")
@_manager
def save_capacity(profile_id: int) -> ResponseReturnValue:
    changes: dict[str, Any] = {
        k: request.form[k] for k in PROFILE_FIELDS if request.form.get(k, "").strip()
    }
    for k, v in changes.items():
        try:
            changes[k] = PROFILE_FIELDS[k](v)
        except ValueError as exc:
            raise DomainError(f"{k} must be a number", field=k) from exc
    run(services.update_capacity, profile_id, changes)
    flash(translate("plan.flash.saved"), "ok")
    return redirect(url_for("plan.capacity", profile=profile_id))


@bp.post("/capacity/<int:profile_id>/staff")
@_manager
def staff_add(profile_id: int) -> ResponseReturnValue:
    kind = (
        StaffKind(request.form.get("kind", "core"))
        if request.form.get("kind") in {"core", "apprentice"}
        else StaffKind.CORE
    )
    run(
        services.add_staff_member,
        profile_id,
        name=request.form.get("name", ""),
        kind=kind,
        skills=request.form.getlist("skills") or None,
        productivity_pct=form_int("productivity_pct"),
        weekdays=[int(d) for d in request.form.getlist("weekdays") if d.isdigit()] or None,
    )
    flash(translate("plan.flash.saved"), "ok")
    return redirect(url_for("plan.capacity", profile=profile_id))


@bp.post("/capacity/<int:profile_id>/staff/<int:staff_id>/delete")
@_manager
def staff_remove(profile_id: int, staff_id: int) -> ResponseReturnValue:
    run(services.remove_staff_member, profile_id, staff_id)
    return redirect(url_for("plan.capacity", profile=profile_id))


@bp.post("/capacity/<int:profile_id>/days")
@_manager
def day_override(profile_id: int) -> ResponseReturnValue:
    day = required_date("day")
    cal.check_editable_day(day, local_day(utcnow()))
    extra: dict[str, int] = {}
    for kind in ("core", "apprentice"):
        n = form_int(f"extra_{kind}", 0) or 0
        if n:
            extra[kind] = n
    run(
        services.override_day,
        profile_id,
        day,
        mills=form_int("mills"),
        mill_hours=form_float("mill_hours"),
        cabinets=form_int("cabinets"),
        shift_hours=form_float("shift_hours"),
        extra_shift=request.form.get("extra_shift") == "on",
        extra_staff=extra,
    )
    flash(translate("plan.flash.saved"), "ok")
    return redirect(url_for("plan.capacity", profile=profile_id))


@bp.post("/scenarios")
@_manager
def new_scenario() -> ResponseReturnValue:
    """Copy a profile into a what-if scenario, with the usual quick changes applied."""
    scenario_id = run(
        services.create_scenario_id,
        services.ScenarioRequest(
            source_id=form_int("source_id"),
            name=request.form.get("name", ""),
            note=request.form.get("note", ""),
            add_mills=form_int("add_mills", 0) or 0,
            extra_shift_days=form_int("extra_shift_days", 0) or 0,
            add_apprentices=form_int("add_apprentices", 0) or 0,
            festival_year=coming_festival_year(date.today()),
            apprentice_label=translate("plan.staff.apprentice"),
        ),
    )
    flash(translate("plan.flash.scenario"), "ok")
    return redirect(url_for("plan.capacity", profile=scenario_id))


@bp.post("/scenarios/<int:profile_id>/delete")
@_manager
def drop_scenario(profile_id: int) -> ResponseReturnValue:
    run(services.drop_scenario, profile_id)
    return redirect(url_for("plan.capacity"))


@bp.post("/recipes")
@_manager
def save_recipe() -> ResponseReturnValue:
    labour = {step: form_float(f"labour_{step}", 0.0) or 0.0 for step in STEPS}
    run(
        set_recipe,
        request.form.get("sku", ""),
        rice_g=form_int("rice_g", 0) or 0,
        sugar_g=form_int("sugar_g", 0) or 0,
        # No default: a blank or 0 is refused by set_recipe, never quietly saved as 1.
        units_per_tray=required_int("units_per_tray"),
        loss_fraction=(form_float("loss_pct", 0.0) or 0.0) / 100,
        labour_minutes=labour,
    )
    flash(
        translate(
            "plan.flash.recipe_saved",
            sku=request.form.get("sku", ""),
            units=required_int("units_per_tray"),
        ),
        "ok",
    )
    return redirect(url_for("plan.capacity"))


@bp.post("/calendar")
@_manager
def calendar_entry() -> ResponseReturnValue:
    day = required_date("day")
    cal.check_editable_day(day, local_day(utcnow()))
    official_raw = request.form.get("official", "")
    official = (
        OfficialStatus(official_raw) if official_raw in {o.value for o in OfficialStatus} else None
    )
    production_raw = request.form.get("production", "")
    production = {"open": True, "closed": False}.get(production_raw)
    saved = run(
        cal.save_calendar_entry,
        day,
        official=official,
        production=production,
        name=request.form.get("name", ""),
    )
    if saved is None:
        flash(translate("plan.flash.calendar_nothing", day=day.isoformat()), "error")
        return redirect(url_for("plan.capacity"))
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
@_manager
def calendar_year() -> ResponseReturnValue:
    year = form_int("year")
    if year is None:
        raise DomainError("year is required", key="msg.form.year_required", field="year")
    run(cal.set_arrangement_entered, year, True)
    flash(translate("plan.flash.saved"), "ok")
    return redirect(url_for("plan.capacity"))
