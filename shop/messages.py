"""Every refusal a person can see, in their language: Chinese by default, English on request.

A DomainError carries a stable `code` (the JSON API's `error`), an English `message` and
optionally a `key` for a wording finer than its code. The page or the API body shows
`localise(exc)`: the catalogue text of the key, else of `error.<code>`, filled from the error's
details. An HTTP error (abort) is worded from `http.<description key>` or `http.<status>`.
The English message is kept as it is written at the raise site (it is precise and names
fields); tests walk every code and key so that no Chinese page falls back to English.
"""

from __future__ import annotations

import string
from collections.abc import Mapping, Sequence
from typing import Any

from flask import Flask

from inventory.errors import DomainError
from shop.i18n import DEFAULT_LANGUAGE, catalogue, current_language

# abort(description=...) texts a person can meet, mapped to message keys. A description not
# listed falls back to the status's generic text (`http.<status>`), never to English.
ABORT_KEYS: dict[str, str] = {
    "sign in first": "http.sign_in_first",
    "not allowed for this account": "http.not_allowed",
    "day must be YYYY-MM-DD": "http.bad_day",
    "this account is not linked to a distributor": "http.no_distributor",
    "month must be YYYY-MM": "http.bad_month",
    "manage API tokens from the signed-in portal": "http.tokens_from_portal",
    "send an API token (Authorization: Bearer ...) or sign in": "http.send_token",
    "only distributor accounts have bookings": "http.distributors_only",
    "no such order": "http.no_such_order",
}


class _Lenient(string.Formatter):
    """A missing detail leaves its place empty instead of raising on a refusal being shown."""

    def get_value(self, key: int | str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if isinstance(key, str):
            return kwargs.get(key, "")
        return super().get_value(key, args, kwargs)


_FORMATTER = _Lenient()


def _fill(key: str, lang: str, params: dict[str, Any]) -> str:
    texts = catalogue()[key]
    template = texts.get(lang) or texts[DEFAULT_LANGUAGE]
    try:
        return _FORMATTER.format(template, **params)
    except (ValueError, IndexError):
        return template


def message_keys(exc: DomainError) -> list[str]:
    """The keys that can word `exc`, finest first."""
    keys = [exc.key] if exc.key else []
    return [*keys, f"error.{exc.code}"]


def localise(exc: DomainError, lang: str | None = None) -> str:
    lang = lang or current_language()
    if lang == "en":
        return exc.message
    known = catalogue()
    params = {k: v for k, v in exc.details.items() if k != "lines"}
    # Field and status names are code ("air_temp_c", "collected"): word them for the reader.
    field = str(params.get("field", ""))
    params["field_label"] = (
        _fill(f"field.{field}", lang, {}) if f"field.{field}" in known else field
    )
    status = str(params.get("status", ""))
    if f"dist.status.{status}" in known:
        params["status"] = _fill(f"dist.status.{status}", lang, {})
    for key in message_keys(exc):
        if key in known:
            return _fill(key, lang, params)
    return exc.message


def localise_http(status: int, description: str | None, lang: str | None = None) -> str | None:
    """The wording of an HTTP error in `lang`; None in English (the description is used)."""
    lang = lang or current_language()
    if lang == "en":
        return None
    key = ABORT_KEYS.get(description or "") or f"http.{status}"
    return _fill(key, lang, {}) if key in catalogue() else None


# The solver's own status words (HiGHS model statuses, lower-cased, and the planner's greedy
# fallback): shown on the plan page, so worded like every other message there.
_SOLVER_WORDS = (
    "time limit reached",
    "optimal",
    "infeasible",
    "unbounded",
    "interrupted",
    "greedy",
    "empty",
)


def solver_status(raw: str, lang: str | None = None) -> str:
    """`greedy (solver time limit reached)` -> "启发式（求解器：达到时间上限）"."""
    lang = lang or current_language()
    text = raw.strip().lower()
    if not text:
        return "-"
    known = catalogue()
    words = [w for w in _SOLVER_WORDS if w in text and f"solver.{w}" in known]
    if not words:
        return _fill("solver.other", lang, {"status": raw}) if lang != "en" else raw
    main, *rest = sorted(words, key=text.index)
    worded = _fill(f"solver.{main}", lang, {})
    if rest:
        worded += _fill("solver.because", lang, {"why": _fill(f"solver.{rest[0]}", lang, {})})
    return worded


def job_description(name: str, fallback: str, lang: str | None = None) -> str:
    """A scheduler job's description from `job.<name>`, its registered English text if none."""
    key = f"job.{name}"
    return _fill(key, lang or current_language(), {}) if key in catalogue() else fallback


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(solver_status=solver_status)
    app.jinja_env.globals.update(job_description=job_description)
