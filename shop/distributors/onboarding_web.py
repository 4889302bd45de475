"""Registration of distributor onboarding: manager pages, the invitation page, API, nav."""

from __future__ import annotations

from flask import Flask

from inventory.runtime import Runtime
from shop.api import get_api
from shop.distributors import onboarding_api, onboarding_pages
from shop.models import Role
from shop.nav import add_nav


def init_app(app: Flask, runtime: Runtime) -> None:
    app.register_blueprint(onboarding_pages.bp)
    app.register_blueprint(onboarding_pages.invite)
    get_api(app).register_blueprint(onboarding_api.blp)
    add_nav(app, "onb.nav", "/manager/distributors/", 62, roles=[Role.MANAGER])
