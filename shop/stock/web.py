"""Registration of stock and purchasing: pages, API, nav."""

from __future__ import annotations

from flask import Flask

from inventory.runtime import Runtime
from shop.api import get_api
from shop.models import Role
from shop.nav import add_nav
from shop.stock import api, pages


def init_app(app: Flask, runtime: Runtime) -> None:
    app.register_blueprint(pages.bp)
    get_api(app).register_blueprint(api.blp)
    add_nav(app, "stock.nav", "/manager/stock/", 70, roles=[Role.MANAGER])
