"""Desk refunds through the real Stripe SDK against localstripe (a local Stripe-compatible
server, no internet): two partial refunds are two refunds, a repeated request is one, and a
cancel sends back only what is left."""

from __future__ import annotations

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
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction, utcnow
from inventory.settings import Settings
from shop.app import create_app
from shop.orders import desk_refunds, payment_records
from shop.orders.models import OrderStatus
from tests.shop.conftest import Desk, place
from tests.support.web import csrf_from, sign_in_with_password

LOCALSTRIPE = shutil.which("localstripe") or str(Path(sys.executable).with_name("localstripe"))


@pytest.fixture
def localstripe(tmp_path: Path) -> Iterator[str]:
    if not Path(LOCALSTRIPE).exists():
        if os.environ.get("CI") == "true":
            raise RuntimeError("localstripe is required in CI (it is in the dev extra)")
        pytest.skip("localstripe is not installed (pip install -e .[dev])")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
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


def _card_paid_order(
    db: sessionmaker[Session], settings: Settings, day: object, client: stripe.StripeClient
) -> tuple[str, str]:
    """A pickup order paid by card through localstripe; returns (public id, intent id)."""
    public_id = place(
        db,
        settings,
        day,
        name="赵敏",
        mobile="13700001111",
        lines=[("GG-CLASSIC", 4)],  # type: ignore[arg-type]
        payment_method="stripe",
    )
    from inventory.runtime import Runtime
    from shop.orders import flows

    secret = flows.start_payment(Runtime.from_settings(settings), public_id)
    intent_id = secret.split("_secret_")[0]
    client.v1.payment_intents.update(intent_id, params={"payment_method": "pm_card_visa"})
    assert client.v1.payment_intents.confirm(intent_id).status == "succeeded"
    with transaction(db) as s:
        outcome = payment_records.apply_payment_succeeded(s, intent_id, 5000, utcnow())
    assert outcome.outcome == "paid"
    return public_id, intent_id


def test_partial_refunds_go_through_the_provider_once_each_and_a_cancel_returns_the_rest(
    settings: Settings, desk: Desk, localstripe: str
) -> None:
    online = settings.with_overrides(
        payment_provider="stripe",
        stripe_secret_key="sk_test_gaogan",
        stripe_publishable_key="pk_test_gaogan",
        stripe_webhook_secret="whsec_test",
        stripe_api_base=localstripe,
    )
    client = stripe.StripeClient("sk_test_gaogan", base_addresses={"api": localstripe})
    public_id, intent_id = _card_paid_order(desk.sessions, online, desk.day, client)
    app: Flask = create_app(online)
    app.config["TESTING"] = True
    manager: FlaskClient = app.test_client()
    sign_in_with_password(manager, "manager@example.com", "long-enough-pw")
    headers = {"X-CSRF-Token": csrf_from(manager.get("/manager/orders/").get_data(as_text=True))}
    base = f"/api/v1/manager/orders/{public_id}"

    first = {"amount_fen": 1250, "reason": "压坏一块", "request_key": "refund-one-0001"}
    assert manager.post(f"{base}/refunds", json=first, headers=headers).status_code == 201
    repeated = manager.post(f"{base}/refunds", json=first, headers=headers)
    second = {"amount_fen": 750, "reason": "少装", "request_key": "refund-two-0002"}
    body = manager.post(f"{base}/refunds", json=second, headers=headers).get_json()
    assert repeated.status_code == 201
    assert [r["status"] for r in body["refunds"]] == ["issued", "issued"]
    assert body["money"]["refundable_fen"] == 5000 - 2000
    refunds = client.v1.refunds.list(params={"payment_intent": intent_id})
    assert sorted(r.amount for r in refunds.data) == [750, 1250]

    cancelled = manager.post(f"{base}/cancel", json={"reason": "顾客不要了"}, headers=headers)
    body = cancelled.get_json()
    assert body["row"]["status"] == OrderStatus.REFUNDED.value
    assert body["money"]["refundable_fen"] == 0
    refunds = client.v1.refunds.list(params={"payment_intent": intent_id})
    assert sorted(r.amount for r in refunds.data) == [750, 1250, 3000]
    # The storefront's refund sweep finds nothing more to send for this payment.
    with desk.sessions() as s:
        assert [r.public_id for r in payment_records.refunds_due(s)] == []
    assert desk_refunds.issue_due_refunds(desk.sessions, online) == []
    types = [e["type"] for e in body["timeline"]]
    assert types.count("order.refund_requested") == 3 and types.count("order.refund_issued") == 3
