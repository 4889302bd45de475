"""Every error a user can cause becomes a 4xx with a JSON body that says what was wrong.

Pages get the same message rendered in the layout when the browser asked for HTML; API
clients, webhooks and anything that sent or accepts JSON get JSON. A 500 is logged with the
request id and answered without internals.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, abort, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from inventory.errors import DomainError
from shop.field_errors import localise_fields
from shop.i18n import current_language, translate
from shop.messages import localise, localise_http

log = logging.getLogger("gaogan.errors")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "unprocessable",
    429: "too_many_requests",
}


def wants_json() -> bool:
    if request.path.startswith(("/api/", "/webhooks/")) or request.is_json:
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json"


def error_response(status: int, code: str, message: str, **details: Any) -> tuple[Response, int]:
    if wants_json():
        return jsonify(error=code, message=message, details=details), status
    return Response(render_template("error.html", status=status, message=message)), status


def init_app(app: Flask) -> None:
    @app.before_request
    def _refuse_oversized_bodies() -> None:
        # Werkzeug only enforces MAX_CONTENT_LENGTH when a view reads the body; refuse early
        # so no view can be handed (or half-read) a body we would never accept.
        limit = app.config.get("MAX_CONTENT_LENGTH")
        if limit and request.content_length and request.content_length > limit:
            abort(413)

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError) -> tuple[Response, int]:
        return error_response(exc.status, exc.code, localise(exc), **exc.details)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> tuple[Response, int]:
        status = exc.code or 500
        if exc.description == "csrf_token_missing_or_invalid":
            return error_response(400, "csrf_failed", translate("error.csrf"))
        details: dict[str, Any] = {}
        # flask-smorest / webargs put field-level validation messages here, in marshmallow's
        # English: worded in the reader's language, each with a stable code.
        data = getattr(exc, "data", None)
        if isinstance(data, dict) and "messages" in data:
            details["fields"], details["field_errors"] = localise_fields(
                data["messages"], current_language()
            )
        code = _HTTP_CODES.get(status, "error")
        message = exc.description or exc.name
        if status == 413:
            message = "request body too large"
        message = localise_http(status, exc.description) or message
        return error_response(status, code, message, **details)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> tuple[Response, int]:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(
            500,
            "internal_error",
            localise_http(500, None) or "internal error; it has been logged",
        )
