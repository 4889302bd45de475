"""Manager page of the scheduler: its jobs and their latest runs."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask.typing import ResponseReturnValue

from scheduling.scheduler.status import recent_runs
from shop.auth import require_role
from shop.models import Role
from shop.production.services import scheduler_report
from shop.runtime import current_runtime, read

bp = Blueprint("scheduler", __name__, url_prefix="/manager/scheduler")


@bp.get("")
@require_role(Role.MANAGER)
def status_page() -> ResponseReturnValue:
    report = scheduler_report(current_runtime())
    runs = read(recent_runs, limit=40)
    return render_template("scheduling/scheduler.html", report=report, runs=runs)
