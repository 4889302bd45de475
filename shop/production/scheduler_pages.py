"""Manager pages of the scheduling area: the scheduler's jobs and runs."""

from __future__ import annotations

from flask import Blueprint, Flask, current_app, render_template
from flask.typing import ResponseReturnValue

from inventory.runtime import Runtime
from scheduling.production.jobs import register_builtin_jobs
from scheduling.scheduler.jobs import registry
from scheduling.scheduler.status import job_statuses, recent_runs
from shop import production_views
from shop.auth import require_role
from shop.models import Role
from shop.nav import add_nav

bp = Blueprint("scheduler", __name__, url_prefix="/manager/scheduler")


@bp.get("")
@require_role(Role.MANAGER)
def status_page() -> ResponseReturnValue:
    from shop.runtime import get_runtime

    runtime = get_runtime(current_app)
    report = job_statuses(runtime.sessions, runtime.settings, runtime.engine, registry)
    with runtime.sessions() as session:
        runs = recent_runs(session, limit=40)
    return render_template("scheduling/scheduler.html", report=report, runs=runs)


def init_app(app: Flask, runtime: Runtime) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(production_views.bp)
    add_nav(app, "production.nav.batches", "/manager/batches", 75, roles=[Role.MANAGER])
    add_nav(app, "scheduling.nav.scheduler", "/manager/scheduler", 80, roles=[Role.MANAGER])
    register_builtin_jobs(runtime.settings)
