"""The storefront pages through Flask's test client."""

from __future__ import annotations

import re

from flask import Flask
from sqlalchemy import select

from inventory.db import transaction
from inventory.settings import Settings
from shop.app import create_app
from shop.auth import create_user
from shop.models import Role
from shop.orders.models import Order, OrderStatus
from tests.shop.orders.conftest import Shop, csrf_of


def add_to_cart(client, token: str, day: str, sku: str = "GG-CLASSIC", quantity: int = 2):  # type: ignore[no-untyped-def]
    return client.post(
        "/cart/add", data={"csrf_token": token, "sku": sku, "day": day, "quantity": str(quantity)}
    )


def checkout(client, token: str, **fields: str):  # type: ignore[no-untyped-def]
    data = {
        "csrf_token": token,
        "name": "王芳",
        "mobile": "13800138000",
        "email": "wang@example.com",
        "fulfilment": "pickup",
        "pickup_point": "factory",
        "payment_method": "pay_at_pickup",
    }
    data.update(fields)
    return client.post("/checkout", data=data)


def test_the_catalogue_lists_products_in_chinese_with_yuan_prices(app: Flask) -> None:
    page = app.test_client().get("/").get_data(as_text=True)
    assert "杨村糕干（经典）" in page
    assert "¥12.50" in page
    assert "¥88.00" in page


def test_the_product_calendar_shows_open_sold_out_and_closed_days(app: Flask, shop: Shop) -> None:
    page = app.test_client().get("/products/GG-CLASSIC").get_data(as_text=True)

    def label(day: str) -> str:
        match = re.search(
            rf'<label class="day day-(\w+)" data-day="{day}"[^>]*>\s*<input([^>]*)>', page
        )
        assert match, day
        return match.group(1) + ("|disabled" if "disabled" in match.group(2) else "")

    assert label(shop.open_day.isoformat()) == "open"
    assert label(shop.sold_out_day.isoformat()) == "sold_out|disabled"
    assert label(shop.closed_day.isoformat()) == "closed|disabled"
    assert "售罄" in page and "休息" in page


def test_the_page_switches_to_english_and_remembers_it(app: Flask) -> None:
    client = app.test_client()
    assert "Yangcun gaogan (classic)" in client.get("/?lang=en").get_data(as_text=True)
    page = client.get("/products/GG-CLASSIC").get_data(as_text=True)
    assert "Choose your day" in page and "Sold out" in page


def test_a_customer_orders_with_pay_at_pickup_and_sees_the_status_page(
    app: Flask, shop: Shop
) -> None:
    client = app.test_client()
    token = csrf_of(client, "/products/GG-CLASSIC")
    assert add_to_cart(client, token, shop.open_day.isoformat()).status_code == 302
    cart = client.get("/cart").get_data(as_text=True)
    assert "¥25.00" in cart
    assert "自取" in client.get("/checkout").get_data(as_text=True)
    response = checkout(client, token)
    assert response.status_code == 302
    status_url = response.headers["Location"]
    assert status_url.startswith("/track/")
    status_page = client.get(status_url)
    assert status_page.headers["Referrer-Policy"] == "no-referrer"
    page = status_page.get_data(as_text=True)
    assert 'data-status="confirmed"' in page
    assert "万全堂工厂店" in page
    assert "¥25.00" in page
    # The cart is emptied once the order is placed.
    assert "购物车是空的" in client.get("/cart").get_data(as_text=True)


def test_a_sold_out_day_cannot_be_put_in_the_cart(app: Flask, shop: Shop) -> None:
    client = app.test_client()
    token = csrf_of(client, "/products/GG-CLASSIC")
    response = add_to_cart(client, token, shop.sold_out_day.isoformat())
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/products/GG-CLASSIC")
    assert "购物车是空的" in client.get("/cart").get_data(as_text=True)


def test_checkout_beyond_what_is_left_is_refused_with_a_message(app: Flask, shop: Shop) -> None:
    client = app.test_client()
    token = csrf_of(client, "/products/GG-CLASSIC")
    add_to_cart(client, token, shop.scarce_day.isoformat(), quantity=3)
    other = app.test_client()
    other_token = csrf_of(other, "/products/GG-CLASSIC")
    add_to_cart(other, other_token, shop.scarce_day.isoformat(), quantity=2)
    assert checkout(other, other_token).status_code == 302
    response = checkout(client, token)
    assert response.status_code == 409
    assert "订单未能提交：所选日期库存不足" in response.get_data(as_text=True)


def test_forms_refuse_a_missing_csrf_token(app: Flask, shop: Shop) -> None:
    client = app.test_client()
    csrf_of(client, "/products/GG-CLASSIC")
    response = client.post(
        "/cart/add", data={"sku": "GG-CLASSIC", "day": shop.open_day.isoformat(), "quantity": "1"}
    )
    assert response.status_code == 400
    assert client.post("/checkout", data={"name": "x"}).status_code == 400
    assert client.post("/signin", data={"email": "a@b.cn", "password": "x"}).status_code == 400
    with shop.sessions() as s:
        assert s.scalars(select(Order)).all() == []


