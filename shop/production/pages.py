"""Manager pages of production: batches (start, record output), trace, the soak standard.
The queries are in `shop.production.services`, the writes are `scheduling.production`'s use
cases; each runs in its own session or transaction (`shop.runtime.read`/`run`)."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue

from inventory.db import utcnow
from inventory.errors import DomainError
from inventory.rules import local_day
from scheduling.production.batch_sheet import get_sheet, sheet_csv
from scheduling.production.batches import complete_batch, start_batch
from scheduling.production.process_standard import (
    SEASONS,
    InvalidSoakRecord,
    record_soak,
    set_override,
)
from scheduling.production.trace import BatchTrace, LotTrace, trace_batch, trace_lot
from shop.auth import current_user, require_role
from shop.i18n import translate
from shop.messages import localise
from shop.models import Role
from shop.production import services
from shop.runtime import current_runtime, read, run

bp = Blueprint("production", __name__, url_prefix="/manager")


def _parse_day(raw: str | None, default: date) -> date:
    if not raw:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        abort(400, description="day must be YYYY-MM-DD")


@bp.get("/batches")
@require_role(Role.MANAGER)
def batches() -> ResponseReturnValue:
    today = local_day(utcnow())
    day = _parse_day(request.args.get("day"), today)
    rows = read(services.batches_around, day)
    return render_template("scheduling/batches.html", batches=rows, day=day)


@bp.get("/batches/sheet")
@require_role(Role.MANAGER)
def sheet() -> ResponseReturnValue:
    day = _parse_day(request.args.get("day"), local_day(utcnow()) + timedelta(days=1))
    found = read(get_sheet, day)
    if request.args.get("format") == "csv":
        if found is None:
            abort(404, description=f"no batch sheet for {day.isoformat()} yet")
        return Response(
            sheet_csv(found),
            mimetype="text/csv",
            headers={"Content-Disposition": f"attachment; filename=batch-sheet-{day}.csv"},
        )
    return render_template("scheduling/sheet.html", sheet=found, day=day), (200 if found else 404)


@bp.get("/batches/<ref>")
@require_role(Role.MANAGER)
def batch(ref: str) -> ResponseReturnValue:
    found, names = read(services.batch_with_items, ref)
    return render_template(
        "scheduling/batch.html",
        batch=found,
        items=names,
        early=found.production_day > local_day(utcnow()),
    )


@bp.post("/batches/<ref>/start")
@require_role(Role.MANAGER)
def batch_start(ref: str) -> ResponseReturnValue:
    try:
        run(
            start_batch,
            ref,
            now=utcnow(),
            harvest_month=current_runtime().settings.harvest_month,
            override_reason=request.form.get("override_reason"),
        )
    except DomainError as exc:
        flash(localise(exc), "error")
    else:
        flash(translate("production.batch.started"), "success")
    return redirect(url_for("production.batch", ref=ref))


@bp.post("/batches/<ref>/complete")
@require_role(Role.MANAGER)
def batch_complete(ref: str) -> ResponseReturnValue:
    user = current_user()
    planned = read(services.planned_output, ref)
    outputs: dict[str, int] = {}
    for sku in planned:
        raw = (request.form.get(f"out-{sku}") or "").strip()
        if not raw.isdigit():
            flash(translate("production.batch.bad_output", sku=sku), "error")
            return redirect(url_for("production.batch", ref=ref))
        outputs[sku] = int(raw)
    try:
        done = run(
            complete_batch,
            ref,
            outputs,
            made_at=utcnow(),
            completed_by=f"manager:{user.email if user else '?'}",
        )
    except DomainError as exc:
        flash(localise(exc), "error")
        return redirect(url_for("production.batch", ref=ref))
    message = translate(
        "production.batch.completed", ready=len(done.ready), unserved=len(done.unserved)
    )
    if done.reduced:  # part delivery: buyers who accepted it got what was made
        message += " " + translate("part.batch.reduced", count=len(done.reduced))
    flash(message, "warning" if done.unserved or done.reduced else "success")
    return redirect(url_for("production.trace", batch=ref))


@bp.get("/trace")
@require_role(Role.MANAGER)
def trace() -> ResponseReturnValue:
    batch_ref = (request.args.get("batch") or "").strip()
    lot_code = (request.args.get("lot") or "").strip()
    batch_trace: BatchTrace | None = None
    lot_trace: LotTrace | None = None
    error = ""
    if batch_ref or lot_code:
        try:
            if batch_ref:
                batch_trace = read(trace_batch, batch_ref)
            else:
                lot_trace = read(trace_lot, lot_code)
        except DomainError as exc:
            error = localise(exc)
    return render_template(
        "scheduling/trace.html",
        batch_ref=batch_ref,
        lot_code=lot_code,
        batch_trace=batch_trace,
        lot_trace=lot_trace,
        error=error,
    ), (404 if error else 200)


def _float(name: str) -> float:
    raw = (request.form.get(name) or "").strip()
    try:
        return float(raw)
    except ValueError:
        raise InvalidSoakRecord(
            f"{name} must be a number", key="production.soak.bad_number", field=name
        ) from None


@bp.get("/soak")
@require_role(Role.MANAGER)
def soak() -> ResponseReturnValue:
    settings = current_runtime().settings
    day = _parse_day(request.args.get("day"), local_day(utcnow()) + timedelta(days=1))
    error = ""
    try:
        air = float(request.args.get("air_temp_c") or 0)
        moisture = float(request.args.get("rice_moisture_pct") or 14)
    except ValueError:
        error = translate("production.soak.bad_conditions")
        air, moisture = 0.0, 14.0
    page = read(services.soak_page, settings, day, air_temp_c=air, rice_moisture_pct=moisture)
    rec = page.recommendation
    return render_template(
        "scheduling/soak.html",
        day=day,
        air=air,
        moisture=moisture,
        rec=rec,
        start=rec.soak_start(day, settings.production_start),
        seasons=SEASONS,
        overrides=page.overrides,
        records=page.records,
        error=error,
    ), (422 if error else 200)


@bp.post("/soak/records")
@require_role(Role.MANAGER)
def soak_record() -> ResponseReturnValue:
    try:
        run(
            record_soak,
            production_day=date.fromisoformat(request.form.get("production_day", "")),
            soak_minutes=int(_float("soak_minutes")),
            water_temp_c=_float("water_temp_c"),
            air_temp_c=_float("air_temp_c"),
            rice_moisture_pct=_float("rice_moisture_pct"),
            result=request.form.get("result", ""),
            batch_ref=(request.form.get("batch_ref") or "").strip() or None,
            notes=(request.form.get("notes") or "").strip(),
        )
    except ValueError:
        flash(translate("production.soak.bad_day"), "error")
    except DomainError as exc:
        flash(localise(exc), "error")
    else:
        flash(translate("production.soak.recorded"), "success")
    return redirect(url_for("production.soak"))


@bp.post("/soak/override")
@require_role(Role.MANAGER)
def soak_override() -> ResponseReturnValue:
    user = current_user()
    season = request.form.get("season", "")
    raw = (request.form.get("soak_minutes") or "").strip()
    water = (request.form.get("water_temp_c") or "").strip()
    try:
        run(
            set_override,
            season,
            int(raw) if raw else None,
            water_temp_c=float(water) if water else None,
            reason=(request.form.get("reason") or "").strip(),
            set_by=user.email if user else "",
        )
    except ValueError:
        flash(translate("production.soak.bad_number", field="soak_minutes"), "error")
    except DomainError as exc:
        flash(localise(exc), "error")
    else:
        flash(translate("production.soak.override_saved"), "success")
    return redirect(url_for("production.soak"))
