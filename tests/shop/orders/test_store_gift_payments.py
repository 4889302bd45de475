"""Gift orders paid online (card, Alipay, WeChat Pay through the payment port: one payment
for every recipient) and the buyer's receipt / invoice-request mail listing the recipients,
their days and the 发票 title and tax number."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import stripe
from flask import Flask
from sqlalchemy import func, select

from inventory.db import transaction
from inventory.models import OutboxEvent
from inventory.relay import relay_once
from inventory.settings import Settings
from shop.app import create_app
from shop.auth import create_user
from shop.models import Role
from shop.orders.models import GiftOrder, Order, OrderStatus, PaymentAttempt
from shop.orders.notifications import mails_in
from tests.shop.orders.conftest import Shop, serve
from tests.shop.orders.test_store_gifts import HEADER, TAX, gift_json
from tests.shop.orders.test_store_stripe import (
    WEBHOOK_SECRET,
    localstripe,  # noqa: F401  (the local Stripe-compatible server fixture)
    signed,
    stripe_settings,
)
from tests.shop.orders.test_store_wallets import wallet_event
from tests.support.web import csrf_from, sign_in_with_password


def five_recipients(shop: Shop) -> str:
    """Five staff on two days: three collect (factory, workshop), two get a same-city
    delivery."""
    first, later = shop.open_day, shop.open_day + timedelta(days=4)
    rows = [
        f"张伟,13800000001,GG-GIFT,1,{first},pickup,factory,,",
        f"李娜,13800000002,GG-GIFT,2,{first},pickup,changde,,",
        f"王强,13800000003,GG-CLASSIC,4,{later},pickup,factory,,",
        f"刘洋,13800000004,GG-GIFT,1,{later},delivery,,tianjin,天津市河西区友谊路 1 号",
        f"陈静,13800000005,GG-GIFT,1,{first},delivery,,tianjin,天津市南开区卫津路 92 号",
    ]
    return "\n".join([HEADER, *rows]) + "\n"


TOTAL = 8800 * 5 + 1250 * 4 + 2 * 1200  # five boxes, four classic, two deliveries
PRICE = "¥514.00"


def _mail(settings: Settings, subject_part: str) -> dict[str, str]:
    found = [m for m in mails_in(Path(settings.mail_dir)) if subject_part in m["subject"]]
    assert len(found) == 1, [m["subject"] for m in mails_in(Path(settings.mail_dir))]
    return found[0]


def _assert_lists_the_gift(mail: dict[str, str], shop: Shop) -> None:
    body = mail["body"]
    assert mail["to"] == "hr@example.com"
    assert "发票抬头：天津某某科技有限公司" in body and f"税号：{TAX}" in body
    for name in ("张伟", "李娜", "王强", "刘洋", "陈静"):
        assert name in body
    assert shop.open_day.isoformat() in body
    assert "天津市河西区友谊路 1 号" in body and "万全堂工厂店自取" in body


def test_a_gift_paid_by_bank_transfer_mails_the_order_and_invoice_request_once(
    app: Flask, shop: Shop, settings: Settings
) -> None:
    placed = app.test_client().post("/api/v1/gifts", json=gift_json(five_recipients(shop)))
    assert placed.status_code == 201, placed.get_data(as_text=True)
    gift = placed.get_json()
    assert gift["payment_method"] == "bank_transfer" and gift["paid"] is False
    assert gift["total_fen"] == TOTAL
    for _ in range(2):  # a second relay run (a redelivery) sends nothing again
        relay_once(shop.sessions, settings)
    mail = _mail(settings, "订单与发票申请确认")
    _assert_lists_the_gift(mail, shop)
    assert "请凭发票对公转账" in mail["body"] and PRICE in mail["body"]


def test_an_online_gift_without_a_payment_provider_is_refused_and_takes_nothing(
    app: Flask, shop: Shop
) -> None:
    refused = app.test_client().post(
        "/api/v1/gifts", json={**gift_json(five_recipients(shop)), "payment_method": "alipay"}
    )
    assert refused.status_code == 422
    assert refused.get_json()["details"]["field"] == "payment_method"
    assert "在线支付" in refused.get_json()["message"]
    with shop.sessions() as s:
        assert s.scalar(select(func.count()).select_from(GiftOrder)) == 0
        assert s.scalar(select(func.count()).select_from(Order)) == 0


@pytest.fixture
def stripe_server(settings: Settings, shop: Shop, localstripe: str) -> Iterator[tuple[str, str]]:  # noqa: F811
    app = create_app(stripe_settings(settings, localstripe))
    app.config["TESTING"] = True
    for server in serve(app):
        yield server.url, localstripe


def _place_online(base: str, shop: Shop, method: str) -> dict[str, object]:
    placed = requests.post(
        f"{base}/api/v1/gifts",
        json={**gift_json(five_recipients(shop)), "payment_method": method},
        timeout=20,
    )
    assert placed.status_code == 201, placed.text
    gift: dict[str, object] = placed.json()
    assert gift["payment_method"] == method and gift["paid"] is False
    assert str(gift["client_secret"]).startswith("pi_")
    with shop.sessions() as s:
        orders = s.scalars(select(Order)).all()
        # Held, not taken, until the one payment arrives.
        assert len(orders) == 5 and {o.status for o in orders} == {OrderStatus.PENDING_PAYMENT}
        assert {o.payment_method for o in orders} == {method}
    return gift


def _gift_state(shop: Shop) -> tuple[set[OrderStatus], bool, int]:
    with shop.sessions() as s:
        statuses = {o.status for o in s.scalars(select(Order))}
        paid = s.scalars(select(GiftOrder)).one().paid_at is not None
        events = s.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.type == "gift.paid")
        )
        return statuses, paid, int(events or 0)


@pytest.mark.slow
def test_a_gift_paid_by_card_pays_every_recipient_once_and_mails_the_receipt(
    stripe_server: tuple[str, str], shop: Shop, settings: Settings
) -> None:
    base, stripe_base = stripe_server
    requests.post(
        f"{stripe_base}/_config/webhooks/gaogan",
        data={"url": f"{base}/webhooks/stripe", "secret": WEBHOOK_SECRET},
        timeout=5,
    ).raise_for_status()
    gift = _place_online(base, shop, "stripe")
    intent_id = str(gift["client_secret"]).split("_secret_")[0]
    client = stripe.StripeClient("sk_test_gaogan", base_addresses={"api": stripe_base})
    intent = client.v1.payment_intents.retrieve(intent_id)
    # One PaymentIntent for the whole gift, named by the gift.
    assert (intent.amount, intent.currency, intent.metadata["order"]) == (TOTAL, "cny", gift["id"])
    with shop.sessions() as s:
        shares = s.scalars(
            select(PaymentAttempt).where(PaymentAttempt.provider_ref == intent_id)
        ).all()
        assert len(shares) == 5 and sum(a.amount_fen for a in shares) == TOTAL
    client.v1.payment_intents.update(intent_id, params={"payment_method": "pm_card_visa"})
    assert client.v1.payment_intents.confirm(intent_id).status == "succeeded"
    # localstripe posts the signed webhook; the customer's return may come first or after.
    back = requests.get(f"{gift['url']}/return", params={"payment_intent": intent_id}, timeout=10)
    assert back.status_code == 200 and 'data-paid="yes"' in back.text
    assert "收据与发票申请确认将以邮件发送至 hr@example.com" in back.text
    assert _gift_state(shop) == ({OrderStatus.PAID}, True, 1)

    app = create_app(stripe_settings(settings, stripe_base))  # wires the mail consumers
    assert app
    for _ in range(2):
        relay_once(shop.sessions, settings)
    mail = _mail(settings, "收据与发票申请确认")
    _assert_lists_the_gift(mail, shop)
    assert PRICE in mail["body"] and "在线支付" in mail["body"]
    # A recipient's order paid with the gift is not mailed to the recipient (no prices).
    assert not [
        m
        for m in mails_in(Path(settings.mail_dir))
        if "订单" in m["subject"] and "团购" not in m["subject"]
    ]


@pytest.mark.slow
@pytest.mark.parametrize("method", ["alipay", "wechat_pay"])
def test_a_gift_paid_with_a_wallet_is_paid_once_by_a_twice_sent_webhook(
    stripe_server: tuple[str, str], shop: Shop, method: str
) -> None:
    base, stripe_base = stripe_server
    gift = _place_online(base, shop, method)
    intent_id = str(gift["client_secret"]).split("_secret_")[0]
    client = stripe.StripeClient("sk_test_gaogan", base_addresses={"api": stripe_base})
    intent = client.v1.payment_intents.retrieve(intent_id)
    assert (intent.amount, intent.metadata["order"]) == (TOTAL, gift["id"])
    with shop.sessions() as s:
        providers = s.scalars(
            select(PaymentAttempt.provider).where(PaymentAttempt.provider_ref == intent_id)
        )
        assert set(providers) == {method}
    event = wallet_event(f"evt_gift_{method}", "succeeded", intent_id, method)
    event["data"]["object"].update(amount=TOTAL, amount_received=TOTAL)  # type: ignore[index]
    payload, headers = signed(event)
    outcomes = [
        requests.post(f"{base}/webhooks/stripe", data=payload, headers=headers, timeout=10).json()[
            "outcome"
        ]
        for _ in range(2)
    ]
    assert outcomes == ["paid", "duplicate"]
    assert _gift_state(shop) == ({OrderStatus.PAID}, True, 1)
    page = requests.get(str(gift["url"]), timeout=10).text
    assert 'data-paid="yes"' in page and ("支付宝" in page or "微信支付" in page)


def test_a_recipient_row_can_name_an_address_book_entry_of_the_signed_in_buyer(
    app: Flask, shop: Shop
) -> None:
    with transaction(shop.sessions) as s:
        create_user(
            s, email="hr@example.com", name="李经理", password="long-password", role=Role.CUSTOMER
        )
    client = app.test_client()
    sign_in_with_password(client, "hr@example.com", "long-password")
    token = csrf_from(client.get("/account").get_data(as_text=True))
    client.post(
        "/account/addresses",
        data={
            "csrf_token": token,
            "label": "老厂长",
            "recipient": "赵师傅",
            "phone": "13700001111",
            "zone": "tianjin",
            "address": "天津市武清区杨村光明道 8 号",
        },
    )
    form_page = client.get("/gifts/new").get_data(as_text=True)
    assert 'id="add-from-book"' in form_page and "老厂长" in form_page
    csv = HEADER + ",address_book\n" + f",,GG-GIFT,1,{shop.open_day},,,,,老厂长\n"
    unknown = HEADER + ",address_book\n" + f",,GG-GIFT,1,{shop.open_day},,,,,没有这个\n"
    headers = {"X-CSRF-Token": token}
    refused = client.post("/api/v1/gifts", json=gift_json(unknown), headers=headers)
    assert refused.status_code == 422
    assert (
        "地址簿中没有名为“没有这个”的地址" in refused.get_json()["details"]["rows"][0]["errors"][0]
    )
    placed = client.post("/api/v1/gifts", json=gift_json(csv), headers=headers)
    assert placed.status_code == 201, placed.get_data(as_text=True)
    with shop.sessions() as s:
        order = s.scalars(select(Order)).one()
        assert (order.contact_name, order.contact_mobile) == ("赵师傅", "13700001111")
        assert order.delivery_address == "天津市武清区杨村光明道 8 号"
        assert order.delivery_zone is not None and order.delivery_zone.code == "tianjin"
    # Signed out, nobody's address book can be named.
    stranger = app.test_client().post("/api/v1/gifts", json=gift_json(csv))
    assert stranger.status_code == 422
