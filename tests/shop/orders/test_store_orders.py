"""Order services on a real database: placing, paying, cancelling, expiring."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from inventory.atp import available_to_promise
from inventory.catalog import create_product
from inventory.db import transaction, utcnow
from inventory.errors import DayClosed, SoldOut, UnknownItem
from inventory.models import OutboxEvent
from inventory.reservations import get_reservation
from inventory.settings import Settings
from inventory.supply import set_planned_supply
from scheduling.cutoff import CutoffPassed
from shop.orders import payment_records, placing, services
from shop.orders.models import Order, OrderStatus, PaymentAttemptStatus
from shop.orders.rules import DeliveryRefused, LineRequest, OrderStateError
from tests.shop.orders.conftest import Shop, on_the_morning

CONTACT = placing.Contact("王芳", "13800138000", "wang@example.com")


def stripe_settings(settings: Settings) -> Settings:
    return settings.with_overrides(stripe_secret_key="sk_test_x", stripe_webhook_secret="whsec_x")


def request(shop: Shop, *lines: tuple[str, int], **kw: object) -> placing.PlaceOrder:
    values: dict[str, object] = {
        "day": shop.open_day,
        "lines": [LineRequest(s, q) for s, q in lines] or [LineRequest("GG-CLASSIC", 2)],
        "contact": CONTACT,
        "fulfilment": "pickup",
        "payment_method": "pay_at_pickup",
        "pickup_point": "factory",
    }
    values.update(kw)
    return placing.PlaceOrder(**values)  # type: ignore[arg-type]


def event_types(session: object) -> list[str]:
    return list(session.scalars(select(OutboxEvent.type).order_by(OutboxEvent.id)))  # type: ignore[attr-defined]


def test_a_pay_at_pickup_order_is_confirmed_at_once_and_takes_the_stock(
    shop: Shop, settings: Settings
) -> None:
    now = utcnow()
    with transaction(shop.sessions) as s:
        order = services.place_order(
            s, request(shop, ("GG-CLASSIC", 2), ("GG-GIFT", 1)), settings=settings, now=now
        )
        public_id = order.public_id
    with shop.sessions() as s:
        order = services.get_order(s, public_id)
        assert order.status is OrderStatus.CONFIRMED
        assert order.total_fen == 2 * 1250 + 8800
        assert [ln.sku for ln in order.lines] == ["GG-CLASSIC", "GG-GIFT"]
        assert get_reservation(s, order.reservation_ref).status.value == "confirmed"
        atp = available_to_promise(s, ["GG-CLASSIC"], shop.open_day, shop.open_day)
        assert atp["GG-CLASSIC"][shop.open_day] == 98
        assert event_types(s)[-2:] == ["order.placed", "order.confirmed"]


def test_an_order_beyond_availability_is_refused_and_leaves_nothing_behind(
    shop: Shop, settings: Settings
) -> None:
    with pytest.raises(SoldOut), transaction(shop.sessions) as s:
        services.place_order(
            s,
            request(shop, ("GG-CLASSIC", 1), ("GG-GIFT", 4), day=shop.scarce_day),
            settings=settings,
            now=utcnow(),
        )
    with shop.sessions() as s:
        assert s.scalars(select(Order)).all() == []
        atp = available_to_promise(s, ["GG-CLASSIC", "GG-GIFT"], shop.scarce_day, shop.scarce_day)
        assert atp["GG-CLASSIC"][shop.scarce_day] == 3


def test_a_closed_day_and_an_unknown_product_are_refused(shop: Shop, settings: Settings) -> None:
    with pytest.raises((DayClosed, SoldOut)), transaction(shop.sessions) as s:
        services.place_order(s, request(shop, day=shop.closed_day), settings=settings, now=utcnow())
    with pytest.raises(UnknownItem), transaction(shop.sessions) as s:
        services.place_order(s, request(shop, ("NOPE", 1)), settings=settings, now=utcnow())


def test_an_order_for_today_is_past_its_cutoff(shop: Shop, settings: Settings) -> None:
    with pytest.raises(CutoffPassed), transaction(shop.sessions) as s:
        services.place_order(
            s, request(shop, day=shop.open_day - timedelta(days=2)), settings=settings, now=utcnow()
        )


def test_delivery_beyond_the_freshness_window_is_refused_with_a_clear_message(
    shop: Shop, settings: Settings
) -> None:
    online = stripe_settings(settings)
    with pytest.raises(DeliveryRefused) as refused, transaction(shop.sessions) as s:
        services.place_order(
            s,
            request(
                shop,
                fulfilment="delivery",
                delivery_zone="beijing",
                delivery_address="北京市东城区",
                payment_method="stripe",
            ),
            settings=online,
            now=utcnow(),
        )
    assert "fresh" in refused.value.message
    with transaction(shop.sessions) as s:
        order = services.place_order(
            s,
            request(
                shop,
                fulfilment="delivery",
                delivery_zone="tianjin",
                delivery_address="天津市和平区",
                payment_method="stripe",
            ),
            settings=online,
            now=utcnow(),
        )
        assert order.delivery_fee_fen == 1200
        assert order.total_fen == 2 * 1250 + 1200


def test_pay_at_pickup_is_not_offered_for_delivery(shop: Shop, settings: Settings) -> None:
    with pytest.raises(Exception, match="pay at pickup"), transaction(shop.sessions) as s:
        services.place_order(
            s,
            request(
                shop, fulfilment="delivery", delivery_zone="tianjin", delivery_address="x路1号"
            ),
            settings=settings,
            now=utcnow(),
        )


def place_online(shop: Shop, settings: Settings, **kw: object) -> str:
    with transaction(shop.sessions) as s:
        kw.setdefault("payment_method", "stripe")
        order = services.place_order(
            s, request(shop, **kw), settings=stripe_settings(settings), now=utcnow()
        )
        number = payment_records.start_payment_attempt(s, order, "stripe", utcnow())
        payment_records.record_payment_started(s, order, number, f"pi_{order.public_id}", "secret")
        return order.public_id


def test_an_online_order_holds_its_stock_until_paid_and_is_then_allocated(
    shop: Shop, settings: Settings
) -> None:
    public_id = place_online(shop, settings)
    with shop.sessions() as s:
        order = services.get_order(s, public_id)
        assert order.status is OrderStatus.PENDING_PAYMENT
        assert order.hold_expires_at is not None
        assert get_reservation(s, order.reservation_ref).status.value == "held"
    with transaction(shop.sessions) as s:
        outcome = payment_records.apply_payment_succeeded(s, f"pi_{public_id}", 2500, utcnow())
    assert outcome.outcome == "paid"
    with shop.sessions() as s:
        order = services.get_order(s, public_id)
        assert order.status is OrderStatus.PAID
        assert get_reservation(s, order.reservation_ref).status.value == "confirmed"
        assert "order.paid" in event_types(s)


def test_a_late_payment_failure_never_unpays_a_paid_order(shop: Shop, settings: Settings) -> None:
    public_id = place_online(shop, settings)
    with transaction(shop.sessions) as s:
        payment_records.apply_payment_succeeded(s, f"pi_{public_id}", 2500, utcnow())
    with transaction(shop.sessions) as s:
        assert (
            payment_records.apply_payment_failed(s, f"pi_{public_id}", "declined").outcome
            == "ignored"
        )
    with transaction(shop.sessions) as s:
        assert (
            payment_records.apply_payment_succeeded(s, f"pi_{public_id}", 2500, utcnow()).outcome
            == "duplicate"
        )
    with shop.sessions() as s:
        assert services.get_order(s, public_id).status is OrderStatus.PAID
        assert (
            payment_records.latest_attempt(s, services.get_order(s, public_id)).status
            is PaymentAttemptStatus.SUCCEEDED
        )  # type: ignore[union-attr]
        assert event_types(s).count("order.paid") == 1


def test_expiry_frees_unpaid_holds_but_never_touches_a_paid_order(
    shop: Shop, settings: Settings
) -> None:
    unpaid = place_online(shop, settings)
    paid = place_online(shop, settings)
    with transaction(shop.sessions) as s:
        payment_records.apply_payment_succeeded(s, f"pi_{paid}", 2500, utcnow())
    later = utcnow() + timedelta(minutes=settings.hold_minutes, seconds=1)
    with transaction(shop.sessions) as s:
        assert services.expire_unpaid_orders(s, utcnow()) == []
        assert services.expire_unpaid_orders(s, later) == [unpaid]
    with transaction(shop.sessions) as s:
        assert services.expire_unpaid_orders(s, later) == []
        assert services.get_order(s, unpaid).status is OrderStatus.EXPIRED
        assert services.get_order(s, paid).status is OrderStatus.PAID
        atp = available_to_promise(s, ["GG-CLASSIC"], shop.open_day, shop.open_day, now=later)
        assert atp["GG-CLASSIC"][shop.open_day] == 98
        assert event_types(s).count("order.expired") == 1


def test_a_payment_arriving_after_expiry_is_marked_for_refund(
    shop: Shop, settings: Settings
) -> None:
    public_id = place_online(shop, settings)
    later = utcnow() + timedelta(minutes=settings.hold_minutes, seconds=1)
    with transaction(shop.sessions) as s:
        services.expire_unpaid_orders(s, later)
    with transaction(shop.sessions) as s:
        outcome = payment_records.apply_payment_succeeded(s, f"pi_{public_id}", 2500, later)
    assert outcome.outcome == "refund_due"
    with shop.sessions() as s:
        assert services.get_order(s, public_id).status is OrderStatus.EXPIRED


def test_cancelling_before_the_cutoff_frees_the_stock_and_a_ready_order_cannot_be_cancelled(
    shop: Shop, settings: Settings
) -> None:
    with transaction(shop.sessions) as s:
        a = services.place_order(s, request(shop), settings=settings, now=utcnow()).public_id
        b = services.place_order(s, request(shop), settings=settings, now=utcnow()).public_id
    with transaction(shop.sessions) as s:
        order = services.get_order(s, a)
        assert (
            services.cancel_order(s, order, settings=settings, now=utcnow(), reason="plans changed")
            is None
        )
        assert order.status is OrderStatus.CANCELLED
        services.advance_order(
            s, services.get_order(s, b), OrderStatus.READY, on_the_morning(shop.open_day)
        )
    with pytest.raises(OrderStateError), transaction(shop.sessions) as s:
        services.cancel_order(
            s, services.get_order(s, b), settings=settings, now=utcnow(), reason="x"
        )
    with shop.sessions() as s:
        atp = available_to_promise(s, ["GG-CLASSIC"], shop.open_day, shop.open_day)
        assert atp["GG-CLASSIC"][shop.open_day] == 98
        assert {"order.cancelled", "order.ready"} <= set(event_types(s))


def test_the_statements_per_checkout_do_not_grow_with_the_number_of_lines(
    shop: Shop, settings: Settings
) -> None:
    extra = ["GG-X1", "GG-X2", "GG-X3"]
    with transaction(shop.sessions) as s:
        for sku in extra:
            create_product(
                s,
                sku,
                sku,
                sku,
                price_fen=100,
                pack_size_g=100,
                freshness_days=1,
                best_before_days=7,
            )
        set_planned_supply(s, "extra", {(sku, shop.open_day): 50 for sku in extra})
    engine = shop.sessions.kw["bind"]
    counts: dict[int, int] = {}
    for size in (1, 2, 5):
        skus = ["GG-CLASSIC", "GG-GIFT", *extra][:size]
        statements: list[str] = []

        def count(
            _c: object, _cur: object, stmt: str, *_a: object, seen: list[str] = statements
        ) -> None:
            seen.append(stmt)

        event.listen(engine, "before_cursor_execute", count)
        try:
            with transaction(shop.sessions) as s:
                services.place_order(
                    s, request(shop, *[(sku, 1) for sku in skus]), settings=settings, now=utcnow()
                )
        finally:
            event.remove(engine, "before_cursor_execute", count)
        counts[size] = len(statements)
    # One line touching one supply row takes inventory's single-statement fast path.
    assert counts[1] <= counts[2] == counts[5], counts


def test_a_payment_landing_after_the_hold_lapsed_but_before_the_sweep_is_refunded(
    shop: Shop, settings: Settings
) -> None:
    public_id = place_online(shop, settings)
    later = utcnow() + timedelta(minutes=settings.hold_minutes, seconds=1)
    with transaction(shop.sessions) as s:
        outcome = payment_records.apply_payment_succeeded(s, f"pi_{public_id}", 2500, later)
    assert outcome.outcome == "refund_due"
    with shop.sessions() as s:
        order = services.get_order(s, public_id)
        assert order.status is OrderStatus.EXPIRED
        assert get_reservation(s, order.reservation_ref).status.value in {"released", "expired"}
        assert "order.paid" not in event_types(s)


def test_a_second_attempt_succeeding_after_the_order_was_paid_is_refunded_not_kept(
    shop: Shop, settings: Settings
) -> None:
    public_id = place_online(shop, settings)
    with transaction(shop.sessions) as s:
        order = services.get_order(s, public_id)
        number = payment_records.start_payment_attempt(s, order, "stripe", utcnow())
        payment_records.record_payment_started(s, order, number, f"pi_{public_id}_2", "secret-2")
    with transaction(shop.sessions) as s:
        assert (
            payment_records.apply_payment_succeeded(s, f"pi_{public_id}", 2500, utcnow()).outcome
            == "paid"
        )
    with transaction(shop.sessions) as s:
        second = payment_records.apply_payment_succeeded(s, f"pi_{public_id}_2", 2500, utcnow())
    assert second.outcome == "refund_due"
    assert second.provider_ref == f"pi_{public_id}_2"
    with transaction(shop.sessions) as s:
        order = services.get_order(s, public_id)
        payment_records.record_refund(s, order, f"pi_{public_id}_2", "re_1", 2500)
    with shop.sessions() as s:
        assert services.get_order(s, public_id).status is OrderStatus.PAID