def test_signed_in_customers_see_their_history_and_cannot_open_another_customers_order(
    app: Flask, shop: Shop
) -> None:
    with transaction(shop.sessions) as s:
        for email in ("a@example.com", "b@example.com"):
            create_user(
                s, email=email, name=email[0].upper(), password="long-password", role=Role.CUSTOMER
            )
    alice, bob = app.test_client(), app.test_client()
    for client, email in ((alice, "a@example.com"), (bob, "b@example.com")):
        token = csrf_of(client, "/signin")
        response = client.post(
            "/signin", data={"csrf_token": token, "email": email, "password": "long-password"}
        )
        assert response.status_code == 302
    token = csrf_of(alice, "/products/GG-CLASSIC")
    add_to_cart(alice, token, shop.open_day.isoformat())
    track_url = checkout(alice, token).headers["Location"]
    with shop.sessions() as s:
        order = s.scalars(select(Order)).one()
        public_id = order.public_id
    assert public_id in alice.get("/account").get_data(as_text=True)
    assert alice.get(f"/orders/{public_id}").status_code == 200
    assert public_id not in bob.get("/account").get_data(as_text=True)
    assert bob.get(f"/orders/{public_id}").status_code == 404
    bob_token = csrf_of(bob, "/account")
    assert (
        bob.post(f"/orders/{public_id}/cancel", data={"csrf_token": bob_token}).status_code == 404
    )
    wrong_link = track_url.rsplit("/", 1)[0] + "/not-the-token"
    assert bob.get(wrong_link).status_code == 404
    with shop.sessions() as s:
        assert s.scalars(select(Order)).one().status is OrderStatus.CONFIRMED
    # Alice can cancel her own order before the cut-off.
    token = csrf_of(alice, f"/orders/{public_id}")
    assert alice.post(f"/orders/{public_id}/cancel", data={"csrf_token": token}).status_code == 302
    with shop.sessions() as s:
        assert s.scalars(select(Order)).one().status is OrderStatus.CANCELLED


def test_sign_in_returns_to_a_local_next_page_only(app: Flask, shop: Shop) -> None:
    with transaction(shop.sessions) as s:
        create_user(s, email="m@example.com", name="M", password="long-password", role=Role.MANAGER)
    client = app.test_client()
    token = csrf_of(client, "/signin")
    response = client.post(
        "/signin",
        data={
            "csrf_token": token,
            "email": "m@example.com",
            "password": "long-password",
            "next": "/manager/plan?x=1",
        },
    )
    assert response.headers["Location"] == "/manager/plan?x=1"
    client = app.test_client()
    token = csrf_of(client, "/signin")
    response = client.post(
        "/signin",
        data={
            "csrf_token": token,
            "email": "m@example.com",
            "password": "long-password",
            "next": "https://evil.example/",
        },
    )
    assert response.headers["Location"] == "/account"


def test_sign_up_creates_a_customer_and_signs_in(app: Flask) -> None:
    client = app.test_client()
    token = csrf_of(client, "/signup")
    response = client.post(
        "/signup",
        data={
            "csrf_token": token,
            "email": "new@example.com",
            "name": "新客",
            "mobile": "13900000000",
            "password": "long-password",
        },
    )
    assert response.status_code == 302
    assert "new@example.com" in client.get("/account").get_data(as_text=True)
    token = csrf_of(client, "/signup")
    weak = app.test_client()
    weak_token = csrf_of(weak, "/signup")
    response = weak.post(
        "/signup",
        data={"csrf_token": weak_token, "email": "w@example.com", "name": "W", "password": "short"},
    )
    assert response.status_code == 422


def test_the_catalogue_shows_each_products_coming_days_and_links_open_ones(
    app: Flask, shop: Shop
) -> None:
    page = app.test_client().get("/").get_data(as_text=True)
    assert f'href="/products/GG-CLASSIC?day={shop.open_day.isoformat()}"' in page
    assert f'<span class="day day-sold_out" data-day="{shop.sold_out_day.isoformat()}"' in page
    assert f'<span class="day day-closed" data-day="{shop.closed_day.isoformat()}"' in page
    product = app.test_client().get(f"/products/GG-CLASSIC?day={shop.open_day.isoformat()}")
    assert f'value="{shop.open_day.isoformat()}" checked' in product.get_data(as_text=True)


def test_delivery_too_far_for_freshness_is_refused_on_the_checkout_page(
    settings: Settings, shop: Shop
) -> None:
    app = create_app(
        settings.with_overrides(stripe_secret_key="sk_test_x", stripe_webhook_secret="whsec_x")
    )
    client = app.test_client()
    token = csrf_of(client, "/products/GG-CLASSIC")
    add_to_cart(client, token, shop.open_day.isoformat())
    response = checkout(
        client,
        token,
        fulfilment="delivery",
        delivery_zone="beijing",
        delivery_address="北京市东城区",
        payment_method="stripe",
    )
    assert response.status_code == 422
    assert "而糕干只能保鲜 1 天" in response.get_data(as_text=True)
    with shop.sessions() as s:
        assert s.scalars(select(Order)).all() == []
