"""Issue 10 item 3: delivery is offered only when a payment method can pay for it, and the
delivery option does not call Beijing or Ürümqi "same-city"."""

from __future__ import annotations

from flask import Flask

from inventory.settings import Settings
from shop.app import create_app
from tests.shop.orders.conftest import Shop, csrf_of
from tests.shop.orders.test_store_pages import add_to_cart


def _checkout_page(app: Flask, shop: Shop) -> str:
    client = app.test_client()
    token = csrf_of(client, "/products/GG-CLASSIC")
    add_to_cart(client, token, shop.open_day.isoformat())
    return client.get("/checkout").get_data(as_text=True)


def test_the_embedded_default_does_not_offer_a_delivery_it_cannot_take_payment_for(
    app: Flask, shop: Shop
) -> None:
    page = _checkout_page(app, shop)
    assert 'value="delivery"' not in page
    assert "暂不提供配送" in page


def test_with_online_payment_delivery_is_offered_and_named_truthfully(
    settings: Settings, shop: Shop
) -> None:
    app = create_app(
        settings.with_overrides(stripe_secret_key="sk_test_x", stripe_webhook_secret="whsec_x")
    )
    page = _checkout_page(app, shop)
    assert 'value="delivery"' in page and "北京" in page and "乌鲁木齐" in page
    assert "同城配送（" not in page  # only the Tianjin zone is same-city
