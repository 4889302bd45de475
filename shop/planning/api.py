"""JSON API for season planning under /api/v1/planning (managers only), in the shared OpenAPI
document: capacity, calendar, plans, publishing and scenarios."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Flask, url_for
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from inventory.errors import DomainError
from scheduling.planning import calendar as cal
from scheduling.planning.forecast_basis import forecast_basis
from scheduling.planning.plan_runs import PlanRunActive
from scheduling.planning.plans import PlanRequest
from shop.api import get_api
from shop.auth import current_user, require_role
from shop.models import Role
from shop.planning import progress, services
from shop.runtime import current_runtime, read, run

blp = Blueprint(
    "planning",
    __name__,
    url_prefix="/api/v1/planning",
    description="Season capacity and batch planning (managers)",
)


class CapacityDaySchema(Schema):
    day = fields.Date(required=True)
    mills = fields.Integer(
        allow_none=True, load_default=None, validate=validate.Range(min=0, max=1000)
    )
    mill_hours = fields.Float(
        allow_none=True, load_default=None, validate=validate.Range(min=0, max=24)
    )
    cabinets = fields.Integer(
        allow_none=True, load_default=None, validate=validate.Range(min=0, max=1000)
    )
    shift_hours = fields.Float(
        allow_none=True, load_default=None, validate=validate.Range(min=0, max=24)
    )
    extra_shift = fields.Boolean(load_default=False)
    extra_staff = fields.Dict(keys=fields.String(), values=fields.Integer(), load_default=dict)


class StaffSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    kind = fields.String(required=True, validate=validate.OneOf(["core", "apprentice"]))
    skills = fields.List(fields.String(), load_default=None)
    productivity_pct = fields.Integer(load_default=None)
    weekdays = fields.List(fields.Integer(), load_default=None)


class CapacityUpdateSchema(Schema):
    mills = fields.Integer(validate=validate.Range(min=0, max=1000))
    mill_kg_per_hour = fields.Integer(validate=validate.Range(min=1, max=1000))
    mill_hours = fields.Float(validate=validate.Range(min=0, max=24))
    cabinets = fields.Integer(validate=validate.Range(min=0, max=1000))
    trays_per_cycle = fields.Integer(validate=validate.Range(min=1, max=1000))
    cycle_minutes = fields.Integer(validate=validate.Range(min=1, max=1440))
    shift_hours = fields.Float(validate=validate.Range(min=0, max=24))
    extra_shift_hours = fields.Float(validate=validate.Range(min=0, max=24))
    note = fields.String()
    days = fields.List(fields.Nested(CapacityDaySchema))
    add_staff = fields.List(fields.Nested(StaffSchema))


class PlanCreateSchema(Schema):
    start = fields.Date(required=True)
    end = fields.Date(required=True)
    profile_id = fields.Integer(load_default=None)
    growth_pct = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))
    limit_materials = fields.Boolean(load_default=True)
    time_limit = fields.Float(load_default=None, validate=validate.Range(min=1, max=120))
    mip_rel_gap = fields.Float(load_default=1e-4, validate=validate.Range(min=0, max=0.5))


class CompareSchema(PlanCreateSchema):
    profile_ids = fields.List(
        fields.Integer(), required=True, validate=validate.Length(min=1, max=6)
    )


class ScenarioSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    source_id = fields.Integer(load_default=None)
    note = fields.String(load_default="")
    add_mills = fields.Integer(load_default=0, validate=validate.Range(min=0, max=50))
    extra_shift_days = fields.Integer(load_default=0, validate=validate.Range(min=0, max=60))
    add_apprentices = fields.Integer(load_default=0, validate=validate.Range(min=0, max=50))
    festival_year = fields.Integer(load_default=None)


class CalendarQuerySchema(Schema):
    year = fields.Integer(required=True, validate=validate.Range(min=1901, max=2099))


class BasisQuerySchema(Schema):
    start = fields.Date(required=True)
    end = fields.Date(required=True)


@blp.route("/forecast-basis", methods=["GET"])
@require_role(Role.MANAGER)
@blp.arguments(BasisQuerySchema, location="query")
def forecast_basis_get(query: dict[str, Any]) -> Any:
    """Which sales history the forecast of [start, end] draws on: per product and past
    season, the dates, days and pieces in that span, by source and by channel."""
    start, end = query["start"], query["end"]
    if end < start or (end - start).days > 400:
        raise DomainError(
            "end must be on or after start, at most 400 days later",
            key="fc.err.window",
            field="end",
        )
    basis = read(forecast_basis, start, end)
    return {
        "start": start.isoformat(),
        "end": end.isoformat(),
        "first_offset": basis.first_offset,
        "last_offset": basis.last_offset,
        "seasons": [
            {
                "sku": b.sku,
                "name_zh": basis.name_of(b.sku, "zh"),
                "name_en": basis.name_of(b.sku, "en"),
                "season": b.season,
                "first_day": b.first_day.isoformat() if b.first_day else None,
                "last_day": b.last_day.isoformat() if b.last_day else None,
                "days": b.days,
                "pieces": b.pieces,
                "source_days": b.source_days,
                "channel_pieces": b.channel_pieces,
            }
            for b in basis.seasons
        ],
        "without_history": basis.without_history,
    }


@blp.route("/capacity", methods=["GET"])
@require_role(Role.MANAGER)
def capacity_get() -> Any:
    """The live capacity profile: mills, cabinets, shifts, roster and per-day overrides."""
    return run(services.profile_document, None)


@blp.route("/capacity", methods=["PUT"])
@require_role(Role.MANAGER)
@blp.arguments(CapacityUpdateSchema)
def capacity_put(body: dict[str, Any]) -> Any:
    """Change the live profile's defaults, per-day overrides and roster."""
    return run(services.apply_capacity, None, body)


