"""Wires the security modules into the app (called from the app factory)."""

from __future__ import annotations

from flask import Flask, Response

from inventory.runtime import Runtime
from shop.errors import error_response
from shop.models import Role
from shop.nav import add_nav
from shop.security import api, availability, headers, input_guard, pages
from shop.security.throttle import Throttled


def init_input_boundary(app: Flask) -> None:
    input_guard.init_app(app)


def init_app(app: Flask, runtime: Runtime) -> None:
    availability.init_app(app)
    headers.init_app(app, runtime.settings)

    @app.errorhandler(Throttled)
    def _throttled(exc: Throttled) -> tuple[Response, int]:
        response, status = error_response(exc.status, exc.code, exc.message, **exc.details)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response, status

    app.register_blueprint(pages.bp)
    from shop.api import get_api

    get_api(app).register_blueprint(api.blp)
    add_nav(app, "security.nav", "/manager/security/audit", 85, roles=[Role.MANAGER])
