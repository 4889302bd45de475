"""The planning area's wiring: the console pages, the JSON API, the nav entry and the nightly
planning jobs. Called once by the app factory."""

from __future__ import annotations

from flask import Flask

from inventory.runtime import Runtime
from scheduling.planning.jobs import register_planning_jobs
from shop.models import Role
from shop.nav import add_nav
from shop.planning import api, pages


def init_app(app: Flask, runtime: Runtime) -> None:
    app.register_blueprint(pages.bp)
    api.init_app(app)
    add_nav(app, "plan.nav", "/manager/plan/", 80, roles=[Role.MANAGER])
    register_planning_jobs(runtime.settings)
