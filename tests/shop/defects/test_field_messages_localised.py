"""Issue 10 item 7: the JSON API's per-field validation messages are Chinese by default and
English on request, each with a stable code, for every operation of the OpenAPI document that
takes a body or typed query parameters. Bad input is built from the document itself: every
required field left out (plus an unknown one), then every field given a value of the wrong
type."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from shop.field_errors import OTHER, PATTERNS, classify, localise_fields
from tests.shop.security.conftest import Shop, shop, signed_in

__all__ = ["shop"]

CJK = re.compile(r"[\u4e00-\u9fff]")
# Two English words in a row: what a sentence left in English looks like. Choices and field
# names inside a Chinese message ("core, apprentice", "slot_id 或 lines") are not that.
ENGLISH_WORDS = re.compile(r"\b[A-Za-z]{2,} [A-Za-z]{2,}\b")


def _resolve(spec: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        name = node["$ref"].rsplit("/", 1)[1]
        node = spec["components"]["schemas"][name]
    if "allOf" in node:
        merged: dict[str, Any] = {"properties": {}, "required": []}
        for part in node["allOf"]:
            part = _resolve(spec, part)
            merged["properties"].update(part.get("properties", {}))
            merged["required"] += part.get("required", [])
        return merged
    return node


def _wrong(spec: dict[str, Any], prop: dict[str, Any]) -> Any:
    """A value of the wrong type for a property."""
    prop = _resolve(spec, prop)
    kind = prop.get("type")
    if kind in {"integer", "number", "boolean", "array", "object"}:
        return "x"
    if kind == "string":
        return "not-a-date" if prop.get("format") in {"date", "date-time"} else 12345
    return "x"


def _path(template: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", template)


def _body_schema(spec: dict[str, Any], op: dict[str, Any]) -> dict[str, Any] | None:
    content = op.get("requestBody", {}).get("content", {})
    media = content.get("application/json")
    return _resolve(spec, media["schema"]) if media else None


def _bad_requests(spec: dict[str, Any], op: dict[str, Any]) -> list[dict[str, Any]]:
    """(json body | query string) pairs of bad input for one operation."""
    out: list[dict[str, Any]] = []
    body = _body_schema(spec, op)
    if body is not None and body.get("properties"):
        props = body["properties"]
        out.append({"json": {"zz_unknown_field": 1}})
        out.append({"json": {name: _wrong(spec, p) for name, p in props.items()}})
    query = [p for p in op.get("parameters", []) if p.get("in") == "query"]
    typed = [p for p in query if _resolve(spec, p.get("schema", {})).get("type") != "string"]
    typed += [
        p
        for p in query
        if _resolve(spec, p.get("schema", {})).get("format") in {"date", "date-time"}
    ]
    if any(p.get("required") for p in query):
        out.append({"query_string": {}})
    if typed:
        out.append({"query_string": {p["name"]: "x" for p in typed}})
    return out


def _errors(response: Any) -> list[dict[str, str]]:
    body = response.get_json(silent=True) or {}
    return list(body.get("details", {}).get("field_errors", []))


def test_every_library_message_is_recognised_and_worded_in_both_languages() -> None:
    """marshmallow's own templates, filled in: each has a code and Chinese text."""
    from marshmallow import fields, validate

    samples = [
        fields.Field.default_error_messages["required"],
        fields.Field.default_error_messages["null"],
        fields.Integer.default_error_messages["invalid"],
        fields.Float.default_error_messages["special"],
        fields.Date.default_error_messages["invalid"],
        fields.DateTime.default_error_messages["invalid"].format(obj_type="datetime"),
        fields.DateTime.default_error_messages["invalid_awareness"].format(
            awareness="aware", obj_type="datetime"
        ),
        fields.Date.default_error_messages["format"].format(input="x"),
        fields.Email.default_error_messages["invalid"],
        fields.IPv6.default_error_messages["invalid_ip"],
        validate.OneOf(["a", "b"]).error.format(choices="a, b"),
        "Must be greater than or equal to 1 and less than or equal to 1000.",
        "Must be greater than 0.",
        "Must be less than or equal to 0.5.",
        validate.Length.message_all.format(min=1, max=6),
        validate.Length.message_max.format(max=80),
        validate.Length.message_min.format(min=1),
        validate.Length.message_equal.format(equal=6),
        validate.Regexp.default_message,
        "Unknown field.",
        "Invalid JSON body.",
    ]
    for message in samples:
        code, _values = classify(message)
        assert code != OTHER, message
        zh, _ = localise_fields({"json": {"f": [message]}}, "zh")
        assert CJK.search(zh["json"]["f"][0]) and not ENGLISH_WORDS.search(zh["json"]["f"][0])
        en, flat = localise_fields({"json": {"f": [message]}}, "en")
        assert en["json"]["f"][0] == message and flat[0]["code"] == code
    assert len({code for code, _ in PATTERNS}) == len(PATTERNS), "codes are unique"


