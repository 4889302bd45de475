"""The JSON API under /api/v1."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select

from inventory.db import transaction
from shop.auth import create_user
from shop.models import Role
from shop.orders.models import Order
from tests.shop.orders.conftest import Shop, csrf_of, order_json


def order_count(shop: Shop) -> int:
    with shop.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(Order)) or 0)


def test_products_and_availability_are_listed(app: Flask, shop: Shop) -> None:
    client = app.test_client()
    products = client.get("/api/v1/products").get_json()
    assert [p["sku"] for p in products] == ["GG-CLASSIC", "GG-GIFT"]
    assert products[0]["price_fen"] == 1250
    start, end = shop.open_day, shop.closed_day
    answer = client.get(f"/api/v1/availability?product=GG-CLASSIC&from={start}&to={end}").get_json()
    days = {d["date"]: (d["state"], d["available"]) for d in answer["days"]}
    assert days[shop.open_day.isoformat()] == ("open", 100)
    assert days[shop.scarce_day.isoformat()] == ("open", 3)
    assert days[shop.sold_out_day.isoformat()] == ("sold_out", 0)
    assert days[shop.closed_day.isoformat()] == ("closed", 0)


def test_an_anonymous_api_order_is_created_read_with_its_token_and_cancelled(
    app: Flask, shop: Shop
) -> None:
    client = app.test_client()
    response = client.post("/api/v1/orders", json=order_json(shop.open_day, ("GG-CLASSIC", 2)))
    assert response.status_code == 201, response.get_json()
    placed = response.get_json()
    assert placed["status"] == "confirmed"
    assert placed["total_fen"] == 2500
    assert "/track/" in placed["status_url"]
    headers = {"X-Order-Token": placed["access_token"]}
    assert client.get(f"/api/v1/orders/{placed['id']}").status_code == 404
    assert (
        client.get(f"/api/v1/orders/{placed['id']}", headers={"X-Order-Token": "guess"}).status_code
        == 404
    )
    read = client.get(f"/api/v1/orders/{placed['id']}", headers=headers)
    assert read.status_code == 200
    assert read.get_json()["lines"][0]["sku"] == "GG-CLASSIC"
    cancelled = client.post(f"/api/v1/orders/{placed['id']}/cancel", headers=headers, json={})
    assert cancelled.status_code == 200
    assert cancelled.get_json()["status"] == "cancelled"
    again = client.post(f"/api/v1/orders/{placed['id']}/cancel", headers=headers, json={})
    assert again.status_code == 409


def test_a_sold_out_day_gets_a_clear_409(app: Flask, shop: Shop) -> None:
    response = app.test_client().post(
        "/api/v1/orders", json=order_json(shop.scarce_day, ("GG-CLASSIC", 4))
    )
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "sold_out"
    assert body["message"]


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b, s: b["lines"][0].update(quantity=0),
        lambda b, s: b["lines"][0].update(quantity=10**9),
        lambda b, s: b["lines"][0].update(quantity="2"),
        lambda b, s: b["lines"][0].update(sku="NO-SUCH"),
        lambda b, s: b.update(day=(s.open_day - timedelta(days=5)).isoformat()),
        lambda b, s: b.update(day=s.closed_day.isoformat()),
        lambda b, s: b.update(day="2027-02-30"),
        lambda b, s: b.update(lines=[]),
        lambda b, s: b["contact"].update(email="not-an-email"),
        lambda b, s: b.update(fulfilment="drone"),
        lambda b, s: b.update(pickup_point="moon"),
    ],
    ids=[
        "zero",
        "billion",
        "string-qty",
        "unknown-product",
        "past-day",
        "closed-day",
        "bad-date",
        "no-lines",
        "bad-email",
        "bad-fulfilment",
        "bad-pickup-point",
    ],
)
def test_bad_orders_get_a_4xx_json_error_and_change_nothing(app: Flask, shop: Shop, mutate) -> None:  # type: ignore[no-untyped-def]
    body = order_json(shop.open_day, ("GG-CLASSIC", 1))
    mutate(body, shop)
    response = app.test_client().post("/api/v1/orders", json=body)
    assert 400 <= response.status_code < 500, response.get_data(as_text=True)
    assert response.get_json()["error"]
    assert order_count(shop) == 0


def test_malformed_json_and_a_ten_megabyte_body_are_refused(app: Flask, shop: Shop) -> None:
    client = app.test_client()
    response = client.post(
        "/api/v1/orders", data="{not json", headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.get_json()["error"]
    big = json.dumps({"pad": "x" * (10 * 1024 * 1024)})
    response = client.post("/api/v1/orders", data=big, headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"
    assert order_count(shop) == 0


def test_availability_rejects_bad_ranges_and_unknown_products(app: Flask, shop: Shop) -> None:
    client = app.test_client()
    d = shop.open_day
    assert client.get(f"/api/v1/availability?product=NOPE&from={d}&to={d}").status_code == 404
    assert (
        client.get(
            f"/api/v1/availability?product=GG-CLASSIC&from={d}&to={d - timedelta(days=1)}"
        ).status_code
        == 422
    )
    assert (
        client.get(
            f"/api/v1/availability?product=GG-CLASSIC&from={d}&to={d + timedelta(days=400)}"
        ).status_code
        == 422
    )
    assert (
        client.get("/api/v1/availability?product=GG-CLASSIC&from=yesterday&to=x").status_code == 422
    )


def test_customer_a_cannot_read_or_cancel_customer_bs_order_through_the_api(
    app: Flask, shop: Shop
) -> None:
    with transaction(shop.sessions) as s:
        for email in ("a@example.com", "b@example.com"):
            create_user(s, email=email, name="X", password="long-password", role=Role.CUSTOMER)
    clients = {}
    for email in ("a@example.com", "b@example.com"):
        client = app.test_client()
        token = csrf_of(client, "/signin")
        client.post(
            "/signin", data={"csrf_token": token, "email": email, "password": "long-password"}
        )
        clients[email] = (client, csrf_of(client, "/account"))
    b_client, b_csrf = clients["b@example.com"]
    placed = b_client.post(
        "/api/v1/orders",
        json=order_json(shop.open_day, ("GG-CLASSIC", 1)),
        headers={"X-CSRF-Token": b_csrf},
    )
    assert placed.status_code == 201
    order_id = placed.get_json()["id"]
    assert b_client.get(f"/api/v1/orders/{order_id}").status_code == 200
    a_client, a_csrf = clients["a@example.com"]
    assert a_client.get(f"/api/v1/orders/{order_id}").status_code == 404
    refused = a_client.post(
        f"/api/v1/orders/{order_id}/cancel", json={}, headers={"X-CSRF-Token": a_csrf}
    )
    assert refused.status_code == 404
    assert b_client.get(f"/api/v1/orders/{order_id}").get_json()["status"] == "confirmed"


def test_an_api_call_with_a_session_cookie_needs_the_csrf_header(app: Flask, shop: Shop) -> None:
    client = app.test_client()
    csrf_of(client, "/")  # now the browser has a session cookie
    response = client.post("/api/v1/orders", json=order_json(shop.open_day, ("GG-CLASSIC", 1)))
    assert response.status_code == 400
    assert response.get_json()["error"] == "csrf_failed"
    assert order_count(shop) == 0


def test_the_openapi_document_and_docs_describe_the_order_api(app: Flask) -> None:
    client = app.test_client()
    spec = client.get("/api/openapi.json").get_json()
    for path in (
        "/api/v1/orders",
        "/api/v1/orders/{public_id}",
        "/api/v1/availability",
        "/api/v1/products",
    ):
        assert path in spec["paths"], path
    assert client.get("/api/docs").status_code == 200


def test_a_cross_site_form_post_to_the_order_api_is_refused(app: Flask, shop: Shop) -> None:
    response = app.test_client().post(
        "/api/v1/orders", data={"day": shop.open_day.isoformat(), "lines": "x"}
    )
    assert response.status_code == 400
    assert response.get_json()["error"] == "csrf_failed"
    assert order_count(shop) == 0


def test_the_first_api_order_on_a_fresh_database_finds_the_default_pickup_points(
    app: Flask, shop: Shop
) -> None:
    from sqlalchemy import delete

    from shop.orders.models import DeliveryZone, PickupPoint

    with transaction(shop.sessions) as s:
        s.execute(delete(PickupPoint))
        s.execute(delete(DeliveryZone))
    response = app.test_client().post(
        "/api/v1/orders",
        json=order_json(shop.open_day, ("GG-CLASSIC", 1), pickup_point="changde"),
    )
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["pickup_point"] == "changde"


def test_a_day_the_plant_does_not_bake_is_shown_closed_and_cannot_be_ordered(
    app: Flask, shop: Shop
) -> None:
    from scheduling.planning.calendar import set_calendar_entry

    with transaction(shop.sessions) as s:
        set_calendar_entry(s, shop.open_day, production=False, name="春节")
    client = app.test_client()
    d = shop.open_day
    days = client.get(f"/api/v1/availability?product=GG-CLASSIC&from={d}&to={d}").get_json()
    assert (days["days"][0]["state"], days["days"][0]["available"]) == ("closed", 0)
    response = client.post("/api/v1/orders", json=order_json(d, ("GG-CLASSIC", 1)))
    assert response.status_code == 409
    assert response.get_json()["error"] == "day_closed"
    assert order_count(shop) == 0
    page = client.get("/products/GG-CLASSIC").get_data(as_text=True)
    assert f'<label class="day day-closed" data-day="{d.isoformat()}"' in page
