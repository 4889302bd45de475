"""The 16 kinds of request that answered 500 (issue 15) and the huge numbers of issue 10.2:
each now answers 4xx with an error code and a localised message, refused at the input
boundary before any query runs."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask

from tests.shop.security.conftest import Shop, signed_in

BIG = 2**40
HUGE = 2**63
DEEP = "[" * 5000 + "]" * 5000
CONTACT = {"name": "张三", "mobile": "13800138000", "email": "a@example.com"}


def _order(**changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "day": "2030-01-02",
        "lines": [{"sku": "GG-CLASSIC", "quantity": 1}],
        "contact": dict(CONTACT),
    }
    body.update(changes)
    return body


ANONYMOUS: list[tuple[str, str, str, Any]] = [
    # (name, method, path, json body or None)
    ("deep json", "POST", "/api/v1/orders", DEEP),
    (
        "nul in contact name",
        "POST",
        "/api/v1/orders",
        _order(contact={**CONTACT, "name": "a\x00b"}),
    ),
    (
        "surrogate in contact name",
        "POST",
        "/api/v1/orders",
        _order(contact={**CONTACT, "name": "a\ud800b"}),
    ),
    ("nul in sku", "POST", "/api/v1/orders", _order(lines=[{"sku": "GG\x00", "quantity": 1}])),
    (
        "surrogate in sku",
        "POST",
        "/api/v1/orders",
        _order(lines=[{"sku": "GG\udfff", "quantity": 1}]),
    ),
    ("day 9999-12-31 on orders", "POST", "/api/v1/orders", _order(day="9999-12-31")),
    (
        "huge quantity",
        "POST",
        "/api/v1/orders",
        _order(lines=[{"sku": "GG-CLASSIC", "quantity": 99999999999999999999}]),
    ),
    ("nul in order id", "GET", "/api/v1/orders/abc%00def", None),
    ("surrogate in order id", "GET", "/api/v1/orders/abc%ED%A0%80", None),
    ("nul in track token", "GET", "/track/abc/tok%00en", None),
    ("nul in product path", "GET", "/products/GG%00CLASSIC", None),
    ("nul in api product path", "GET", "/api/v1/products/GG%00CLASSIC", None),
    (
        "availability year 1",
        "GET",
        "/api/v1/availability?product=GG-CLASSIC&from=0001-01-01&to=0001-01-05",
        None,
    ),
    (
        "availability year 9999",
        "GET",
        "/api/v1/availability?product=GG-CLASSIC&from=9999-12-25&to=9999-12-31",
        None,
    ),
    (
        "availability nul product",
        "GET",
        "/api/v1/availability?product=GG%00&from=2030-01-01&to=2030-01-05",
        None,
    ),
]

DISTRIBUTOR: list[tuple[str, str, str, Any]] = [
    ("day 9999-12-31 on slots", "GET", "/api/v1/distributor/slots?day=9999-12-31", None),
    ("bookings range year 9999", "GET", "/api/v1/distributor/bookings?start=9999-12-31", None),
    ("booking id 2**40", "GET", f"/api/v1/distributor/bookings/{BIG}", None),
    ("booking id 2**40 patch", "PATCH", f"/api/v1/distributor/bookings/{BIG}", {"slot_id": 1}),
    ("standing order id 2**40", "DELETE", f"/api/v1/distributor/standing-orders/{BIG}", None),
    (
        "standing order skip 2**40",
        "POST",
        f"/api/v1/distributor/standing-orders/{BIG}/skip",
        {"day": "2030-01-02"},
    ),
    (
        "booking slot_id 2**63",
        "POST",
        "/api/v1/distributor/bookings",
        {"day": "2030-01-02", "slot_id": HUGE, "lines": [{"sku": "GG-CLASSIC", "cases": 1}]},
    ),
    (
        "booking day 9999",
        "POST",
        "/api/v1/distributor/bookings",
        {"day": "9999-12-31", "slot_id": 1, "lines": [{"sku": "GG-CLASSIC", "cases": 1}]},
    ),
    (
        "waitlist sku nul",
        "POST",
        "/api/v1/distributor/waitlist",
        {"day": "2030-01-02", "lines": [{"sku": "GG\x00", "cases": 1}]},
    ),
    (
        "booking patch bad values",
        "PATCH",
        "/api/v1/distributor/bookings/1",
        {"slot_id": HUGE, "lines": [{"sku": "\x00", "cases": 99999999999999999999}]},
    ),
    (
        "standing order year 9999",
        "POST",
        "/api/v1/distributor/standing-orders",
        {
            "slot_time": "06:15",
            "starts_on": "9999-12-30",
            "lines": [{"weekday": 0, "sku": "GG-CLASSIC", "cases": 1}],
        },
    ),
    ("token name nul", "POST", "/api/v1/distributor/tokens", {"name": "x\x00"}),
]


def _send(client: Any, method: str, path: str, body: Any, csrf: str | None = None) -> Any:
    headers = {"X-CSRF-Token": csrf} if csrf else {}
    if isinstance(body, str):
        return client.open(
            path, method=method, data=body, content_type="application/json", headers=headers
        )
    if body is None:
        return client.open(path, method=method, headers=headers)
    # json.dumps escapes non-ASCII, so a lone surrogate travels as the JSON escape \\ud800.
    return client.open(
        path, method=method, data=json.dumps(body), content_type="application/json", headers=headers
    )


def _assert_refused(response: Any, name: str) -> None:
    assert 400 <= response.status_code < 500, (
        name,
        response.status_code,
        response.get_data()[:300],
    )
    if response.is_json:
        body = response.get_json()
        assert body["error"], name
        assert body["message"], name


@pytest.mark.parametrize(
    ("name", "method", "path", "body"), ANONYMOUS, ids=[c[0] for c in ANONYMOUS]
)
def test_hostile_anonymous_requests_are_refused_with_4xx(
    app: Flask, shop: Shop, name: str, method: str, path: str, body: Any
) -> None:
    _assert_refused(_send(app.test_client(), method, path, body), name)


@pytest.mark.parametrize(
    ("name", "method", "path", "body"), DISTRIBUTOR, ids=[c[0] for c in DISTRIBUTOR]
)
def test_hostile_distributor_requests_are_refused_with_4xx(
    app: Flask, shop: Shop, name: str, method: str, path: str, body: Any
) -> None:
    client, csrf = signed_in(app, shop.distributor)
    _assert_refused(_send(client, method, path, body, csrf), name)


def test_a_refusal_names_the_field_and_speaks_chinese_by_default_and_english_on_request(
    app: Flask, shop: Shop
) -> None:
    client = app.test_client()
    body = _order(contact={**CONTACT, "name": "a\x00b"})
    zh = client.post("/api/v1/orders", json=body)
    assert zh.status_code == 422
    assert zh.get_json()["error"] == "invalid_character"
    assert zh.get_json()["details"]["field"] == "body.contact.name"
    assert "空字符" in zh.get_json()["message"]
    en = client.post("/api/v1/orders?lang=en", json=body)
    assert "NUL" in en.get_json()["message"]


def test_a_huge_number_in_a_manager_form_is_refused_not_an_overflow(app: Flask, shop: Shop) -> None:
    """Issue 10.2: capacity -> mill count 99999999999999999999 -> save gave 出错了 (500)."""
    client, csrf = signed_in(app, shop.manager)
    response = client.post(
        "/manager/plan/capacity/1",
        data={"csrf_token": csrf, "mills": "99999999999999999999", "cabinets": "2"},
    )
    assert response.status_code == 422
    assert "数字超出范围" in response.get_data(as_text=True)


def test_a_mobile_number_is_text_not_a_number(app: Flask, shop: Shop) -> None:
    """Digits in free-text fields (an 11-digit mobile exceeds 2**31) are not bounded as numbers."""
    client = app.test_client()
    page = client.get("/signup").get_data(as_text=True)
    from tests.support.web import csrf_from

    response = client.post(
        "/signup",
        data={
            "csrf_token": csrf_from(page),
            "email": "new@example.com",
            "name": "Nan",
            "mobile": "13800138000",
            "password": "long-enough-pw",
        },
    )
    assert response.status_code in (302, 303)
