"""The app factory: the composition root that wires every package into one Flask app.

Each area contributes through one `init_app(app, runtime)` call listed here, in the spirit of
Flask's tutorial and Warehouse's `includeme`: nothing registers itself at import time.
"""

from __future__ import annotations

from flask import Flask, jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import text

from inventory.runtime import Runtime
from inventory.settings import Settings
from shop import api, csrf, errors, i18n, logs, messages, metrics, nav
from shop.catalogue import web as catalogue_web
from shop.distributors import onboarding_web
from shop.distributors import web as distributors_web
from shop.history import web as history_web
from shop.orders import desk_web
from shop.orders import web as orders_web
from shop.planning import web as planning_web
from shop.production import web as production_web
from shop.reports import web as reports_web
from shop.runtime import install_runtime
from shop.security import web as security_web
from shop.staff import web as staff_web
from shop.stock import web as stock_web


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    settings = settings or (runtime.settings if runtime else Settings.from_env())
    runtime = runtime or Runtime.from_settings(settings)
    logs.configure_logging(settings.log_json)

    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(
        SECRET_KEY=settings.secret_key,
        # Nothing we accept is larger; a 10 MB body is refused before it is read.
        MAX_CONTENT_LENGTH=1024 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.production,
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False  # type: ignore[attr-defined]
    install_runtime(app, runtime)

    logs.init_app(app)
    metrics.init_app(app, runtime)
    i18n.init_app(app)
    # Before any blueprint (its bounded `int` converter must be in place when routes are
    # added) and before the CSRF check, so hostile input is refused before anything reads it.
    security_web.init_input_boundary(app)
    messages.init_app(app)
    csrf.init_app(app)
    nav.init_app(app)
    # After the Api: flask-smorest registers its own HTTPException handler and ours must win,
    # so every 4xx has the same {error, message, details} body.
    api.init_app(app)
    errors.init_app(app)
    security_web.init_app(app, runtime)
    distributors_web.init_app(app, runtime)
    production_web.init_app(app, runtime)
    planning_web.init_app(app, runtime)

    orders_web.init_app(app, runtime)
    desk_web.init_app(app, runtime)
    staff_web.init_app(app, runtime)
    stock_web.init_app(app, runtime)
    catalogue_web.init_app(app, runtime)
    onboarding_web.init_app(app, runtime)
    reports_web.init_app(app, runtime)
    history_web.init_app(app, runtime)

    @app.get("/healthz")
    def healthz() -> ResponseReturnValue:
        try:
            with runtime.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # the point of a health check is to report, not raise
            return jsonify(status="error", database=exc.__class__.__name__), 503
        return jsonify(status="ok", database="ok")

    return app
