"""Customer mails from outbox events: written once per event, in the customer's language."""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from sqlalchemy import select

from inventory.db import transaction, utcnow
from inventory.events import Event, registry
from inventory.models import OutboxEvent
from inventory.relay import relay_once
from inventory.settings import Settings
from shop.orders import placing, services
from shop.orders.models import OrderStatus
from shop.orders.notifications import mails_in
from shop.orders.rules import LineRequest
from tests.shop.orders.conftest import Shop, on_the_morning


def deliver_pending(shop: Shop, event_type: str) -> list[Event]:
    """Hand every outbox event of this type to its subscribers, as the relay does."""
    with shop.sessions() as s:
        events = [
            Event.from_row(row)
            for row in s.scalars(select(OutboxEvent).where(OutboxEvent.type == event_type))
        ]
    for event in events:
        for subscriber in registry.subscribers(event_type):
            with transaction(shop.sessions) as s:
                subscriber.handler(s, event)
    return events


def place(shop: Shop, settings: Settings, language: str = "zh") -> str:
    with transaction(shop.sessions) as s:
        return services.place_order(
            s,
            placing.PlaceOrder(
                day=shop.open_day,
                lines=[LineRequest("GG-CLASSIC", 2)],
                contact=placing.Contact("王芳", "13800138000", "wang@example.com"),
                fulfilment="pickup",
                payment_method="pay_at_pickup",
                pickup_point="changde",
                language=language,
            ),
            settings=settings,
            now=utcnow(),
        ).public_id


def test_a_confirmed_order_gets_one_mail_even_when_the_event_is_delivered_twice(
    app: Flask, shop: Shop, settings: Settings
) -> None:
    public_id = place(shop, settings)
    stats = relay_once(shop.sessions, settings)
    assert stats.claimed >= 2
    # A redelivery (say the relay crashed before marking the event done) writes nothing new.
    deliver_pending(shop, "order.confirmed")
    mails = mails_in(Path(settings.mail_dir))
    assert len(mails) == 1
    mail = mails[0]
    assert mail["to"] == "wang@example.com"
    assert public_id in mail["subject"] and "已确认" in mail["subject"]
    assert "¥25.00" in mail["body"]
    with shop.sessions() as s:
        token = services.get_order(s, public_id).access_token
    assert f"/track/{public_id}/{token}" in mail["body"]


def test_ready_and_cancellation_mails_are_sent_in_the_customers_language(
    app: Flask, shop: Shop, settings: Settings
) -> None:
    ready = place(shop, settings, language="en")
    cancelled = place(shop, settings, language="en")
    with transaction(shop.sessions) as s:
        services.advance_order(
            s, services.get_order(s, ready), OrderStatus.READY, on_the_morning(shop.open_day)
        )
        services.cancel_order(
            s,
            services.get_order(s, cancelled),
            settings=settings,
            now=utcnow(),
            reason="changed plans",
        )
    deliver_pending(shop, "order.ready")
    deliver_pending(shop, "order.cancelled")
    subjects = sorted(m["subject"] for m in mails_in(Path(settings.mail_dir)))
    assert subjects == sorted(
        [f"Yangcun gaogan order {ready} is ready", f"Yangcun gaogan order {cancelled} cancelled"]
    )


def test_the_mail_consumers_are_registered_by_the_app(app: Flask) -> None:
    for event_type in ("order.paid", "order.confirmed", "order.cancelled"):
        assert any(s.consumer.startswith("mail.") for s in registry.subscribers(event_type))
    # The production events: the storefront takes its order refs (and mails "ready" once).
    assert "orders.ready" in {s.consumer for s in registry.subscribers("order.ready")}
    assert "orders.unserved" in {s.consumer for s in registry.subscribers("order.unserved")}
