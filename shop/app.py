"""The app factory: the composition root that wires every package into one Flask app."""

from __future__ import annotations

from flask import Flask, jsonify
from sqlalchemy import text

from inventory.runtime import Runtime
from inventory.settings import Settings


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    settings = settings or (runtime.settings if runtime else Settings.from_env())
    runtime = runtime or Runtime.from_settings(settings)

    app = Flask(__name__, instance_path=str(settings.instance_path))
    app.config.update(SECRET_KEY=settings.secret_key, MAX_CONTENT_LENGTH=1024 * 1024)
    app.extensions["gaogan"] = runtime

    @app.get("/healthz")
    def healthz():  # type: ignore[no-untyped-def]
        try:
            with runtime.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # the point of a health check is to report, not raise
            return jsonify(status="error", database=str(exc.__class__.__name__)), 503
        return jsonify(status="ok", database="ok")

    return app


def get_runtime(app: Flask) -> Runtime:
    runtime: Runtime = app.extensions["gaogan"]
    return runtime