@blp.route("/capacity/<int:profile_id>", methods=["GET"])
@require_role(Role.MANAGER)
def profile_get(profile_id: int) -> Any:
    return run(services.profile_document, profile_id)


@blp.route("/capacity/<int:profile_id>", methods=["PUT"])
@require_role(Role.MANAGER)
@blp.arguments(CapacityUpdateSchema)
def profile_put(body: dict[str, Any], profile_id: int) -> Any:
    return run(services.apply_capacity, profile_id, body)


@blp.route("/calendar", methods=["GET"])
@require_role(Role.MANAGER)
@blp.arguments(CalendarQuerySchema, location="query")
def calendar_get(query: dict[str, Any]) -> Any:
    """A season's lunar markers, its non-production and special days, and warnings."""
    year = query["year"]
    markers = cal.lunar_markers(year)
    start, end = services.default_window(year)
    days, warnings = run(services.season_calendar, start, end)
    return {
        "year": year,
        "markers": {k: v.isoformat() for k, v in markers.items()},
        "days": [
            {
                "day": d.day.isoformat(),
                "official": d.official.value,
                "name": d.name,
                "production": d.production,
                "source": d.source,
            }
            for d in days
            if d.official.value != "normal" or not d.production or d.source == "manager"
        ],
        "warnings": warnings,
    }


def _request(body: dict[str, Any], profile_id: int | None) -> PlanRequest:
    return PlanRequest(
        start=body["start"],
        end=body["end"],
        profile_id=profile_id,
        growth_pct=body["growth_pct"],
        limit_materials=body["limit_materials"],
        # None: the deployment's one budget for all solver stages (GAOGAN_PLAN_TIME_LIMIT).
        time_limit=body["time_limit"] or float(current_runtime().settings.plan_time_limit_seconds),
        mip_rel_gap=body["mip_rel_gap"],
    )


class PlanRunLabelsSchema(Schema):
    status = fields.String()
    stage = fields.String()
    elapsed = fields.String()
    profile = fields.String()
    gap = fields.String()
    best = fields.String()


class PlanRunSchema(Schema):
    """A plan being made in the background; poll `status_url` until `status` is done."""

    id = fields.Integer()
    status = fields.String(metadata={"enum": ["queued", "running", "done", "failed"]})
    start = fields.Date()
    end = fields.Date()
    stage = fields.String(
        metadata={
            "description": "queued, prepare, greedy, unmet_confirmed, unmet_booked, "
            "unmet_forecast, waste, overtime, bound, saving, done"
        }
    )
    stage_label = fields.String(metadata={"description": "the stage in the request's language"})
    fraction = fields.Float()
    percent = fields.Integer()
    profile_index = fields.Integer()
    profile_count = fields.Integer()
    gap = fields.Float(allow_none=True, metadata={"description": "HiGHS's relative MIP gap"})
    best_value = fields.Float(
        allow_none=True, metadata={"description": "the running stage's best value so far"}
    )
    elapsed_seconds = fields.Float()
    time_limit = fields.Float()
    plan_ids = fields.List(fields.Integer())
    status_url = fields.String()
    page_url = fields.String()
    next_url = fields.String(allow_none=True)
    labels = fields.Nested(PlanRunLabelsSchema)
    error = fields.String(metadata={"description": "the error code when status is failed"})
    message = fields.String(metadata={"description": "why it failed, localised"})
    comparison = fields.List(fields.Dict(), metadata={"description": "compare runs, once done"})


