"""CSRF protection for everything a browser can post.

A per-session random token, sent back as a hidden form field `csrf_token` or an
`X-CSRF-Token` header (for fetch calls from our pages), compared in constant time. Exempt:
views marked with `csrf_exempt` (signed webhooks) and requests authenticated by an
`Authorization: Bearer` API token, which a third-party site cannot make a browser send, and
JSON requests without a session cookie to views marked `csrf_exempt_without_session` (the
order API used by scripts and apps).
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, current_app, request, session

SESSION_KEY = "_csrf"
FORM_FIELD = "csrf_token"
HEADER = "X-CSRF-Token"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
F = TypeVar("F", bound=Callable[..., Any])


def csrf_token() -> str:
    token = session.get(SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[SESSION_KEY] = token
    return str(token)


def csrf_exempt(view: F) -> F:
    view._csrf_exempt = True  # type: ignore[attr-defined]
    return view


SESSIONLESS = "_csrf_exempt_without_session"
T = TypeVar("T")


def csrf_exempt_without_session(view: T) -> T:
    """Exempt JSON requests that carry no session cookie (API clients); a browser with a
    session must still send the token. Works on view functions and MethodView classes."""
    setattr(view, SESSIONLESS, True)
    return view


def _is_exempt() -> bool:
    # A bearer token is authority a third-party page cannot make a browser send, but only
    # when the request carries no session cookie: with one, the session is the authority and
    # any header (even a junk bearer) must not switch the check off.
    if request.headers.get("Authorization", "").startswith("Bearer ") and (
        current_app.config.get("SESSION_COOKIE_NAME", "session") not in request.cookies
    ):
        return True
    view = current_app.view_functions.get(request.endpoint or "")
    if getattr(view, "_csrf_exempt", False):
        return True
    marked = getattr(view, SESSIONLESS, False) or getattr(
        getattr(view, "view_class", None), SESSIONLESS, False
    )
    # Without a session cookie the request carries no ambient authority to abuse: it acts as
    # an anonymous buyer or through an order token it names itself. JSON only, because a
    # cross-site page cannot send a JSON body without a CORS preflight, which we never grant.
    return bool(
        marked
        and request.is_json
        and current_app.config.get("SESSION_COOKIE_NAME", "session") not in request.cookies
    )


def init_app(app: Flask) -> None:
    @app.before_request
    def _check_csrf() -> None:
        if request.method not in UNSAFE_METHODS or app.config.get("CSRF_DISABLED"):
            return
        if _is_exempt():
            return
        expected = session.get(SESSION_KEY, "")
        sent = request.headers.get(HEADER) or (
            request.form.get(FORM_FIELD, "")
            if request.mimetype in {"application/x-www-form-urlencoded", "multipart/form-data"}
            else ""
        )
        if not expected or not sent or not hmac.compare_digest(str(expected), sent):
            abort(400, description="csrf_token_missing_or_invalid")

    app.jinja_env.globals["csrf_token"] = csrf_token
