"""The order desk refunds one day of a checkout for several days, paid with ONE card payment
through the real Stripe SDK against localstripe: the refund goes against the shared payment,
is capped by that day's share, and leaves the other day's order and money alone."""

from __future__ import annotations

import stripe
from flask import Flask
from sqlalchemy import select

from inventory.db import transaction, utcnow
from inventory.runtime import Runtime
from inventory.settings import Settings
from shop.app import create_app
from shop.auth import create_user
from shop.models import Role
from shop.orders import group_flows, payment_records, placing, purchases
from shop.orders.models import Order, OrderStatus
from shop.orders.rules import LineRequest
from tests.shop.desk.test_desk_refunds_stripe import localstripe
from tests.shop.orders.conftest import Shop, shop
from tests.shop.orders.test_store_purchases import later_day
from tests.shop.orders.test_store_stripe import stripe_settings
from tests.support.web import csrf_from, sign_in_with_password

__all__ = ["localstripe", "shop"]


def test_the_desk_refunds_one_days_share_of_a_shared_card_payment_and_no_more(
    shop: Shop, settings: Settings, localstripe: str
) -> None:
    online = stripe_settings(settings, localstripe)
    client = stripe.StripeClient("sk_test_gaogan", base_addresses={"api": localstripe})
    with transaction(shop.sessions) as s:
        create_user(
            s, email="boss@example.com", name="经理", password="long-password", role=Role.MANAGER
        )
        bought = purchases.place_purchase(
            s,
            purchases.PlacePurchase(
                days=[
                    purchases.DayLines(shop.open_day, [LineRequest("GG-GIFT", 2)]),
                    purchases.DayLines(later_day(shop), [LineRequest("GG-CLASSIC", 4)]),
                ],
                contact=placing.Contact("王芳", "13800138000", "wang@example.com"),
                fulfilment="pickup",
                payment_method="stripe",
                pickup_point="factory",
            ),
            settings=online,
            now=utcnow(),
        )
        group = bought.public_id
    runtime = Runtime.from_settings(online)
    secret = group_flows.start_group_payment(runtime, group, group_flows.purchase_orders(group))
    intent_id = secret.split("_secret_")[0]
    client.v1.payment_intents.update(intent_id, params={"payment_method": "pm_card_visa"})
    assert client.v1.payment_intents.confirm(intent_id).status == "succeeded"
    with shop.sessions() as s:
        orders = s.scalars(
            select(Order).where(Order.purchase_id == bought.id).order_by(Order.day)
        ).all()
        first, second = (o.public_id for o in orders)
        shares = {o.public_id: o.total_fen for o in orders}
    total = sum(shares.values())
    with transaction(shop.sessions) as s:
        outcome = payment_records.apply_payment_succeeded(s, intent_id, total, utcnow())
    assert outcome.outcome == "paid"

    app: Flask = create_app(online)
    app.config["TESTING"] = True
    manager = app.test_client()
    sign_in_with_password(manager, "boss@example.com", "long-password")
    headers = {"X-CSRF-Token": csrf_from(manager.get("/manager/orders/").get_data(as_text=True))}
    base = f"/api/v1/manager/orders/{second}"

    # More than the second day's share is refused and nothing is sent.
    too_much = {"amount_fen": shares[second] + 1, "reason": "多退", "request_key": "too-much-01"}
    refused = manager.post(f"{base}/refunds", json=too_much, headers=headers)
    assert refused.status_code in (409, 422), refused.get_data(as_text=True)
    assert refused.get_json()["message"]  # worded for the manager
    assert client.v1.refunds.list(params={"payment_intent": intent_id}).data == []

    # Part of the second day's share goes back against the one shared payment, once.
    part = {"amount_fen": 1000, "reason": "压坏一块", "request_key": "share-part-01"}
    for _ in range(2):
        made = manager.post(f"{base}/refunds", json=part, headers=headers)
        assert made.status_code == 201, made.get_data(as_text=True)
    body = made.get_json()
    assert body["money"]["refundable_fen"] == shares[second] - 1000
    refunds = client.v1.refunds.list(params={"payment_intent": intent_id}).data
    assert [r.amount for r in refunds] == [1000]

    # Cancelling the second day returns the rest of its share only; the first day is untouched.
    cancelled = manager.post(f"{base}/cancel", json={"reason": "顾客改期"}, headers=headers)
    assert cancelled.status_code == 200, cancelled.get_data(as_text=True)
    assert cancelled.get_json()["money"]["refundable_fen"] == 0
    refunds = client.v1.refunds.list(params={"payment_intent": intent_id}).data
    assert sorted(r.amount for r in refunds) == [1000, shares[second] - 1000]
    with shop.sessions() as s:
        statuses = dict(
            s.execute(
                select(Order.public_id, Order.status).where(Order.purchase_id == bought.id)
            ).all()
        )
    assert statuses[first] is OrderStatus.PAID
    assert statuses[second] is OrderStatus.REFUNDED
    assert total - sum(r.amount for r in refunds) == shares[first]  # the first day's money stays
