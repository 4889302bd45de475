"""Checkouts for several pickup days: one order (and one hold) per day, all or nothing, one
payment for the total, each day's order linked as one purchase."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inventory.db import transaction, utcnow
from inventory.models import Claim, OutboxEvent, Reservation, ReservationStatus, Supply
from inventory.settings import Settings
from shop.auth import create_user
from shop.models import Role
from shop.orders import payment_records, placing, purchases
from shop.orders.models import Order, OrderStatus, PaymentAttempt, PaymentAttemptStatus, Purchase
from shop.orders.rules import LineRequest
from tests.shop.orders.conftest import Shop, csrf_of, order_json
from tests.shop.orders.test_store_pages import add_to_cart, checkout
from tests.support.web import sign_in_with_password


def later_day(shop: Shop) -> date:
    """Another open day with plenty of stock, after the fixture's special days."""
    return shop.open_day + timedelta(days=4)


def held(s: Session) -> tuple[int, int, int, int]:
    """Orders, purchases, reservations and the stock promised on all supply rows."""
    return (
        s.scalar(select(func.count()).select_from(Order)) or 0,
        s.scalar(select(func.count()).select_from(Purchase)) or 0,
        s.scalar(select(func.count()).select_from(Reservation)) or 0,
        s.scalar(select(func.coalesce(func.sum(Supply.promised), 0))) or 0,
    )


def test_a_cart_with_two_days_checks_out_as_two_linked_orders_paid_at_pickup(
    app: Flask, shop: Shop
) -> None:
    with transaction(shop.sessions) as s:
        create_user(
            s, email="a@example.com", name="王芳", password="long-password", role=Role.CUSTOMER
        )
    client = app.test_client()
    sign_in_with_password(client, "a@example.com", "long-password")
    token = csrf_of(client, "/products/GG-GIFT")
    second = later_day(shop)
    add_to_cart(client, token, shop.open_day.isoformat(), sku="GG-GIFT", quantity=2)
    add_to_cart(client, token, second.isoformat(), sku="GG-CLASSIC", quantity=4)
    cart = client.get("/cart").get_data(as_text=True)
    assert "购物车里有 2 个取货日" in cart
    assert f'data-day="{shop.open_day.isoformat()}"' in cart and f'data-day="{second}"' in cart
    assert "¥226.00" in cart  # 2 x 88 + 4 x 12.50
    assert "共 2 天" in client.get("/checkout").get_data(as_text=True)

    answer = checkout(client, token)
    assert answer.status_code == 302
    assert answer.headers["Location"].startswith("/purchase/P")
    page = client.get(answer.headers["Location"]).get_data(as_text=True)
    assert page.count('class="purchase-order"') == 2
    assert 'data-status="confirmed"' in page and "¥226.00" in page
    with shop.sessions() as s:
        orders = s.scalars(select(Order).order_by(Order.day)).all()
        assert [(o.day, o.status, o.total_fen) for o in orders] == [
            (shop.open_day, OrderStatus.CONFIRMED, 17600),
            (second, OrderStatus.CONFIRMED, 5000),
        ]
        bought = s.scalars(select(Purchase)).one()
        assert {o.purchase_id for o in orders} == {bought.id}
        assert bought.total_fen == 22600 and bought.payment_method == "pay_at_pickup"
        # Each day its own allocation.
        refs = {r.ref: r.status for r in s.scalars(select(Reservation))}
        assert refs == {o.reservation_ref: ReservationStatus.CONFIRMED for o in orders}
    # The order list shows both days, each linked to the one purchase.
    account = client.get("/account").get_data(as_text=True)
    assert account.count(f'data-purchase="{bought.public_id}"') == 2
    assert f"合并订单 {bought.public_id}" in account
    owned = client.get(f"/purchases/{bought.public_id}")
    assert owned.status_code == 302 and bought.access_token in owned.headers["Location"]
    assert "购物车是空的" in client.get("/cart").get_data(as_text=True)


def test_a_sold_out_second_day_refuses_the_whole_checkout_and_holds_nothing(
    app: Flask, shop: Shop
) -> None:
    client = app.test_client()
    token = csrf_of(client, "/products/GG-CLASSIC")
    add_to_cart(client, token, shop.open_day.isoformat(), quantity=2)
    add_to_cart(client, token, shop.scarce_day.isoformat(), quantity=3)  # all 3 left
    # Someone else buys one of the scarce day's three pieces meanwhile.
    other = app.test_client()
    other_token = csrf_of(other, "/products/GG-CLASSIC")
    add_to_cart(other, other_token, shop.scarce_day.isoformat(), quantity=1)
    assert checkout(other, other_token).status_code == 302
    with shop.sessions() as s:
        before = held(s)

    refused = checkout(client, token)
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert f"{shop.scarce_day.isoformat()} 这一天无法下单" in page
    assert "任何一天都没有预留" in page
    with shop.sessions() as s:
        assert held(s) == before  # nothing for the open first day either
    # The cart is kept so the customer can change the scarce day.
    assert f'data-day="{shop.scarce_day.isoformat()}"' in client.get("/cart").get_data(as_text=True)


