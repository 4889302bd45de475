"""Chinese by default, English on request.

Messages live in `shop/translations/<area>.json` as {"key": {"zh": "...", "en": "..."}}: one
file per area so that pages built side by side never edit the same catalogue. The language is
chosen by `?lang=en|zh` (remembered in a cookie), never guessed from the browser: the shop's
customers are Chinese and the default must not depend on a phone's settings. The JSON API
(`/api/...`) without either also honours `Accept-Language` (`en` gets English): that header is
a program's explicit choice, and API clients keep no cookie.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, request

from inventory.rules import LOCAL_ZONE

LANGUAGES = ("zh", "en")
DEFAULT_LANGUAGE = "zh"
COOKIE = "lang"
_CATALOGUE_DIR = Path(__file__).parent / "translations"


@lru_cache(maxsize=1)
def catalogue() -> dict[str, dict[str, str]]:
    merged: dict[str, dict[str, str]] = {}
    for path in sorted(_CATALOGUE_DIR.glob("*.json")):
        for key, texts in json.loads(path.read_text(encoding="utf-8")).items():
            if key in merged and merged[key] != texts:
                raise ValueError(f"translation key {key!r} defined twice ({path.name})")
            merged[key] = texts
    return merged


def current_language() -> str:
    lang: str = getattr(g, "lang", DEFAULT_LANGUAGE)
    return lang


def translate(key: str, lang: str | None = None, **params: Any) -> str:
    """The text for `key` in the current language; the key itself if it is missing so that
    a forgotten entry shows up on the page instead of raising."""
    texts = catalogue().get(key)
    lang = lang or current_language()
    text = key if texts is None else texts.get(lang) or texts.get(DEFAULT_LANGUAGE, key)
    return text.format(**params) if params else text


def yuan(fen: int | None) -> str:
    """Integer fen as a price: 1250 -> '¥12.50'."""
    if fen is None:
        return "-"
    sign = "-" if fen < 0 else ""
    whole, cents = divmod(abs(fen), 100)
    return f"{sign}¥{whole:,}.{cents:02d}"


def local_datetime(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return "-"
    return value.astimezone(LOCAL_ZONE).strftime(fmt)


_WEEKDAYS = {
    "zh": ["周一", "周二", "周三", "周四", "周五", "周六", "周日"],
    "en": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
}


def weekday(day: date, lang: str | None = None) -> str:
    return _WEEKDAYS[lang or current_language()][day.weekday()]


def local_date(day: date | None) -> str:
    if day is None:
        return "-"
    if current_language() == "zh":
        return f"{day.month}月{day.day}日 {weekday(day)}"
    return f"{weekday(day)} {day.isoformat()}"


def init_app(app: Flask) -> None:
    @app.before_request
    def _choose_language() -> None:
        asked = request.args.get("lang")
        g.lang_asked = asked if asked in LANGUAGES else None
        g.lang = g.lang_asked or request.cookies.get(COOKIE)
        if g.lang not in LANGUAGES and request.path.startswith("/api/"):
            # A program calling the API sends no cookie: its Accept-Language is its choice.
            # Pages never guess from the browser (see above).
            g.lang = request.accept_languages.best_match(LANGUAGES)
        if g.lang not in LANGUAGES:
            g.lang = DEFAULT_LANGUAGE

    @app.after_request
    def _remember_language(response: Response) -> Response:
        if getattr(g, "lang_asked", None):
            response.set_cookie(COOKIE, g.lang, max_age=365 * 24 * 3600, samesite="Lax")
        response.headers.setdefault("Content-Language", "zh-CN" if g.get("lang") == "zh" else "en")
        return response

    app.jinja_env.globals.update(t=translate, lang=current_language, weekday=weekday)
    app.jinja_env.filters.update(yuan=yuan, local_datetime=local_datetime, local_date=local_date)
