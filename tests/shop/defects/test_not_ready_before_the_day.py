"""Issue 10 item 5: nothing is ready, handed out or started before its day without a reason."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from inventory.models import OutboxEvent
from inventory.rules import LOCAL_ZONE
from inventory.settings import Settings
from scheduling.errors import BeforeTheDay
from scheduling.production.batches import start_batch
from shop.orders import services
from shop.orders.models import OrderStatus
from tests.scheduling.production.test_batches import plant
from tests.shop.orders.conftest import Shop
from tests.shop.orders.test_store_notifications import place
from tests.support.production_floor import CLASSIC, DAY, Plant, local

__all__ = ["plant"]


def _payloads(sessions: sessionmaker[Session], event_type: str) -> list[dict[str, object]]:
    with sessions() as s:
        return [
            dict(e.payload)
            for e in s.scalars(select(OutboxEvent).where(OutboxEvent.type == event_type))
        ]


def test_an_order_for_a_later_day_cannot_be_marked_ready_today_without_a_recorded_reason(
    shop: Shop, settings: Settings
) -> None:
    public_id = place(shop, settings)
    three_days_early = datetime.combine(
        shop.open_day - timedelta(days=3), time(10), tzinfo=LOCAL_ZONE
    )
    with pytest.raises(BeforeTheDay), transaction(shop.sessions) as s:
        services.advance_order(
            s, services.get_order(s, public_id), OrderStatus.READY, three_days_early
        )
    with shop.sessions() as s:
        assert services.get_order(s, public_id).status is OrderStatus.CONFIRMED
    assert _payloads(shop.sessions, "order.ready") == []
    with transaction(shop.sessions) as s:
        services.advance_order(
            s,
            services.get_order(s, public_id),
            OrderStatus.READY,
            three_days_early,
            override_reason="  customer collects early, goods from the morning batch  ",
            by="boss@gaogan.local",
        )
    (ready,) = _payloads(shop.sessions, "order.ready")
    assert ready["override"] == {
        "reason": "customer collects early, goods from the morning batch",
        "by": "boss@gaogan.local",
        "at": three_days_early.isoformat(),
    }


def test_tomorrows_batch_cannot_start_the_evening_before_without_a_reason(
    plant: Plant, db: sessionmaker[Session]
) -> None:
    batch = plant.batch({CLASSIC: 100})
    evening_before = local(DAY - timedelta(days=1), 21)
    with pytest.raises(BeforeTheDay), transaction(db) as s:
        start_batch(s, batch.ref, now=evening_before)
    assert _payloads(db, "batch.started") == []
    with transaction(db) as s:
        start_batch(s, batch.ref, now=evening_before, override_reason="double shift before 除夕")
    (started,) = _payloads(db, "batch.started")
    assert started["early_start_reason"] == "double shift before 除夕"


def test_on_its_own_morning_the_batch_starts_without_any_reason(
    plant: Plant, db: sessionmaker[Session]
) -> None:
    batch = plant.batch({CLASSIC: 100})
    with transaction(db) as s:
        assert start_batch(s, batch.ref, now=local(DAY, 4)).started_at == local(DAY, 4)
    (started,) = _payloads(db, "batch.started")
    assert "early_start_reason" not in started
