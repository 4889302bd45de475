"""A checkout on PostgreSQL is one read and one call, whatever the number of lines, and writes
what the ordinary path writes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import Engine, event, select

from inventory.catalog import create_product
from inventory.db import transaction, utcnow
from inventory.errors import SoldOut
from inventory.models import Claim, ClaimKind, OutboxEvent, OutboxStatus, Reservation, Supply
from inventory.settings import Settings
from inventory.supply import set_planned_supply
from shop.orders import services
from shop.orders.models import Order, OrderLine, OrderStatus
from tests.shop.orders.conftest import Shop
from tests.shop.orders.test_store_orders import request, stripe_settings

pytestmark = pytest.mark.postgres

EXTRA = ["GG-X1", "GG-X2", "GG-X3"]


@contextmanager
def counted(engine: Engine) -> Iterator[list[str]]:
    statements: list[str] = []

    def count(_c: object, _cur: object, stmt: str, *_a: object) -> None:
        statements.append(stmt.split()[0].upper())

    event.listen(engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)


def _more_products(shop: Shop) -> None:
    with transaction(shop.sessions) as s:
        for sku in EXTRA:
            create_product(s, sku, sku, sku, 100, 100, 1, 7)
        set_planned_supply(s, "extra", {(sku, shop.open_day): 50 for sku in EXTRA})


@pytest.mark.parametrize("online", [False, True], ids=["pay at pickup", "online"])
def test_a_checkout_takes_at_most_three_statements_for_one_line_or_five(
    shop: Shop, settings: Settings, online: bool
) -> None:
    _more_products(shop)
    engine = shop.sessions.kw["bind"]
    used = stripe_settings(settings) if online else settings
    method = "stripe" if online else "pay_at_pickup"
    counts: dict[int, list[str]] = {}
    for size in (1, 2, 5):
        skus = ["GG-CLASSIC", "GG-GIFT", *EXTRA][:size]
        with counted(engine) as statements, transaction(shop.sessions) as s:
            services.place_order(
                s,
                request(shop, *[(sku, 1) for sku in skus], payment_method=method),
                settings=used,
                now=utcnow(),
            )
        counts[size] = [q for q in statements if q not in {"BEGIN", "COMMIT"}]
    # The snapshot read, then gaogan_take (every row written, the guarded update last).
    assert counts[1] == counts[2] == counts[5] == ["SELECT", "SELECT"]
    assert len(counts[5]) <= 3


def test_the_one_call_writes_the_order_its_stock_and_its_events_in_order(
    shop: Shop, settings: Settings
) -> None:
    with transaction(shop.sessions) as s:
        order = services.place_order(
            s, request(shop, ("GG-CLASSIC", 2), ("GG-GIFT", 1)), settings=settings, now=utcnow()
        )
        order_id, public_id = order.id, order.public_id
        assert order.status is OrderStatus.CONFIRMED
    with shop.sessions() as s:
        stored = s.get(Order, order_id)
        assert stored is not None and stored.public_id == public_id
        assert stored.total_fen == 2 * 1250 + 8800
        assert stored.cancel_reason == "" and stored.updated_at is not None
        assert [(ln.sku, ln.quantity, ln.line_total_fen) for ln in stored.lines] == [
            ("GG-CLASSIC", 2, 2500),
            ("GG-GIFT", 1, 8800),
        ]
        reservation = s.scalars(
            select(Reservation).where(Reservation.ref == f"order:{order_id}")
        ).one()
        assert reservation.status.value == "confirmed"
        claims = s.scalars(select(Claim).where(Claim.reservation_id == reservation.id)).all()
        assert sorted(c.quantity for c in claims) == [1, 2]
        assert {c.kind for c in claims} == {ClaimKind.ALLOCATION}
        promised = dict(
            s.execute(
                select(Supply.id, Supply.promised).where(
                    Supply.id.in_([c.supply_id for c in claims])
                )
            ).all()
        )
        assert sorted(promised.values()) == [1, 2]
        events = s.execute(
            select(OutboxEvent.type, OutboxEvent.key, OutboxEvent.status, OutboxEvent.payload)
            .where(OutboxEvent.key == f"order:{order_id}")
            .order_by(OutboxEvent.id)
        ).all()
        assert [e.type for e in events] == ["stock.reserved", "order.placed", "order.confirmed"]
        assert {e.status for e in events} == {OutboxStatus.PENDING}
        assert events[1].payload["public_id"] == public_id
        assert events[1].payload["lines"] == [
            {"sku": "GG-CLASSIC", "quantity": 2},
            {"sku": "GG-GIFT", "quantity": 1},
        ]


def test_an_order_beyond_the_stock_writes_nothing_and_is_refused_as_sold_out(
    shop: Shop, settings: Settings
) -> None:
    with shop.sessions() as s:
        before = s.scalars(select(OutboxEvent.id)).all()
    with pytest.raises(SoldOut), transaction(shop.sessions) as s:
        services.place_order(
            s,
            request(shop, ("GG-CLASSIC", 4), day=shop.scarce_day),
            settings=settings,
            now=utcnow(),
        )
    with shop.sessions() as s:
        assert s.scalars(select(OutboxEvent.id)).all() == before
        assert s.scalars(select(OrderLine.id)).all() == []