def test_every_api_operation_words_its_field_errors_in_chinese_and_in_english_on_request(
    app: Flask, shop: Shop
) -> None:
    clients: list[tuple[FlaskClient, str]] = [
        signed_in(app, email) for email in (shop.manager, shop.distributor, shop.customer)
    ]
    spec = clients[0][0].get("/api/openapi.json").get_json()
    checked: set[str] = set()
    refused_otherwise: list[str] = []
    problems: list[str] = []
    for path, operations in spec["paths"].items():
        for method, op in operations.items():
            if method not in {"get", "post", "put", "patch", "delete"}:
                continue
            if method == "delete" and path.endswith("/sessions"):
                continue  # signing out everywhere would end the run's sessions
            name = f"{method.upper()} {path}"
            for bad in _bad_requests(spec, op):
                response = None
                for client, token in clients:
                    response = client.open(
                        _path(path), method=method.upper(), headers={"X-CSRF-Token": token}, **bad
                    )
                    if response.status_code not in {401, 403}:
                        break
                assert response is not None
                assert 400 <= response.status_code < 500, (name, bad, response.status_code)
                errors = _errors(response)
                if not errors:
                    # Refused before the schema (the input boundary's own check of an id):
                    # then the refusal as a whole is worded.
                    message = (response.get_json(silent=True) or {}).get("message", "")
                    if not CJK.search(message):
                        problems.append(f"{name} {bad}: {response.status_code} {message!r}")
                    refused_otherwise.append(name)
                    continue
                checked.add(name)
                for e in errors:
                    if e["code"] == OTHER or not CJK.search(e["message"]):
                        problems.append(f"{name} {e}")
                    elif ENGLISH_WORDS.search(e["message"]):
                        problems.append(f"{name}: English left in {e['message']!r}")
                english = client.open(
                    _path(path),
                    method=method.upper(),
                    headers={"X-CSRF-Token": token, "Accept-Language": "en"},
                    **bad,
                )
                for e in _errors(english):
                    if CJK.search(e["message"]) or e["message"] != e["message_en"]:
                        problems.append(f"{name} (en): {e}")
                assert [e["field"] for e in _errors(english)] == [e["field"] for e in errors]
    assert problems == [], "\n".join(problems)
    # Every operation that takes input was tried; nearly all answer with field messages.
    assert len(checked) >= 50, sorted(checked)
    assert len(set(refused_otherwise)) <= 3, refused_otherwise


def test_a_plan_without_dates_names_both_fields_with_their_codes_in_the_chosen_language(
    app: Flask, shop: Shop
) -> None:
    client, token = signed_in(app, shop.manager)
    headers = {"X-CSRF-Token": token}
    zh = client.post("/api/v1/planning/plans", json={"growth_pct": 0}, headers=headers)
    assert zh.status_code == 422
    body = zh.get_json()
    assert body["error"] == "unprocessable"  # the stable code stays
    assert body["details"]["fields"]["json"] == {
        "start": ["缺少必填字段。"],
        "end": ["缺少必填字段。"],
        "growth_pct": ["必须大于或等于 1 且小于或等于 1000。"],
    }
    codes = {(e["field"], e["code"]) for e in body["details"]["field_errors"]}
    assert codes == {("start", "required"), ("end", "required"), ("growth_pct", "range")}
    en = client.post(
        "/api/v1/planning/plans",
        json={"growth_pct": 0},
        headers=headers | {"Accept-Language": "en-US,en;q=0.9"},
    ).get_json()
    assert en["details"]["fields"]["json"]["start"] == ["Missing data for required field."]
    assert {(e["field"], e["code"]) for e in en["details"]["field_errors"]} == codes
    # The reader's own choice (?lang=, kept in a cookie) comes before the header; pages never
    # follow the header at all.
    client.get("/account?lang=zh")
    chosen = client.post(
        "/api/v1/planning/plans", json={}, headers=headers | {"Accept-Language": "en"}
    ).get_json()
    assert chosen["details"]["fields"]["json"]["start"] == ["缺少必填字段。"]
    fresh, _ = signed_in(app, shop.manager)
    page = fresh.get("/manager/plan/capacity", headers={"Accept-Language": "en"})
    assert "产能" in page.get_data(as_text=True)
