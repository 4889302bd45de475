"""One input boundary in front of every view: raw path, query, form and JSON values are
checked before any view (and so any query) runs.

Why one guard rather than per-view checks: the same handful of hostile values (a NUL byte,
a lone surrogate, 2**63, 9999-12-31, JSON nested a thousand deep) broke a dozen different
views in a dozen different ways (PostgreSQL refusing NUL in text, OverflowError in date
arithmetic or in int8 binds, RecursionError in the JSON parser). Refusing them here keeps every
view's own validation about the business and makes the bounds one list a reviewer can read.

Bounds:
- text: no NUL, no lone surrogate, at most MAX_TEXT characters per value;
- whole numbers (JSON numbers; digit strings in paths, queries and forms): within a signed
  32-bit column (the id and quantity columns are INTEGER on PostgreSQL);
- decimals: finite and within +/- MAX_DECIMAL;
- dates (anything shaped YYYY-MM-DD) and fields named `year`/`*_year`: years MIN_YEAR..MAX_YEAR,
  the years the business plans in;
- JSON: at most MAX_DEPTH levels deep and MAX_ITEMS values in all.
Integer path segments are bounded a second time by the `int` URL converter (see
`BoundedIntConverter`): a booking id of 2**40 simply matches no route and answers 404.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from flask import Flask, Response, request
from werkzeug.routing import IntegerConverter

from shop.errors import error_response
from shop.i18n import translate

INT_MIN = -(2**31)
INT_MAX = 2**31 - 1
MAX_DECIMAL = 1e9
MIN_YEAR = 2000
MAX_YEAR = 2100
MAX_TEXT = 10_000
MAX_DEPTH = 16
MAX_ITEMS = 5_000

_INT_RE = re.compile(r"[+-]?\d+")
_DECIMAL_RE = re.compile(r"[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?")
_NON_FINITE = frozenset({"nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})
_DATE_RE = re.compile(r"(\d{4,})-(\d{1,2})-(\d{1,2})(?:$|[T ])")
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
# Free-text form fields whose digits are not numbers (a mobile number exceeds 2**31) and whose
# words are not numbers either ("Nan" is a surname): only the text rules apply to them.
_TEXT_FIELDS = re.compile(
    r"(^|_)(name|email|mobile|phone|password|note|address|description|reason|title|"
    r"contact|token|csrf_token|next|url|webhook_url|q|search|comment|label)($|_)"
)


_ID_FIELD = re.compile(r"(^|_)id$")
_YEAR_FIELD = re.compile(r"(^|_)year$")


class InputRefused(Exception):
    """A value outside the boundary; `code` is stable, `key` names the translated message."""

    def __init__(self, code: str, key: str, where: str, **params: Any) -> None:
        super().__init__(code)
        self.code = code
        self.key = key
        self.where = where
        self.params = params


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` limited to what an INTEGER column can hold: larger ids match no route."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", INT_MAX)
        super().__init__(map, *args, **kwargs)


def check_text(value: str, where: str) -> None:
    if "\x00" in value:
        raise InputRefused("invalid_character", "input.nul", where)
    if _SURROGATE_RE.search(value):
        raise InputRefused("invalid_character", "input.surrogate", where)
    if len(value) > MAX_TEXT:
        raise InputRefused("too_long", "input.too_long", where, limit=MAX_TEXT)


def check_date_shape(value: str, where: str) -> None:
    match = _DATE_RE.match(value)
    if match is None:
        return
    year = int(match.group(1))
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InputRefused(
            "date_out_of_range", "input.date_range", where, low=MIN_YEAR, high=MAX_YEAR
        )


def check_int(value: int, where: str) -> None:
    if not INT_MIN <= value <= INT_MAX:
        raise InputRefused(
            "number_out_of_range", "input.int_range", where, low=INT_MIN, high=INT_MAX
        )


def check_year(value: int, where: str) -> None:
    if not MIN_YEAR <= value <= MAX_YEAR:
        raise InputRefused(
            "date_out_of_range", "input.date_range", where, low=MIN_YEAR, high=MAX_YEAR
        )


def _is_year_field(where: str) -> bool:
    return bool(_YEAR_FIELD.search(where.rsplit(".", 1)[-1].lower()))


def check_float(value: float, where: str) -> None:
    if not math.isfinite(value) or abs(value) > MAX_DECIMAL:
        raise InputRefused("number_out_of_range", "input.decimal_range", where, limit=MAX_DECIMAL)


def check_scalar_text(
    value: str, where: str, *, numeric: bool = True, identifier: bool = False
) -> None:
    """A path segment, query or form value: text rules always; number and date rules unless
    the field is free text; an id field (`id`, `*_id`) must be a whole number or empty."""
    check_text(value, where)
    if not numeric:
        return
    stripped = value.strip()
    if identifier and stripped and not _INT_RE.fullmatch(stripped):
        raise InputRefused("not_a_number", "input.not_integer", where)
    check_date_shape(stripped, where)
    if _INT_RE.fullmatch(stripped):
        check_int(int(stripped), where) if len(stripped) <= 20 else _too_big(where)
        if _is_year_field(where):
            check_year(int(stripped), where)
    elif _DECIMAL_RE.fullmatch(stripped):
        check_float(float(stripped), where)
    elif stripped.lower() in _NON_FINITE:
        raise InputRefused("number_out_of_range", "input.decimal_range", where, limit=MAX_DECIMAL)


def _too_big(where: str) -> None:
    raise InputRefused("number_out_of_range", "input.int_range", where, low=INT_MIN, high=INT_MAX)


def check_json_depth(raw: bytes) -> None:
    """Nesting depth counted on the raw bytes, so the parser never recurses into a bomb."""
    depth = 0
    in_string = False
    escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
            continue
        if byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > MAX_DEPTH:
                raise InputRefused("too_deep", "input.too_deep", "body", limit=MAX_DEPTH)
        elif byte in (0x5D, 0x7D):
            depth -= 1


def check_json_value(document: Any, *, ranges: bool = True) -> None:
    """Every value of a parsed JSON document, iteratively (no recursion on hostile input).
    Without `ranges`, only the text rules (for signed provider payloads, see check_request)."""
    stack: list[tuple[str, Any]] = [("body", document)]
    seen = 0
    while stack:
        where, value = stack.pop()
        seen += 1
        if seen > MAX_ITEMS:
            raise InputRefused("too_many_items", "input.too_many", "body", limit=MAX_ITEMS)
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int):
            if ranges:
                check_int(value, where)
                if _is_year_field(where):
                    check_year(value, where)
        elif isinstance(value, float):
            if ranges:
                check_float(value, where)
        elif isinstance(value, str):
            check_text(value, where)
            if ranges:
                check_date_shape(value, where)
        elif isinstance(value, dict):
            for key, item in value.items():
                check_text(str(key), where)
                stack.append((f"{where}.{key}"[:200], item))
        elif isinstance(value, list):
            stack.extend((f"{where}[{i}]", item) for i, item in enumerate(value))


def _is_text_field(name: str) -> bool:
    return bool(_TEXT_FIELDS.search(name.lower()))


def _is_id_field(name: str) -> bool:
    return bool(_ID_FIELD.search(name.lower()))


def _pairs(multi: Any) -> Iterable[tuple[str, str]]:
    for key, values in multi.lists():
        for value in values:
            yield key, value


def check_request() -> None:
    path = request.path
    check_text(path, "path")
    for segment in path.split("/"):
        if _INT_RE.fullmatch(segment) and len(segment) > 20:
            _too_big("path")
        check_date_shape(segment, "path")
    for key, value in _pairs(request.args):
        check_text(key, "query")
        check_scalar_text(
            value,
            f"query.{key}"[:200],
            numeric=not _is_text_field(key),
            identifier=_is_id_field(key),
        )
    if request.method in {"POST", "PUT", "PATCH", "DELETE"}:
        if request.mimetype in {"application/x-www-form-urlencoded", "multipart/form-data"}:
            for key, value in _pairs(request.form):
                check_text(key, "form")
                check_scalar_text(
                    value,
                    f"form.{key}"[:200],
                    numeric=not _is_text_field(key),
                    identifier=_is_id_field(key),
                )
        elif request.is_json:
            raw = request.get_data(cache=True)
            check_json_depth(raw)
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InputRefused("bad_json", "input.bad_json", "body") from exc
            if not text.strip():
                return
            document = request.get_json(silent=True)
            if document is None and text.strip() != "null":
                raise InputRefused("bad_json", "input.bad_json", "body")
            # Signed provider payloads (Stripe) carry the provider's numbers (timestamps, ids):
            # their views verify the signature; only the text and depth rules apply here.
            check_json_value(document, ranges=not request.path.startswith("/webhooks/"))


def refusal(exc: InputRefused) -> tuple[Response, int]:
    return error_response(
        422 if exc.code not in {"bad_json", "too_deep"} else 400,
        exc.code,
        translate(exc.key, **exc.params),
        field=exc.where,
    )


def init_app(app: Flask) -> None:
    app.url_map.converters["int"] = BoundedIntConverter

    @app.before_request
    def _guard_input() -> tuple[Response, int] | None:
        try:
            check_request()
        except InputRefused as exc:
            return refusal(exc)
        return None