def test_the_api_places_a_purchase_and_refuses_a_sold_out_day_naming_it(
    app: Flask, shop: Shop
) -> None:
    client = app.test_client()
    body = order_json(shop.open_day, ("GG-GIFT", 2))
    body.pop("day")
    body.pop("lines")
    second = later_day(shop)
    refused = client.post(
        "/api/v1/purchases",
        json={
            **body,
            "days": [
                {"day": shop.open_day.isoformat(), "lines": [{"sku": "GG-GIFT", "quantity": 2}]},
                {
                    "day": shop.sold_out_day.isoformat(),
                    "lines": [{"sku": "GG-CLASSIC", "quantity": 4}],
                },
            ],
        },
    )
    assert refused.status_code == 409, refused.get_data(as_text=True)
    answer = refused.get_json()
    assert answer["error"] == "purchase_day_refused"
    assert answer["details"]["day"] == shop.sold_out_day.isoformat()
    assert answer["details"]["reason_code"] == "sold_out"
    assert answer["message"].startswith(f"{shop.sold_out_day.isoformat()} 这一天无法下单")
    with shop.sessions() as s:
        assert held(s) == (0, 0, 0, 0)

    placed = client.post(
        "/api/v1/purchases",
        json={
            **body,
            "days": [
                {"day": second.isoformat(), "lines": [{"sku": "GG-CLASSIC", "quantity": 4}]},
                {"day": shop.open_day.isoformat(), "lines": [{"sku": "GG-GIFT", "quantity": 2}]},
            ],
        },
    )
    assert placed.status_code == 201, placed.get_data(as_text=True)
    out = placed.get_json()
    assert out["total_fen"] == 22600 and out["paid"] is True
    assert [o["day"] for o in out["orders"]] == [shop.open_day.isoformat(), second.isoformat()]
    assert {o["status"] for o in out["orders"]} == {"confirmed"}
    read_back = client.get(
        f"/api/v1/purchases/{out['id']}", headers={"X-Purchase-Token": out["access_token"]}
    )
    assert read_back.status_code == 200 and len(read_back.get_json()["orders"]) == 2
    assert (
        client.get(
            f"/api/v1/purchases/{out['id']}", headers={"X-Purchase-Token": "nope"}
        ).status_code
        == 404
    )
    assert client.get(f"/api/v1/purchases/{out['id']}").status_code == 404
    twice = client.post(
        "/api/v1/purchases",
        json={
            **body,
            "days": [
                {"day": second.isoformat(), "lines": [{"sku": "GG-CLASSIC", "quantity": 1}]},
                {"day": second.isoformat(), "lines": [{"sku": "GG-GIFT", "quantity": 1}]},
            ],
        },
    )
    assert twice.status_code == 422 and twice.get_json()["error"] == "purchase_refused"


def _pending_purchase(shop: Shop, settings: Settings) -> tuple[str, list[str]]:
    """A two-day purchase paid online, its shared payment started as `pi_<purchase>`."""
    online = settings.with_overrides(stripe_secret_key="sk_test_x")
    with transaction(shop.sessions) as s:
        bought = purchases.place_purchase(
            s,
            purchases.PlacePurchase(
                days=[
                    purchases.DayLines(shop.open_day, [LineRequest("GG-GIFT", 2)]),
                    purchases.DayLines(later_day(shop), [LineRequest("GG-CLASSIC", 4)]),
                ],
                contact=placing.Contact("王芳", "13800138000", "wang@example.com"),
                fulfilment="pickup",
                payment_method="alipay",
                pickup_point="factory",
            ),
            settings=online,
            now=utcnow(),
        )
        orders = purchases.orders_of(s, bought)
        assert {o.status for o in orders} == {OrderStatus.PENDING_PAYMENT}
        number = payment_records.start_shared_attempt(s, orders, "alipay", utcnow())
        payment_records.record_payment_started(s, orders, number, f"pi_{bought.public_id}", "x")
        return bought.public_id, [o.public_id for o in orders]


def _statuses(shop: Shop, ids: list[str]) -> list[OrderStatus]:
    with shop.sessions() as s:
        return [s.scalar(select(Order.status).where(Order.public_id == i)) for i in ids]  # type: ignore[misc]


