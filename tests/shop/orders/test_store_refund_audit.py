"""Refunds are security-relevant money movements: each one is in the audit log (issue 15)."""

from __future__ import annotations

from datetime import timedelta

from inventory.db import transaction, utcnow
from inventory.settings import Settings
from shop.orders import payment_records, services
from shop.security import audit
from tests.shop.orders.conftest import Shop
from tests.shop.orders.test_store_orders import place_online


def test_a_refund_is_recorded(shop: Shop, settings: Settings) -> None:
    public_id = place_online(shop, settings)
    later = utcnow() + timedelta(minutes=settings.hold_minutes, seconds=1)
    with transaction(shop.sessions) as s:
        payment_records.apply_payment_succeeded(s, f"pi_{public_id}", 2500, later)
    with transaction(shop.sessions) as s:
        order = services.get_order(s, public_id)
        payment_records.record_refund(s, order, f"pi_{public_id}", "re_9", 2500)
    with shop.sessions() as s:
        entries = audit.recent(s, action="order.refunded")
    assert [(e.subject, e.details["amount_fen"]) for e in entries] == [(f"order:{public_id}", 2500)]
