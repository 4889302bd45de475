"""Registration of the catalogue: pages, photos, API, nav."""

from __future__ import annotations

from flask import Flask

from inventory.runtime import Runtime
from shop.api import get_api
from shop.catalogue import api, pages
from shop.models import Role
from shop.nav import add_nav


def init_app(app: Flask, runtime: Runtime) -> None:
    app.register_blueprint(pages.bp)
    app.register_blueprint(pages.images)
    get_api(app).register_blueprint(api.blp)
    add_nav(app, "cat.nav", "/manager/catalogue/", 65, roles=[Role.MANAGER])
