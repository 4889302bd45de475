"""The production area's wiring: the batch, trace and soak pages, the scheduler status page,
their nav entries and the production jobs. Called once by the app factory."""

from __future__ import annotations

from flask import Flask

from inventory.runtime import Runtime
from scheduling.production.jobs import register_builtin_jobs
from shop.models import Role
from shop.nav import add_nav
from shop.production import pages, scheduler_pages


def init_app(app: Flask, runtime: Runtime) -> None:
    app.register_blueprint(scheduler_pages.bp)
    app.register_blueprint(pages.bp)
    add_nav(app, "production.nav.batches", "/manager/batches", 75, roles=[Role.MANAGER])
    add_nav(app, "scheduling.nav.scheduler", "/manager/scheduler", 80, roles=[Role.MANAGER])
    register_builtin_jobs(runtime.settings)