def _started(body: dict[str, Any], profile_ids: list[int], *, compare: bool) -> Any:
    """Queue the run (or refuse: another run for the same dates is under way), start it in
    the background and answer 202 with where to follow it."""
    user = current_user()
    started = run(
        services.start_plan_run,
        _request(body, None),
        profile_ids,
        compare=compare,
        requested_by=user.id if user else None,
    )
    if not started.created:
        raise PlanRunActive(
            "a plan for these dates is already being made: follow it at status_url",
            key="msg.plan_run.active",
            start=body["start"].isoformat(),
            end=body["end"].isoformat(),
            run_id=started.run_id,
            status_url=url_for("planning.runs_get", run_id=started.run_id),
        )
    services.launch_plan_run(current_runtime(), started.run_id)
    document = progress.run_document(run(services.plan_run_view, started.run_id))
    return document, 202, {"Location": document["status_url"]}


@blp.route("/plans", methods=["POST"])
@require_role(Role.MANAGER)
@blp.arguments(PlanCreateSchema)
@blp.alt_response(202, schema=PlanRunSchema, description="Planning started: poll status_url")
def plans_create(body: dict[str, Any]) -> Any:
    """Start planning a horizon in the background (202); when the run at `status_url` is
    done, its `plan_ids` name the plan: daily output, unmet demand, utilisation, materials.
    409 `plan_run_active` while a plan for the same dates is being made."""
    return _started(body, [body["profile_id"]] if body["profile_id"] else [], compare=False)


@blp.route("/runs/<int:run_id>", methods=["GET"])
@require_role(Role.MANAGER)
@blp.alt_response(200, schema=PlanRunSchema, description="The run's progress")
def runs_get(run_id: int) -> Any:
    """A background plan run: stage, share done, elapsed seconds, HiGHS's gap; the plans
    when done, the reason (localised `message`) when failed."""
    return progress.run_document(run(services.plan_run_view, run_id))


@blp.route("/plans/<int:plan_id>", methods=["GET"])
@require_role(Role.MANAGER)
def plans_get(plan_id: int) -> Any:
    return run(services.plan_document, plan_id)


@blp.route("/plans/<int:plan_id>/publish", methods=["POST"])
@require_role(Role.MANAGER)
def plans_publish(plan_id: int) -> Any:
    """Publish as planned supply: what the storefront and distributor portal promise from."""
    return run(services.publish_plan_document, plan_id)


@blp.route("/scenarios", methods=["GET"])
@require_role(Role.MANAGER)
def scenarios_list() -> Any:
    return run(services.profile_documents)


@blp.route("/scenarios", methods=["POST"])
@require_role(Role.MANAGER)
@blp.arguments(ScenarioSchema)
def scenarios_create(body: dict[str, Any]) -> Any:
    """Copy a profile (default: the live one) into a what-if scenario with quick changes."""
    today = date.today()
    # The API's default season: this year's festival until its day (the console keeps planning
    # for it 15 days longer; see services.coming_festival_year).
    year = body["festival_year"] or (
        today.year if today <= cal.spring_festival(today.year) else today.year + 1
    )
    document = run(
        services.create_scenario_document,
        services.ScenarioRequest(
            source_id=body["source_id"],
            name=body["name"],
            note=body["note"],
            add_mills=body["add_mills"],
            extra_shift_days=body["extra_shift_days"],
            add_apprentices=body["add_apprentices"],
            festival_year=year,
            apprentice_label="apprentice",
        ),
    )
    return document, 201


@blp.route("/scenarios/compare", methods=["POST"])
@require_role(Role.MANAGER)
@blp.arguments(CompareSchema)
@blp.alt_response(202, schema=PlanRunSchema, description="Planning started: poll status_url")
def scenarios_compare(body: dict[str, Any]) -> Any:
    """Start planning the same horizon on several profiles in the background (202); the done
    run carries `comparison`: served, unmet and utilisation side by side."""
    if len(set(body["profile_ids"])) != len(body["profile_ids"]):
        raise DomainError("each profile once", key="msg.plan.profile_once", field="profile_ids")
    return _started(body, body["profile_ids"], compare=True)


def init_app(app: Flask) -> None:
    get_api(app).register_blueprint(blp)
