"""Races on PostgreSQL: a payment against the expiry sweep, and one webhook event delivered
twice at the same moment."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from inventory.db import transaction, utcnow
from inventory.models import OutboxEvent
from inventory.settings import Settings
from shop.app import create_app
from shop.orders import flows, payment_records, placing, services
from shop.orders.models import OrderStatus
from shop.orders.rules import LineRequest
from tests.shop.orders.conftest import Shop

pytestmark = pytest.mark.postgres


def online(settings: Settings) -> Settings:
    return settings.with_overrides(stripe_secret_key="sk_test_x", stripe_webhook_secret="whsec_x")


def place_pending(shop: Shop, settings: Settings, n: int) -> list[str]:
    ids = []
    for i in range(n):
        with transaction(shop.sessions) as s:
            order = services.place_order(
                s,
                placing.PlaceOrder(
                    day=shop.open_day,
                    lines=[LineRequest("GG-CLASSIC", 1)],
                    contact=placing.Contact("王芳", "13800138000", f"w{i}@example.com"),
                    fulfilment="pickup",
                    payment_method="stripe",
                    pickup_point="factory",
                ),
                settings=online(settings),
                now=utcnow(),
            )
            number = payment_records.start_payment_attempt(s, order, "stripe", utcnow())
            payment_records.record_payment_started(s, order, number, f"pi_{order.public_id}", "x")
            ids.append(order.public_id)
    return ids


def test_a_payment_racing_the_expiry_sweep_ends_either_paid_or_expired_never_both(
    shop: Shop, settings: Settings
) -> None:
    ids = place_pending(shop, settings, 20)
    # The payment is recorded just before the hold lapses; the sweep runs just after.
    pay_at = utcnow() + timedelta(minutes=settings.hold_minutes) - timedelta(seconds=1)
    sweep_at = pay_at + timedelta(seconds=2)
    outcomes: dict[str, str] = {}
    barrier = threading.Barrier(2)

    def pay() -> None:
        barrier.wait()
        for public_id in ids:
            with transaction(shop.sessions) as s:
                outcomes[public_id] = payment_records.apply_payment_succeeded(
                    s, f"pi_{public_id}", 1250, pay_at
                ).outcome

    def sweep() -> None:
        barrier.wait()
        for _ in range(20):
            with transaction(shop.sessions) as s:
                services.expire_unpaid_orders(s, sweep_at)

    threads = [threading.Thread(target=pay), threading.Thread(target=sweep)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    with shop.sessions() as s:
        for public_id in ids:
            status = services.get_order(s, public_id).status
            if outcomes[public_id] == "paid":
                assert status is OrderStatus.PAID
            else:
                assert outcomes[public_id] == "refund_due"
                assert status is OrderStatus.EXPIRED
        key_types = s.execute(select(OutboxEvent.key, OutboxEvent.type)).all()
        for public_id in ids:
            order = services.get_order(s, public_id)
            types = {t for k, t in key_types if k == f"order:{order.id}"}
            assert not {"order.paid", "order.expired"} <= types, public_id


def test_one_webhook_event_delivered_twice_at_once_is_applied_once(
    shop: Shop, settings: Settings
) -> None:
    (public_id,) = place_pending(shop, settings, 1)
    runtime = create_app(online(settings)).extensions["gaogan"]
    event = {
        "id": "evt_race",
        "type": "payment_intent.succeeded",
        "data": {"object": {"id": f"pi_{public_id}", "amount": 1250, "amount_received": 1250}},
    }
    results: list[str] = []
    barrier = threading.Barrier(2)

    def deliver() -> None:
        barrier.wait()
        results.append(flows.handle_stripe_event(runtime, event))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results) == ["duplicate", "paid"]
    with shop.sessions() as s:
        paid = s.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.type == "order.paid")
        )
        assert paid == 1
        assert services.get_order(s, public_id).status is OrderStatus.PAID
