"""Database unavailable or overloaded: 503 with Retry-After, never a 500.

PostgreSQL refusing connections ("too many clients", a closed port, a restart) surfaces as
`sqlalchemy.exc.OperationalError`/`InterfaceError`; a pool with no free connection as
`sqlalchemy.exc.TimeoutError`. All of them mean "try again shortly", which is what 503 with
Retry-After tells browsers, proxies and API clients. The pool checks each connection before
use (`pool_pre_ping`) and a connection error invalidates the pool, so the first request after
the database returns succeeds: no restart needed.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, g
from sqlalchemy import exc as sa_exc

from shop.errors import error_response
from shop.i18n import translate

log = logging.getLogger("gaogan.database")
RETRY_AFTER_SECONDS = 5


def is_unavailable(exc: BaseException) -> bool:
    if isinstance(exc, sa_exc.TimeoutError):
        return True
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, (sa_exc.OperationalError, sa_exc.InterfaceError)):
        text = str(exc.orig if getattr(exc, "orig", None) is not None else exc).lower()
        # A lock timeout or serialization failure is an OperationalError too, but on SQLite
        # "database is locked" is also overload; only syntax-level errors are not.
        return not any(word in text for word in ("syntax error", "no such table", "no such column"))
    return False


def unavailable_response() -> tuple[Response, int]:
    # The error page's layout asks who is signed in; that would hit the database again.
    g.user = None
    response, status = error_response(
        503,
        "database_unavailable",
        translate("database.unavailable"),
        retry_after_seconds=RETRY_AFTER_SECONDS,
    )
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response, status


def init_app(app: Flask) -> None:
    @app.errorhandler(sa_exc.OperationalError)
    @app.errorhandler(sa_exc.InterfaceError)
    @app.errorhandler(sa_exc.TimeoutError)
    @app.errorhandler(sa_exc.DBAPIError)
    def _database_error(exc: Exception) -> tuple[Response, int]:
        if not is_unavailable(exc):
            log.exception("database error")
            return error_response(500, "internal_error", translate("error.internal"))
        log.warning("database unavailable: %s", exc.__class__.__name__)
        return unavailable_response()