def test_one_payment_for_the_total_pays_every_day_once(shop: Shop, settings: Settings) -> None:
    public_id, ids = _pending_purchase(shop, settings)
    ref = f"pi_{public_id}"
    with transaction(shop.sessions) as s:
        shares = s.scalars(select(PaymentAttempt).where(PaymentAttempt.provider_ref == ref)).all()
        assert sorted(a.amount_fen for a in shares) == [5000, 17600]
        assert len({a.number for a in shares}) == 1
    # The wrong amount settles nothing and goes back whole.
    with transaction(shop.sessions) as s:
        wrong = payment_records.apply_payment_succeeded(s, ref, 17600, utcnow())
    assert wrong.outcome == "refund_due" and wrong.amount_fen == 17600
    assert _statuses(shop, ids) == [OrderStatus.PENDING_PAYMENT] * 2
    # Paid again (a new attempt for both), the right amount pays both days, once.
    with transaction(shop.sessions) as s:
        orders = [s.scalar(select(Order).where(Order.public_id == i)) for i in ids]
        number = payment_records.start_shared_attempt(s, orders, "alipay", utcnow())  # type: ignore[arg-type]
        payment_records.record_payment_started(s, orders, number, ref + "_2", "y")  # type: ignore[arg-type]
    for expected in ("paid", "duplicate"):
        with transaction(shop.sessions) as s:
            outcome = payment_records.apply_payment_succeeded(s, ref + "_2", 22600, utcnow())
        assert outcome.outcome == expected and outcome.refunds() == []
    assert _statuses(shop, ids) == [OrderStatus.PAID] * 2
    with shop.sessions() as s:
        paid_events = s.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.type == "order.paid")
        )
        assert paid_events == 2
        assert {r.status for r in s.scalars(select(Reservation))} == {ReservationStatus.CONFIRMED}
        claims = s.scalars(select(Claim)).all()
        assert {c.kind.value for c in claims} == {"allocation"}


def test_a_payment_after_the_holds_lapsed_pays_nothing_and_every_share_goes_back(
    shop: Shop, settings: Settings
) -> None:
    public_id, ids = _pending_purchase(shop, settings)
    late = utcnow() + timedelta(minutes=settings.hold_minutes + 1)
    with transaction(shop.sessions) as s:
        outcome = payment_records.apply_payment_succeeded(s, f"pi_{public_id}", 22600, late)
    assert outcome.outcome == "refund_due"
    assert sorted((r.public_id, r.amount_fen) for r in outcome.refunds()) == sorted(
        zip(ids, [17600, 5000], strict=True)
    )
    assert _statuses(shop, ids) == [OrderStatus.EXPIRED] * 2
    with shop.sessions() as s:
        assert s.scalar(select(func.coalesce(func.sum(Supply.promised), 0))) == 0
        # Until refunded, both shares are due (the refund job's list).
        due = {d.public_id: d.amount_fen for d in payment_records.refunds_due(s)}
        assert due == {ids[0]: 17600, ids[1]: 5000}


def test_cancelling_one_day_of_a_paid_purchase_leaves_the_other_day_and_its_share(
    shop: Shop, settings: Settings
) -> None:
    public_id, ids = _pending_purchase(shop, settings)
    with transaction(shop.sessions) as s:
        payment_records.apply_payment_succeeded(s, f"pi_{public_id}", 22600, utcnow())
    from shop.orders import services

    with transaction(shop.sessions) as s:
        order = services.get_order(s, ids[1])
        attempt = services.cancel_order(
            s, order, settings=settings, now=utcnow(), reason="cancelled by the customer"
        )
        assert attempt is not None and attempt.amount_fen == 5000  # that day's share only
    assert _statuses(shop, ids) == [OrderStatus.PAID, OrderStatus.CANCELLED]
    with shop.sessions() as s:
        statuses = dict(
            s.execute(
                select(Order.public_id, PaymentAttempt.status).join(
                    PaymentAttempt, PaymentAttempt.order_id == Order.id
                )
            ).all()
        )
        assert statuses == {
            ids[0]: PaymentAttemptStatus.SUCCEEDED,
            ids[1]: PaymentAttemptStatus.SUCCEEDED,
        }
        assert [d.public_id for d in payment_records.refunds_due(s)] == [ids[1]]


def test_cancelling_one_waiting_day_retires_the_shared_payment_so_the_rest_is_paid_anew(
    shop: Shop, settings: Settings
) -> None:
    public_id, ids = _pending_purchase(shop, settings)
    from shop.orders import services

    with transaction(shop.sessions) as s:
        order = services.get_order(s, ids[0])
        assert services.cancel_order(s, order, settings=settings, now=utcnow(), reason="x") is None
    with shop.sessions() as s:
        # The payment for both days is retired: it no longer matches what is left to pay.
        stale = s.scalars(
            select(PaymentAttempt.status).where(PaymentAttempt.provider_ref == f"pi_{public_id}")
        ).all()
        assert set(stale) == {PaymentAttemptStatus.FAILED}
    # The customer paid on the old payment all the same: the day left is paid, the
    # cancelled day's share goes back.
    with transaction(shop.sessions) as s:
        outcome = payment_records.apply_payment_succeeded(s, f"pi_{public_id}", 22600, utcnow())
    assert outcome.outcome == "paid"
    assert [(r.public_id, r.amount_fen) for r in outcome.refunds()] == [(ids[0], 17600)]
    assert _statuses(shop, ids) == [OrderStatus.CANCELLED, OrderStatus.PAID]
