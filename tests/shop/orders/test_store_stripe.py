"""Stripe: the official SDK against localstripe (a local Stripe-compatible server), and the
webhook endpoint's signature check, dedupe and state machine."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import stripe
from flask import Flask
from sqlalchemy import func, select

from inventory.db import transaction, utcnow
from inventory.models import OutboxEvent
from inventory.settings import Settings
from shop.app import create_app
from shop.orders import payment_records, placing, services
from shop.orders.models import Order, OrderStatus, ProcessedWebhookEvent
from shop.orders.rules import LineRequest
from tests.shop.orders.conftest import Shop, order_json, serve

WEBHOOK_SECRET = "whsec_test_secret_for_gaogan"
LOCALSTRIPE = shutil.which("localstripe") or str(Path(sys.executable).with_name("localstripe"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def localstripe(tmp_path: Path) -> Iterator[str]:
    if not Path(LOCALSTRIPE).exists():
        if os.environ.get("CI") == "true":
            raise RuntimeError("localstripe is required in CI (it is in the dev extra)")
        pytest.skip("localstripe is not installed (pip install -e .[dev])")
    port = free_port()
    proc = subprocess.Popen(
        [LOCALSTRIPE, "--port", str(port), "--from-scratch"],
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                requests.get(f"{base}/v1/balance", auth=("sk_test_x", ""), timeout=1)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def stripe_settings(settings: Settings, api_base: str = "") -> Settings:
    return settings.with_overrides(
        payment_provider="stripe",
        stripe_secret_key="sk_test_gaogan",
        stripe_publishable_key="pk_test_gaogan",
        stripe_webhook_secret=WEBHOOK_SECRET,
        stripe_api_base=api_base,
    )


def status_of(shop: Shop, public_id: str) -> OrderStatus:
    with shop.sessions() as s:
        return services.get_order(s, public_id).status


def attempt_status(shop: Shop, public_id: str) -> str:
    # A fresh session each time: an open one would hold SQLite's write lock and a stale view.
    with shop.sessions() as s:
        attempt = payment_records.latest_attempt(s, services.get_order(s, public_id))
        return attempt.status.value if attempt else ""


def wait_for_status(shop: Shop, public_id: str, wanted: OrderStatus, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while status_of(shop, public_id) is not wanted:
        assert time.monotonic() < deadline, f"order stayed {status_of(shop, public_id)}"
        time.sleep(0.1)


@pytest.mark.slow
def test_a_card_payment_through_stripe_marks_the_order_paid_by_signed_webhook_and_a_cancel_refunds(
    settings: Settings, shop: Shop, localstripe: str
) -> None:
    app = create_app(stripe_settings(settings, localstripe))
    app.config["TESTING"] = True
    for server in serve(app):
        requests.post(
            f"{localstripe}/_config/webhooks/gaogan",
            data={"url": f"{server.url}/webhooks/stripe", "secret": WEBHOOK_SECRET},
            timeout=5,
        ).raise_for_status()
        placed = requests.post(
            f"{server.url}/api/v1/orders",
            json=order_json(shop.open_day, ("GG-CLASSIC", 2), payment_method="stripe"),
            timeout=10,
        )
        assert placed.status_code == 201, placed.text
        body = placed.json()
        assert body["status"] == "pending_payment"
        assert body["hold_expires_at"]
        intent_id = body["client_secret"].split("_secret_")[0]

        # The customer's card, confirmed with the official SDK as Stripe.js would.
        client = stripe.StripeClient("sk_test_gaogan", base_addresses={"api": localstripe})
        intent = client.v1.payment_intents.retrieve(intent_id)
        assert (intent.amount, intent.currency) == (2500, "cny")
        assert intent.metadata["order"] == body["id"]
        # localstripe takes the test card as an update, then a bare confirm (as its Stripe.js
        # stand-in does); real Stripe accepts both forms.
        client.v1.payment_intents.update(intent_id, params={"payment_method": "pm_card_visa"})
        confirmed = client.v1.payment_intents.confirm(intent_id)
        assert confirmed.status == "succeeded"

        wait_for_status(shop, body["id"], OrderStatus.PAID)
        page = requests.get(body["status_url"], timeout=5).text
        assert 'data-status="paid"' in page

        headers = {"X-Order-Token": body["access_token"]}
        cancelled = requests.post(
            f"{server.url}/api/v1/orders/{body['id']}/cancel", json={}, headers=headers, timeout=10
        )
        assert cancelled.status_code == 200, cancelled.text
        assert cancelled.json()["status"] == "refunded"
        refunds = client.v1.refunds.list(params={"payment_intent": intent_id})
        assert [r.amount for r in refunds.data] == [2500]
    with shop.sessions() as s:
        types = list(s.scalars(select(OutboxEvent.type).order_by(OutboxEvent.id)))
        assert [t for t in types if t.startswith("order.")] == [
            "order.placed",
            "order.paid",
            "order.cancelled",
            "order.refunded",
        ]


def test_the_payment_page_shows_the_payment_element_and_the_hold_countdown(
    settings: Settings, shop: Shop
) -> None:
    online = stripe_settings(settings)
    with transaction(shop.sessions) as s:
        order = services.place_order(s, online_request(shop), settings=online, now=utcnow())
        number = payment_records.start_payment_attempt(s, order, "stripe", utcnow())
        payment_records.record_payment_started(s, order, number, "pi_page", "pi_page_secret_abc")
        link = f"/track/{order.public_id}/{order.access_token}"
    app = create_app(online)
    page = app.test_client().get(link).get_data(as_text=True)
    assert 'data-client-secret="pi_page_secret_abc"' in page
    assert 'data-key="pk_test_gaogan"' in page
    assert 'id="hold-remaining"' in page
    assert "库存保留剩余时间" in page


def online_request(shop: Shop) -> placing.PlaceOrder:
    return placing.PlaceOrder(
        day=shop.open_day,
        lines=[LineRequest("GG-CLASSIC", 2)],
        contact=placing.Contact("王芳", "13800138000", "wang@example.com"),
        fulfilment="pickup",
        payment_method="stripe",
        pickup_point="factory",
    )


@pytest.fixture
def stripe_app(settings: Settings, shop: Shop) -> Flask:
    app = create_app(stripe_settings(settings))
    app.config["TESTING"] = True
    return app


@pytest.fixture
def pending_order(stripe_app: Flask, settings: Settings, shop: Shop) -> str:
    online = stripe_settings(settings)
    with transaction(shop.sessions) as s:
        order = services.place_order(s, online_request(shop), settings=online, now=utcnow())
        number = payment_records.start_payment_attempt(s, order, "stripe", utcnow())
        payment_records.record_payment_started(s, order, number, f"pi_{order.public_id}", "secret")
        return order.public_id


def signed(event: dict[str, object], secret: str = WEBHOOK_SECRET) -> tuple[bytes, dict[str, str]]:
    payload = json.dumps(event)
    timestamp = int(time.time())
    signature = stripe.WebhookSignature._compute_signature(f"{timestamp}.{payload}", secret)
    return payload.encode(), {
        "Stripe-Signature": f"t={timestamp},v1={signature}",
        "Content-Type": "application/json",
    }


def intent_event(event_id: str, kind: str, public_id: str, amount: int = 2500) -> dict[str, object]:
    return {
        "id": event_id,
        "object": "event",
        "type": f"payment_intent.{kind}",
        "created": int(time.time()),
        "data": {
            "object": {
                "id": f"pi_{public_id}",
                "object": "payment_intent",
                "amount": amount,
                "amount_received": amount if kind == "succeeded" else 0,
                "currency": "cny",
                "status": "succeeded" if kind == "succeeded" else "requires_payment_method",
                "last_payment_error": None if kind == "succeeded" else {"message": "card declined"},
            }
        },
    }


def processed_count(shop: Shop) -> int:
    with shop.sessions() as s:
        return int(s.scalar(select(func.count()).select_from(ProcessedWebhookEvent)) or 0)


def test_a_forged_signature_gets_400_and_changes_nothing(
    stripe_app: Flask, shop: Shop, pending_order: str
) -> None:
    payload, headers = signed(intent_event("evt_forged", "succeeded", pending_order), "whsec_wrong")
    response = stripe_app.test_client().post("/webhooks/stripe", data=payload, headers=headers)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_signature"
    # A valid signature over a different body is just as forged.
    good_payload, good_headers = signed(intent_event("evt_x", "succeeded", pending_order))
    tampered = good_payload.replace(b"2500", b"1")
    assert (
        stripe_app.test_client()
        .post("/webhooks/stripe", data=tampered, headers=good_headers)
        .status_code
        == 400
    )
    assert status_of(shop, pending_order) is OrderStatus.PENDING_PAYMENT
    assert processed_count(shop) == 0


def test_the_same_event_delivered_twice_has_one_effect(
    stripe_app: Flask, shop: Shop, pending_order: str
) -> None:
    client = stripe_app.test_client()
    payload, headers = signed(intent_event("evt_once", "succeeded", pending_order))
    first = client.post("/webhooks/stripe", data=payload, headers=headers)
    second = client.post("/webhooks/stripe", data=payload, headers=headers)
    assert (first.status_code, second.status_code) == (200, 200)
    assert first.get_json()["outcome"] == "paid"
    assert second.get_json()["outcome"] == "duplicate"
    assert status_of(shop, pending_order) is OrderStatus.PAID
    with shop.sessions() as s:
        paid = s.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.type == "order.paid")
        )
        assert paid == 1
    assert processed_count(shop) == 1


def test_payment_failed_after_succeeded_leaves_the_order_paid(
    stripe_app: Flask, shop: Shop, pending_order: str
) -> None:
    client = stripe_app.test_client()
    payload, headers = signed(intent_event("evt_ok", "succeeded", pending_order))
    assert client.post("/webhooks/stripe", data=payload, headers=headers).status_code == 200
    payload, headers = signed(intent_event("evt_late_fail", "payment_failed", pending_order))
    response = client.post("/webhooks/stripe", data=payload, headers=headers)
    assert response.status_code == 200
    assert status_of(shop, pending_order) is OrderStatus.PAID
    with shop.sessions() as s:
        order = s.scalars(select(Order).where(Order.public_id == pending_order)).one()
        assert order.paid_at is not None


def test_a_payment_failure_keeps_the_order_waiting_for_another_try(
    stripe_app: Flask, shop: Shop, pending_order: str
) -> None:
    client = stripe_app.test_client()
    payload, headers = signed(intent_event("evt_fail", "payment_failed", pending_order))
    assert (
        client.post("/webhooks/stripe", data=payload, headers=headers).get_json()["outcome"]
        == "failed_recorded"
    )
    assert status_of(shop, pending_order) is OrderStatus.PENDING_PAYMENT


def test_the_webhook_is_not_found_when_stripe_is_not_configured(app: Flask) -> None:
    assert app.test_client().post("/webhooks/stripe", data=b"{}").status_code == 404


@pytest.mark.slow
def test_a_declined_card_keeps_the_order_waiting_and_a_second_attempt_pays_it(
    settings: Settings, shop: Shop, localstripe: str
) -> None:
    app = create_app(stripe_settings(settings, localstripe))
    app.config["TESTING"] = True
    client = stripe.StripeClient("sk_test_gaogan", base_addresses={"api": localstripe})
    for server in serve(app):
        requests.post(
            f"{localstripe}/_config/webhooks/gaogan",
            data={"url": f"{server.url}/webhooks/stripe", "secret": WEBHOOK_SECRET},
            timeout=5,
        ).raise_for_status()
        body = requests.post(
            f"{server.url}/api/v1/orders",
            json=order_json(shop.open_day, ("GG-GIFT", 1), payment_method="stripe"),
            timeout=10,
        ).json()
        first = body["client_secret"].split("_secret_")[0]
        client.v1.payment_intents.update(
            first, params={"payment_method": "pm_card_chargeCustomerFail"}
        )
        # The decline comes back either at once or, for asynchronous capture, only by webhook.
        with contextlib.suppress(stripe.CardError):
            client.v1.payment_intents.confirm(first)
        deadline = time.monotonic() + 10
        while attempt_status(shop, body["id"]) != "failed":
            assert time.monotonic() < deadline, "payment_failed webhook never arrived"
            time.sleep(0.1)
        assert status_of(shop, body["id"]) is OrderStatus.PENDING_PAYMENT

        # The status page offers another try: a new attempt, a new PaymentIntent.
        browser = requests.Session()
        page = browser.get(body["status_url"], timeout=5).text
        assert "重新发起付款" in page
        token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
        pay_url = body["status_url"] + "/pay"
        assert browser.post(pay_url, data={"csrf_token": token}, timeout=10).status_code == 200
        with shop.sessions() as s:
            attempt = payment_records.latest_attempt(s, services.get_order(s, body["id"]))
            assert attempt is not None and attempt.number == 2
            second = attempt.provider_ref
        assert second and second != first
        client.v1.payment_intents.update(second, params={"payment_method": "pm_card_visa"})
        client.v1.payment_intents.confirm(second)
        wait_for_status(shop, body["id"], OrderStatus.PAID)
