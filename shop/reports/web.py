"""Registration of the reports: pages, API, nav."""

from __future__ import annotations

from flask import Flask

from inventory.runtime import Runtime
from shop.api import get_api
from shop.models import Role
from shop.nav import add_nav
from shop.reports import api, pages


def init_app(app: Flask, runtime: Runtime) -> None:
    app.register_blueprint(pages.bp)
    get_api(app).register_blueprint(api.blp)
    add_nav(app, "rep.nav", "/manager/reports/", 85, roles=[Role.MANAGER])
