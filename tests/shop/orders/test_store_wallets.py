"""Alipay and WeChat Pay as Stripe PaymentIntent methods: created with the official SDK
against localstripe, settled by signed webhooks (localstripe cannot run either wallet) or by
the customer's return from the wallet; paid once whatever arrives first or twice."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
import stripe
from flask import Flask
from sqlalchemy import select

from inventory.models import OutboxEvent
from inventory.settings import Settings
from shop.app import create_app
from shop.orders import placing, services
from shop.orders.models import OrderStatus, PaymentAttempt
from tests.shop.orders.conftest import Shop, order_json, serve
from tests.shop.orders.test_store_stripe import (
    localstripe,  # noqa: F401  (the local Stripe-compatible server fixture)
    signed,
    status_of,
    stripe_settings,
)

METHODS = ("alipay", "wechat_pay")


def wallet_event(event_id: str, kind: str, intent_id: str, method: str) -> dict[str, object]:
    """A Stripe event as Stripe sends it for a wallet PaymentIntent."""
    return {
        "id": event_id,
        "object": "event",
        "type": f"payment_intent.{kind}",
        "created": 1_800_000_000,
        "data": {
            "object": {
                "id": intent_id,
                "object": "payment_intent",
                "amount": 2500,
                "amount_received": 2500 if kind == "succeeded" else 0,
                "currency": "cny",
                "payment_method_types": [method],
                "status": "succeeded" if kind == "succeeded" else "requires_payment_method",
                "last_payment_error": None
                if kind == "succeeded"
                else {"message": f"{method} payment was cancelled"},
            }
        },
    }


@pytest.fixture
def wallet_server(settings: Settings, shop: Shop, localstripe: str) -> Iterator[tuple[str, str]]:  # noqa: F811
    app = create_app(stripe_settings(settings, localstripe))
    app.config["TESTING"] = True
    for server in serve(app):
        yield server.url, localstripe


def _place(base: str, shop: Shop, method: str) -> dict[str, str]:
    placed = requests.post(
        f"{base}/api/v1/orders",
        json=order_json(shop.open_day, ("GG-CLASSIC", 2), payment_method=method),
        timeout=10,
    )
    assert placed.status_code == 201, placed.text
    body: dict[str, str] = placed.json()
    assert body["status"] == "pending_payment" and body["payment_method"] == method
    return body


def _paid_events(shop: Shop, public_id: str) -> int:
    with shop.sessions() as s:
        order = services.get_order(s, public_id)
        rows = s.scalars(
            select(OutboxEvent).where(
                OutboxEvent.type == "order.paid", OutboxEvent.key == f"order:{order.id}"
            )
        ).all()
        return len(rows)


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_the_wallet_intent_is_made_with_the_sdk_and_a_twice_sent_webhook_pays_once(
    wallet_server: tuple[str, str], shop: Shop, method: str
) -> None:
    base, stripe_base = wallet_server
    body = _place(base, shop, method)
    intent_id = body["client_secret"].split("_secret_")[0]
    client = stripe.StripeClient("sk_test_gaogan", base_addresses={"api": stripe_base})
    intent = client.v1.payment_intents.retrieve(intent_id)
    assert (intent.amount, intent.currency, intent.metadata["order"]) == (2500, "cny", body["id"])
    with shop.sessions() as s:
        attempt = s.scalar(select(PaymentAttempt).where(PaymentAttempt.provider_ref == intent_id))
        assert attempt is not None and attempt.provider == method

    payload, headers = signed(wallet_event(f"evt_{method}_ok", "succeeded", intent_id, method))
    for _ in range(2):
        answer = requests.post(f"{base}/webhooks/stripe", data=payload, headers=headers, timeout=5)
        assert answer.status_code == 200
    assert status_of(shop, body["id"]) is OrderStatus.PAID
    assert _paid_events(shop, body["id"]) == 1
    # A late "failed" (the customer closed the QR code after paying) never moves it back.
    payload, headers = signed(
        wallet_event(f"evt_{method}_late", "payment_failed", intent_id, method)
    )
    requests.post(f"{base}/webhooks/stripe", data=payload, headers=headers, timeout=5)
    # The customer's return after the webhook changes nothing either.
    back = requests.get(
        f"{body['status_url']}/return",
        params={"payment_intent": intent_id, "redirect_status": "succeeded"},
        timeout=10,
    )
    assert back.status_code == 200 and 'data-status="paid"' in back.text
    assert _paid_events(shop, body["id"]) == 1


@pytest.mark.slow
@pytest.mark.parametrize("method", METHODS)
def test_the_return_from_the_wallet_before_the_webhook_pays_the_order_once(
    wallet_server: tuple[str, str], shop: Shop, method: str
) -> None:
    base, stripe_base = wallet_server
    body = _place(base, shop, method)
    intent_id = body["client_secret"].split("_secret_")[0]
    client = stripe.StripeClient("sk_test_gaogan", base_addresses={"api": stripe_base})
    # localstripe cannot run Alipay or WeChat Pay: the intent is made to succeed with its test
    # card instead, which is what matters here, Stripe saying "succeeded" before any webhook.
    client.v1.payment_intents.update(intent_id, params={"payment_method": "pm_card_visa"})
    assert client.v1.payment_intents.confirm(intent_id).status == "succeeded"
    assert status_of(shop, body["id"]) is OrderStatus.PENDING_PAYMENT  # no webhook yet

    back = requests.get(
        f"{body['status_url']}/return",
        params={"payment_intent": intent_id, "redirect_status": "succeeded"},
        timeout=10,
    )
    assert back.status_code == 200 and 'data-status="paid"' in back.text
    payload, headers = signed(wallet_event(f"evt_{method}_after", "succeeded", intent_id, method))
    for _ in range(2):
        answer = requests.post(f"{base}/webhooks/stripe", data=payload, headers=headers, timeout=5)
        assert answer.json()["outcome"] in {"duplicate"}
    assert status_of(shop, body["id"]) is OrderStatus.PAID
    assert _paid_events(shop, body["id"]) == 1


def test_a_return_naming_another_orders_payment_settles_nothing(
    settings: Settings, shop: Shop
) -> None:
    from inventory.db import transaction, utcnow
    from shop.orders.rules import LineRequest

    online = stripe_settings(settings)
    app: Flask = create_app(online)
    app.config["TESTING"] = True
    with transaction(shop.sessions) as s:
        order = services.place_order(
            s,
            placing.PlaceOrder(
                day=shop.open_day,
                lines=[LineRequest("GG-CLASSIC", 1)],
                contact=placing.Contact("王芳", "13800138000", "wang@example.com"),
                fulfilment="pickup",
                payment_method="alipay",
                pickup_point="factory",
            ),
            settings=online,
            now=utcnow(),
        )
        link = f"/track/{order.public_id}/{order.access_token}"
    answer = app.test_client().get(f"{link}/return?payment_intent=pi_someone_else")
    assert answer.status_code == 302
    assert status_of(shop, order.public_id) is OrderStatus.PENDING_PAYMENT
    assert app.test_client().get(f"/track/{order.public_id}/wrong/return").status_code == 404


def test_the_checkout_offers_alipay_and_wechat_pay_beside_cards(
    settings: Settings, shop: Shop
) -> None:
    from tests.shop.orders.conftest import csrf_of
    from tests.shop.orders.test_store_pages import add_to_cart

    app = create_app(stripe_settings(settings))
    app.config["TESTING"] = True
    client = app.test_client()
    token = csrf_of(client, "/products/GG-CLASSIC")
    add_to_cart(client, token, shop.open_day.isoformat())
    page = client.get("/checkout").get_data(as_text=True)
    for method, label in (("stripe", "银行卡"), ("alipay", "支付宝"), ("wechat_pay", "微信支付")):
        assert f'name="payment_method" value="{method}"' in page and label in page
