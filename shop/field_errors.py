"""The JSON API's per-field validation messages in the reader's language.

marshmallow and webargs word a bad field in English ("Missing data for required field.",
"Must be greater than or equal to 1 and less than or equal to 1000."). Rather than give every
schema of every area its own messages, the error handlers pass the messages through
`localise_fields`: each English message is recognised by the pattern of the library's template
it was made from, which gives it a stable code and its values (1, 1000); the code's catalogue
text (`valid.<code>` in `shop/translations/validation.json`) words it again in Chinese. English
readers keep the library's own message, unchanged for existing clients.

A schema's own message is a catalogue key (`raise ValidationError("valid.slot_or_lines")`), so
it is worded the same way in both languages. A message nobody taught this module is shown as
the generic "invalid value" in Chinese with code `other` (a test walks every API operation so
that none is left).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from typing import Any

from shop.i18n import catalogue, translate

_MIN_OP = r"(?P<min_op>greater than or equal to|greater than)"
_MAX_OP = r"(?P<max_op>less than or equal to|less than)"
_NUMBER = r"(?P<{}>\S+)"

# (code, the library's English message as a pattern). Order matters only where one pattern
# could match another's text; each is matched against the whole message.
PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (code, re.compile(pattern))
    for code, pattern in [
        ("required", r"Missing data for required field\."),
        ("null", r"Field may not be null\."),
        ("invalid_value", r"Invalid value\."),
        ("unknown_field", r"Unknown field\."),
        ("invalid_type", r"Invalid (?:input )?type\."),
        ("invalid_json", r"Invalid JSON body\."),
        ("not_integer", r"Not a valid integer\."),
        ("not_number", r"Not a valid number\."),
        ("number_too_large", r"Number too large\."),
        ("special_number", r"Special numeric values \(nan or infinity\) are not permitted\."),
        ("not_boolean", r"Not a valid boolean\."),
        ("not_string", r"Not a valid string\."),
        ("not_utf8", r"Not a valid utf-8 string\."),
        ("not_date", r"Not a valid date\."),
        (
            "not_temporal",
            r"Not a valid (?:(?P<awareness>aware|naive) )?(?P<obj_type>datetime|time|date)\.",
        ),
        (
            "bad_format",
            r"(?P<input>.*) cannot be formatted as a (?P<obj_type>date|datetime|time|timedelta)\.",
        ),
        ("not_mapping", r"Not a valid mapping type\."),
        ("not_list", r"Not a valid list\."),
        ("not_tuple", r"Not a valid tuple\."),
        ("not_email", r"Not a valid email address\."),
        ("not_url", r"Not a valid URL\."),
        ("not_uuid", r"Not a valid UUID\."),
        ("not_ip", r"Not a valid (?P<kind>IP|IPv4|IPv6) (?P<what>address|interface)\."),
        ("not_timedelta", r"Not a valid period of time\."),
        ("one_of", r"Must be one of: (?P<choices>.*)\."),
        ("length_between", r"Length must be between (?P<min>\S+) and (?P<max>\S+)\."),
        ("length_equal", r"Length must be (?P<equal>\S+)\."),
        ("length_max", r"Longer than maximum length (?P<max>\S+)\."),
        ("length_min", r"Shorter than minimum length (?P<min>\S+)\."),
        ("range", rf"Must be {_MIN_OP} (?P<min>\S+) and {_MAX_OP} (?P<max>\S+)\."),
        ("range_min", rf"Must be {_MIN_OP} (?P<min>\S+)\."),
        ("range_max", rf"Must be {_MAX_OP} (?P<max>\S+)\."),
        ("equal", r"Must be equal to (?P<other>.+)\."),
        ("pattern", r"String does not match expected pattern\."),
        ("invalid_input", r"Invalid input\."),
        ("contains_only", r"One or more of the choices you made was not in: (?P<choices>.*)\."),
        ("contains_none_of", r"One or more of the choices you made was in: (?P<values>.*)\."),
    ]
]

# Values inside a message that are words, not data: worded per language too.
_WORDS = {
    "min_op": {"greater than or equal to": "gte", "greater than": "gt"},
    "max_op": {"less than or equal to": "lte", "less than": "lt"},
    "obj_type": {"date": "date", "datetime": "datetime", "time": "time", "timedelta": "timedelta"},
    "awareness": {"aware": "aware", "naive": "naive"},
    "what": {"address": "address", "interface": "interface"},
}

OTHER = "other"
KEY_PREFIX = "valid."


@dataclass(frozen=True)
class FieldError:
    """One message about one field: where (`location`: json, query, ...; `field`: a dotted
    path such as `days.0.day`, empty for the whole body), a stable `code`, the text in the
    reader's language and in English."""

    location: str
    field: str
    code: str
    message: str
    message_en: str


def classify(message: str) -> tuple[str, dict[str, str]]:
    """The stable code of one library (or schema) message and the values it carries."""
    if message.startswith(KEY_PREFIX) and message in catalogue():
        return message.removeprefix(KEY_PREFIX), {}
    for code, pattern in PATTERNS:
        found = pattern.fullmatch(message)
        if found:
            return code, {k: v for k, v in found.groupdict().items() if v is not None}
    return OTHER, {}


def word(message: str, lang: str) -> tuple[str, str, str]:
    """(code, text in `lang`, text in English) of one message."""
    code, values = classify(message)
    english = translate(message, "en") if message.startswith(KEY_PREFIX) else message
    if code == OTHER:
        return code, (message if lang == "en" else translate(f"{KEY_PREFIX}{OTHER}", lang)), message
    if lang == "en":
        return code, english, english
    params = dict(values)
    for name, words in _WORDS.items():
        if name in params:
            params[name] = translate(f"{KEY_PREFIX}word.{words[params[name]]}", lang)
    params.setdefault("awareness", "")
    return code, translate(f"{KEY_PREFIX}{code}", lang, **params), english


def localise_fields(messages: Any, lang: str) -> tuple[Any, list[dict[str, str]]]:
    """webargs' nested messages ({location: {field: [message, ...], nested: {...}}}) with each
    message worded in `lang`, same keys and shape; and the same as a flat list of FieldError
    dicts, each with its code."""
    flat: list[FieldError] = []

    def walk(node: Any, path: list[str]) -> Any:
        if isinstance(node, dict):
            return {key: walk(value, [*path, str(key)]) for key, value in node.items()}
        if isinstance(node, list | tuple):
            return [walk(item, path) for item in node]
        if isinstance(node, str):
            code, text, english = word(node, lang)
            location, *rest = path or [""]
            field = ".".join(p for p in rest if p != "_schema")
            flat.append(FieldError(location, field, code, text, english))
            return text
        return node

    return walk(messages, []), [asdict(e) for e in flat]
