"""Reorder from the order history: the lines go back into the cart for the first day all of
them can be had."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask

from inventory.db import transaction, utcnow
from inventory.settings import Settings
from shop.auth import create_user
from shop.models import Role
from shop.orders import placing, reorder, services
from shop.orders.rules import DayState, LineRequest
from tests.shop.orders.conftest import Shop
from tests.support.web import csrf_from, sign_in_with_password


def test_the_first_day_that_has_every_line_is_chosen() -> None:
    d = [date(2027, 1, 20) + timedelta(days=i) for i in range(3)]
    calendars = {
        "A": [DayState(d[0], 5, "open"), DayState(d[1], 1, "open"), DayState(d[2], 9, "open")],
        "B": [DayState(d[0], 0, "sold_out"), DayState(d[1], 9, "open"), DayState(d[2], 9, "open")],
    }
    assert reorder.first_day_for({"A": 2, "B": 1}, calendars) == d[2]  # d1 has 1 A only
    assert reorder.first_day_for({"A": 20}, calendars) is None


def test_a_customer_orders_again_from_the_history(
    app: Flask, shop: Shop, settings: Settings
) -> None:
    with transaction(shop.sessions) as s:
        user = create_user(
            s, email="wang@example.com", name="王芳", password="customer-pass-1", role=Role.CUSTOMER
        )
        services.place_order(
            s,
            placing.PlaceOrder(
                day=shop.open_day,
                lines=[LineRequest("GG-CLASSIC", 2), LineRequest("GG-GIFT", 1)],
                contact=placing.Contact("王芳", "13800138000", "wang@example.com"),
                fulfilment="pickup",
                payment_method="pay_at_pickup",
                pickup_point="factory",
            ),
            settings=settings,
            now=utcnow(),
            user_id=user.id,
        )
        public_id = services.orders_of_user(s, user.id)[0].public_id
    client = app.test_client()
    sign_in_with_password(client, "wang@example.com", "customer-pass-1")
    page = client.get("/account").get_data(as_text=True)
    assert f'action="/orders/{public_id}/reorder"' in page and "再来一单" in page
    response = client.post(f"/orders/{public_id}/reorder", data={"csrf_token": csrf_from(page)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/cart")
    cart = client.get("/cart").get_data(as_text=True)
    assert "¥113.00" in cart  # 2 × 12.50 + 88.00, for the first day both are open
    other = app.test_client()
    with transaction(shop.sessions) as s:
        create_user(
            s, email="li@example.com", name="李", password="customer-pass-2", role=Role.CUSTOMER
        )
    sign_in_with_password(other, "li@example.com", "customer-pass-2")
    token = csrf_from(other.get("/account").get_data(as_text=True))
    assert other.post(f"/orders/{public_id}/reorder", data={"csrf_token": token}).status_code == 404
