"""Reading the planning console's form fields: a bad value is a DomainError naming the field
(a 4xx that says what was wrong), an empty one is the default."""

from __future__ import annotations

from datetime import date

from flask import request

from inventory.errors import DomainError
from scheduling.planning.plans import PlanRequest


def form_date(name: str, default: date) -> date:
    """A YYYY-MM-DD date from the form or, failing that, the query string."""
    raw = request.form.get(name) or request.args.get(name)
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError as exc:
        raise DomainError(f"{name} must be a date (YYYY-MM-DD)", field=name) from exc


def form_int(name: str, default: int | None = None) -> int | None:
    raw = (request.form.get(name) or "").strip()
    if raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise DomainError(f"{name} must be a whole number", field=name) from exc


def form_float(name: str, default: float | None = None) -> float | None:
    raw = (request.form.get(name) or "").strip()
    if raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise DomainError(f"{name} must be a number", field=name) from exc


def plan_request(start: date, end: date, profile_id: int | None) -> PlanRequest:
    """The plan form's options; the solver gets at most two minutes from the console."""
    return PlanRequest(
        start=start,
        end=end,
        profile_id=profile_id,
        growth_pct=form_int("growth_pct", 100) or 100,
        limit_materials=request.form.get("limit_materials") == "on",
        time_limit=min(120.0, form_float("time_limit", 20.0) or 20.0),
    )
