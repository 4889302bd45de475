"""JSON API for season planning under /api/v1/planning (managers only), in the shared OpenAPI
document: capacity, calendar, plans, publishing and scenarios."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Flask
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate

from inventory.errors import DomainError
from scheduling.planning import calendar as cal
from scheduling.planning.capacity import (
    add_staff,
    copy_profile,
    extra_shift_on,
    get_profile,
    list_profiles,
    main_profile,
    profile_dict,
    set_capacity_day,
    update_profile,
)
from scheduling.planning.models import StaffKind
from scheduling.planning.plans import (
    PlanRequest,
    compare,
    create_plan,
    get_plan,
    plan_dict,
    publish_plan,
)
from shop.api import get_api
from shop.auth import require_role
from shop.models import Role
from shop.planning.web import _runtime, _tx

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
    time_limit = fields.Float(load_default=20.0, validate=validate.Range(min=1, max=120))
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


def _apply_capacity(s: Any, profile_id: int | None, body: dict[str, Any]) -> dict[str, Any]:
    profile = get_profile(s, profile_id) if profile_id else main_profile(s)
    simple = {k: v for k, v in body.items() if k not in {"days", "add_staff"}}
    update_profile(s, profile, simple)
    for d in body.get("days", []):
        day = d.pop("day")
        set_capacity_day(s, profile, day, **d)
    for m in body.get("add_staff", []):
        add_staff(
            s,
            profile,
            name=m["name"],
            kind=StaffKind(m["kind"]),
            skills=m["skills"],
            productivity_pct=m["productivity_pct"],
            weekdays=m["weekdays"],
        )
    s.refresh(profile)
    return profile_dict(profile)


@blp.route("/capacity", methods=["GET"])
@require_role(Role.MANAGER)
def capacity_get() -> Any:
    """The live capacity profile: mills, cabinets, shifts, roster and per-day overrides."""
    with _tx() as s:
        return profile_dict(main_profile(s))


@blp.route("/capacity", methods=["PUT"])
@require_role(Role.MANAGER)
@blp.arguments(CapacityUpdateSchema)
def capacity_put(body: dict[str, Any]) -> Any:
    """Change the live profile's defaults, per-day overrides and roster."""
    with _tx() as s:
        return _apply_capacity(s, None, body)


@blp.route("/capacity/<int:profile_id>", methods=["GET"])
@require_role(Role.MANAGER)
def profile_get(profile_id: int) -> Any:
    with _tx() as s:
        return profile_dict(get_profile(s, profile_id))


@blp.route("/capacity/<int:profile_id>", methods=["PUT"])
@require_role(Role.MANAGER)
@blp.arguments(CapacityUpdateSchema)
def profile_put(body: dict[str, Any], profile_id: int) -> Any:
    with _tx() as s:
        return _apply_capacity(s, profile_id, body)


@blp.route("/calendar", methods=["GET"])
@require_role(Role.MANAGER)
@blp.arguments(CalendarQuerySchema, location="query")
def calendar_get(query: dict[str, Any]) -> Any:
    """A season's lunar markers, its non-production and special days, and warnings."""
    year = query["year"]
    markers = cal.lunar_markers(year)
    start, end = markers["laba"] - timedelta(days=7), markers["yuanxiao"]
    with _tx() as s:
        days = cal.calendar_days(s, start, end)
        warnings = cal.missing_arrangement_warnings(s, start, end)
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
        time_limit=body["time_limit"],
        mip_rel_gap=body["mip_rel_gap"],
    )


@blp.route("/plans", methods=["POST"])
@require_role(Role.MANAGER)
@blp.arguments(PlanCreateSchema)
def plans_create(body: dict[str, Any]) -> Any:
    """Plan a horizon: daily output per product, unmet demand per day, utilisation, materials."""
    with _tx() as s:
        plan = create_plan(
            s, _request(body, body["profile_id"]), harvest_month=_runtime().settings.harvest_month
        )
        return plan_dict(s, plan), 201


@blp.route("/plans/<int:plan_id>", methods=["GET"])
@require_role(Role.MANAGER)
def plans_get(plan_id: int) -> Any:
    with _tx() as s:
        return plan_dict(s, get_plan(s, plan_id))


@blp.route("/plans/<int:plan_id>/publish", methods=["POST"])
@require_role(Role.MANAGER)
def plans_publish(plan_id: int) -> Any:
    """Publish as planned supply: what the storefront and distributor portal promise from."""
    with _tx() as s:
        return plan_dict(s, publish_plan(s, plan_id))


@blp.route("/scenarios", methods=["GET"])
@require_role(Role.MANAGER)
def scenarios_list() -> Any:
    with _tx() as s:
        return [profile_dict(p) for p in list_profiles(s)]


@blp.route("/scenarios", methods=["POST"])
@require_role(Role.MANAGER)
@blp.arguments(ScenarioSchema)
def scenarios_create(body: dict[str, Any]) -> Any:
    """Copy a profile (default: the live one) into a what-if scenario with quick changes."""
    with _tx() as s:
        source = get_profile(s, body["source_id"]) if body["source_id"] else main_profile(s)
        scenario = copy_profile(s, source, body["name"], note=body["note"])
        if body["add_mills"]:
            update_profile(s, scenario, {"mills": scenario.mills + body["add_mills"]})
        if body["extra_shift_days"]:
            year = body["festival_year"] or (
                date.today().year
                if date.today() <= cal.spring_festival(date.today().year)
                else date.today().year + 1
            )
            eve = cal.lunar_markers(year)["chuxi"]
            extra_shift_on(
                s, scenario, [eve - timedelta(days=k) for k in range(body["extra_shift_days"])]
            )
        for k in range(body["add_apprentices"]):
            add_staff(s, scenario, name=f"apprentice+{k + 1}", kind=StaffKind.APPRENTICE)
        s.refresh(scenario)
        return profile_dict(scenario), 201


@blp.route("/scenarios/compare", methods=["POST"])
@require_role(Role.MANAGER)
@blp.arguments(CompareSchema)
def scenarios_compare(body: dict[str, Any]) -> Any:
    """Plan the same horizon on several profiles and compare served, unmet and utilisation."""
    if len(set(body["profile_ids"])) != len(body["profile_ids"]):
        raise DomainError("each profile once", key="msg.plan.profile_once", field="profile_ids")
    with _tx() as s:
        plans = [
            create_plan(
                s,
                _request(body, pid),
                harvest_month=_runtime().settings.harvest_month,
                with_baselines=False,
            )
            for pid in body["profile_ids"]
        ]
        return {"plans": [p.id for p in plans], "comparison": compare(plans)}, 201


def init_app(app: Flask) -> None:
    get_api(app).register_blueprint(blp)
