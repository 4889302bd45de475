"""Text messages: the customer chooses mail or SMS; confirmation, ready (with the pickup code)
and shortfall notices go by that channel, once each."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from flask import Flask

from inventory.db import transaction, utcnow
from inventory.relay import relay_once
from inventory.settings import Settings
from shop.orders import pickup_code, placing, services, sms
from shop.orders.models import Order, OrderStatus
from shop.orders.notifications import mails_in
from shop.orders.rules import LineRequest
from tests.shop.orders.conftest import Shop, csrf_of, on_the_morning
from tests.shop.orders.test_store_notifications import deliver_pending
from tests.shop.orders.test_store_pages import add_to_cart, checkout


def _place(shop: Shop, settings: Settings, channel: str = "sms", language: str = "zh") -> Order:
    with transaction(shop.sessions) as s:
        return services.place_order(
            s,
            placing.PlaceOrder(
                day=shop.open_day,
                lines=[LineRequest("GG-CLASSIC", 2)],
                contact=placing.Contact("王芳", "13800138000", "wang@example.com"),
                fulfilment="pickup",
                payment_method="pay_at_pickup",
                pickup_point="factory",
                language=language,
                notify_channel=channel,
            ),
            settings=settings,
            now=utcnow(),
        )


def test_a_customer_who_chose_sms_gets_the_confirmation_as_one_text_and_no_mail(
    app: Flask, shop: Shop, settings: Settings
) -> None:
    order = _place(shop, settings)
    relay_once(shop.sessions, settings)
    deliver_pending(shop, "order.confirmed")  # a redelivery sends nothing new
    texts = sms.messages_in(Path(settings.sms_dir))
    assert len(texts) == 1
    assert texts[0]["to"] == "13800138000"
    assert texts[0]["text"].startswith(f"【杨村糕干】订单{order.public_id}已确认")
    assert f"/track/{order.public_id}/{order.access_token}" in texts[0]["text"]
    assert mails_in(Path(settings.mail_dir)) == []


def test_the_ready_text_carries_the_pickup_code_address_and_hours_once(
    app: Flask, shop: Shop, settings: Settings
) -> None:
    order = _place(shop, settings)
    with transaction(shop.sessions) as s:
        services.advance_order(
            s,
            (o := services.get_order(s, order.public_id)),
            OrderStatus.READY,
            on_the_morning(o.day),
        )
    relay_once(shop.sessions, settings)
    deliver_pending(shop, "order.ready")
    code = pickup_code.display(pickup_code.encode(order.id, settings.secret_key))
    ready = [m for m in sms.messages_in(Path(settings.sms_dir)) if "已备好" in m["text"]]
    assert len(ready) == 1
    assert f"取货码{code}" in ready[0]["text"]
    assert "天津市武清区杨村" in ready[0]["text"] and "每天 06:00–18:00" in ready[0]["text"]


def test_a_shortfall_is_told_by_text_in_the_customers_language(
    app: Flask, shop: Shop, settings: Settings
) -> None:
    order = _place(shop, settings, language="en")
    with transaction(shop.sessions) as s:
        assert services.cancel_unserved(
            s, services.get_order(s, order.public_id), now=utcnow(), batch_ref="B1"
        )
    relay_once(shop.sessions, settings)
    texts = [m["text"] for m in sms.messages_in(Path(settings.sms_dir))]
    assert any("batch fell short" in t and order.public_id in t for t in texts)


def test_mail_stays_the_default_channel(app: Flask, shop: Shop, settings: Settings) -> None:
    _place(shop, settings, channel="mail")
    relay_once(shop.sessions, settings)
    assert len(mails_in(Path(settings.mail_dir))) == 1
    assert sms.messages_in(Path(settings.sms_dir)) == []


def test_the_checkout_page_lets_the_customer_choose_sms(app: Flask, shop: Shop) -> None:
    client = app.test_client()
    token = csrf_of(client, "/products/GG-CLASSIC")
    add_to_cart(client, token, shop.open_day.isoformat())
    page = client.get("/checkout").get_data(as_text=True)
    assert 'name="notify_channel" value="sms"' in page and "短信" in page
    response = checkout(client, token, notify_channel="sms")
    assert response.status_code == 302
    public_id = response.headers["Location"].split("/track/")[1].split("/")[0]
    with shop.sessions() as s:
        assert services.get_order(s, public_id).notify_channel == "sms"


def test_the_api_refuses_an_unknown_channel_with_a_reason(app: Flask, shop: Shop) -> None:
    from tests.shop.orders.conftest import order_json

    bad = app.test_client().post(
        "/api/v1/orders",
        json=order_json(shop.open_day, ("GG-CLASSIC", 1), notify_channel="pigeon"),
    )
    assert (
        bad.status_code == 422 and "notify_channel" in bad.get_json()["details"]["fields"]["json"]
    )


class _Gateway:
    """A provider adapter as a deployment would add one: it keeps what it was asked to send."""

    def __init__(self) -> None:
        self.sent: dict[str, tuple[str, str]] = {}

    def send(self, to: str, text: str, key: str) -> bool:
        if key in self.sent:
            return False
        self.sent[key] = (to, text)
        return True


def test_a_provider_adapter_plugs_into_the_port_by_name(
    app: Flask, shop: Shop, settings: Settings
) -> None:
    gateway = _Gateway()
    sms.register_backend("test-gateway", lambda _settings: gateway)
    chosen = replace(settings, sms_backend="test-gateway")
    order = _place(shop, settings)
    assert sms.send_order_sms(chosen, order, "order_confirmed", "e-1", {})
    assert not sms.send_order_sms(chosen, order, "order_confirmed", "e-1", {})
    assert gateway.sent["e-1"][0] == "13800138000"
    with pytest.raises(ValueError, match="unknown SMS backend 'nope'"):
        sms.sender_for(replace(settings, sms_backend="nope"))
