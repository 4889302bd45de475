"""Registration of the console accounts area: page, API, nav."""

from __future__ import annotations

from flask import Flask

from inventory.runtime import Runtime
from shop.api import get_api
from shop.models import Role
from shop.nav import add_nav
from shop.staff import api, pages, password_pages


def init_app(app: Flask, runtime: Runtime) -> None:
    app.register_blueprint(pages.bp)
    app.register_blueprint(password_pages.bp)
    get_api(app).register_blueprint(api.blp)
    add_nav(app, "staff.nav", "/manager/staff/", 95, roles=[Role.MANAGER])
