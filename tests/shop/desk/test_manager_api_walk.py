"""Every operation of the manager JSON API, walked from the OpenAPI document (not from a list
kept by hand, so a new operation is covered the day it is added): bad input is a 4xx whose
message is Chinese by default and English with ?lang=en.

The other two promises of the issue are walked the same way: customers and distributors get
403 from every operation (`test_desk_pages_api.test_every_manager_operation_refuses_...`),
and schemathesis fuzzes every operation of the document as a manager and as a distributor
without a 5xx (`tests/shop/security/test_api_fuzz.py`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.shop.conftest import Desk

Client = Callable[[str], FlaskClient]
METHODS = ("get", "post", "put", "patch", "delete")
# A value no field of any schema accepts: not a string, number, boolean, date, list of
# scalars or object of them.
WRONG: Any = [[[]]]
CJK = re.compile(r"[\u4e00-\u9fff]")


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        schema = spec["components"]["schemas"][name]
    return schema


def _operations(app: Flask) -> list[tuple[str, str, dict[str, Any], list[dict[str, Any]]]]:
    spec = app.test_client().get("/api/openapi.json").get_json()
    found = []
    for path, item in spec["paths"].items():
        if not path.startswith("/api/v1/manager/"):
            continue
        for method in METHODS:
            if method not in item:
                continue
            op = item[method]
            params = [*item.get("parameters", []), *op.get("parameters", [])]
            body: dict[str, Any] = {}
            content = op.get("requestBody", {}).get("content", {})
            if "application/json" in content:
                body = _resolve(spec, content["application/json"]["schema"])
            found.append((method, path, body, params))
    return found


def _bad_request(
    path: str, body_schema: dict[str, Any], params: list[dict[str, Any]]
) -> tuple[str, dict[str, Any] | None, dict[str, str]] | None:
    """The path with unknown ids, a body with every field wrong, every query value wrong;
    None when the operation takes no input at all."""
    filled = path
    for p in params:
        if p["in"] == "path":
            unknown = "987654" if p.get("schema", {}).get("type") == "integer" else "NOPE-404"
            filled = filled.replace("{" + p["name"] + "}", unknown)
    query = {p["name"]: "[[[]]]" for p in params if p["in"] == "query"}
    body = None
    if body_schema:
        properties = body_schema.get("properties") or {}
        body = {name: WRONG for name in properties} or WRONG
    if body is None and not query and filled == path:
        return None
    return filled, body, query


def test_bad_input_to_every_manager_operation_is_a_4xx_in_chinese_and_english(
    desk_app: Flask, client_as: Client, desk: Desk
) -> None:
    operations = _operations(desk_app)
    assert len(operations) >= 45, "the manager API is in the document"
    chinese = client_as("manager")
    walked, without_input, wrong = [], [], []
    for method, path, body_schema, params in operations:
        request = _bad_request(path, body_schema, params)
        if request is None:
            without_input.append(f"{method.upper()} {path}")
            # Nothing to get wrong: it answers the manager.
            response = chinese.open(path, method=method.upper())
            assert response.status_code < 400, (method, path, response.status_code)
            continue
        url, body, query = request
        walked.append(f"{method.upper()} {path}")
        answers = {}
        for lang in ("", "en"):
            # ?lang=en is remembered by the session: English is asked on a client of its own.
            client = chinese if not lang else client_as("manager")
            args = dict(query, **({"lang": lang} if lang else {}))
            response = client.open(url, method=method.upper(), json=body, query_string=args)
            payload = response.get_json(silent=True) or {}
            answers[lang] = (response.status_code, str(payload.get("message", "")))
        (status_zh, message_zh), (status_en, message_en) = answers[""], answers["en"]
        if not (
            400 <= status_zh < 500
            and status_zh == status_en
            and CJK.search(message_zh)
            and message_en
            and not CJK.search(message_en)
        ):
            wrong.append(f"{method.upper()} {url} {query} -> {answers}")
    assert wrong == [], "\n".join(wrong)
    # The operations without any input are the plain lists (and the unlock-all button's
    # read side): everything else was walked with bad input.
    assert all(op.startswith("GET ") for op in without_input), without_input
    assert len(walked) >= 35
