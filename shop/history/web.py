"""Registration of the sales history: pages, API, nav, and the outbox consumers that feed
the forecast from served orders and bookings."""

from __future__ import annotations

from flask import Flask

from inventory.runtime import Runtime
from scheduling.planning import sales_feed
from shop.api import get_api
from shop.history import api, pages
from shop.models import Role
from shop.nav import add_nav


def init_app(app: Flask, runtime: Runtime) -> None:
    app.register_blueprint(pages.bp)
    get_api(app).register_blueprint(api.blp)
    add_nav(app, "hist.nav", "/manager/history/", 86, roles=[Role.MANAGER])
    sales_feed.register_subscribers()
