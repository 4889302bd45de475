"""Issue 10 item 14, "Shortfall": a batch 10 % short on one product. A buyer who accepts part
delivery gets the lines made in full and the short line cut to what was made (the ordered
quantity stays on the line), is re-priced, refunded the difference through the payment
provider once, and told by the channel they have; a buyer who does not is cancelled whole, as
before, and told too. End to end: the batch, the relay, the storefront and distributor
consumers, mails, text messages, webhook rows and refunds."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import stripe
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from inventory.models import Claim, ClaimStatus, Reservation
from inventory.settings import Settings
from scheduling.pickup.slots import SlotRules
from shop.auth import create_user, session_fingerprint
from shop.distributors import accounts, bookings, common, prices
from shop.distributors.models import Booking, BookingStatus, Distributor, DistributorContact
from shop.distributors.webhooks import payload_of
from shop.models import Role, User
from shop.orders import flows, part_delivery, placing, services
from shop.orders.desk_models import DeskRefund, RefundStatus
from shop.orders.models import OrderStatus
from shop.orders.rules import LineRequest
from shop.orders.sms import messages_in
from shop.runtime import get_runtime
from tests.shop.orders.test_order_ready_contract import (
    CLASSIC,
    DAY,
    ORDER_TIME,
    OSMANTHUS,
    Floor,
    build_floor,
    local,
)
from tests.shop.orders.test_store_stripe import localstripe, stripe_settings
from tests.support.web import csrf_from

__all__ = ["localstripe"]

CLASSIC_CASE_FEN = 9600
OSMANTHUS_CASE_FEN = 12000


@pytest.fixture
def floor(settings: Settings, db: sessionmaker[Session]) -> Floor:
    made = build_floor(stripe_settings(settings), db)
    with transaction(db) as s:
        distributor = s.get_one(Distributor, made.distributor_id)
        distributor.contacts.append(
            DistributorContact(name="刘经理", email="liu@tj01.example", role="采购")
        )
        prices.set_price(s, distributor.id, CLASSIC, CLASSIC_CASE_FEN)
    return made


def two_line_booking(floor: Floor, *, classic: int = 5, osmanthus: int = 10) -> int:
    with transaction(floor.sessions) as s:
        slot = common.day_slots(s, DAY, SlotRules())[0]
        return bookings.create_booking(
            s,
            SlotRules(),
            distributor_id=floor.distributor_id,
            day=DAY,
            slot_id=slot.id,
            lines={CLASSIC: classic, OSMANTHUS: osmanthus},
            now=local(DAY - timedelta(days=2), 12),
        ).id


def accept_part(floor: Floor, accept: bool = True) -> None:
    with transaction(floor.sessions) as s:
        accounts.set_part_delivery(s, floor.distributor_id, accept, by="test")


def distributor_mails(floor: Floor, booking_id: int) -> list[dict[str, object]]:
    from shop.orders.notifications import mails_in

    return [m for m in mails_in(floor.mail_dir) if f"#{booking_id}" in str(m["subject"])]


def held(floor: Floor, ref: str) -> dict[str, int]:
    """Pieces per item id the reservation still holds (its live claims)."""
    with floor.sessions() as s:
        rows = s.execute(
            select(Claim.item_id, Claim.quantity)
            .join(Reservation, Reservation.id == Claim.reservation_id)
            .where(Reservation.ref == ref, Claim.status == ClaimStatus.ACTIVE)
        ).all()
    out: dict[str, int] = {}
    for item_id, quantity in rows:
        out[str(item_id)] = out.get(str(item_id), 0) + quantity
    return out


def test_a_booking_that_accepts_part_keeps_the_full_line_is_cut_on_the_short_one_and_told(
    floor: Floor,
) -> None:
    accept_part(floor)
    booking_id = two_line_booking(floor)
    floor.relay()
    floor.bake({CLASSIC: 100, OSMANTHUS: 90})  # 10 % short on one product
    floor.relay()

    booking = floor.booking_row(booking_id)
    assert booking.status is BookingStatus.CONFIRMED and booking.ready_at is not None
    lines = {ln.sku: ln for ln in booking.lines}
    assert (lines[CLASSIC].cases, lines[CLASSIC].ordered_cases) == (5, None)
    assert (lines[OSMANTHUS].cases, lines[OSMANTHUS].pieces) == (9, 90)
    assert lines[OSMANTHUS].ordered_cases == 10  # the booked quantity stays visible
    assert sorted(held(floor, f"booking:{booking_id}").values()) == [50, 90]

    hooks = floor.deliveries("booking.reduced")
    assert len(hooks) == 1
    data = payload_of(hooks[0].body.encode())["data"]
    assert data["reason"] == "production_shortfall"
    assert data["was_total_fen"] == 5 * CLASSIC_CASE_FEN + 10 * OSMANTHUS_CASE_FEN
    assert data["total_fen"] == 5 * CLASSIC_CASE_FEN + 9 * OSMANTHUS_CASE_FEN
    assert data["part"] == [{"sku": OSMANTHUS, "ordered_cases": 10, "cases": 9, "pieces": 90}]
    assert data["short"] == [{"sku": OSMANTHUS, "quantity": 10}]
    assert len(floor.deliveries("order.ready")) == 1  # and it is ready, as served
    assert floor.deliveries("booking.cancelled") == []

    mails = distributor_mails(floor, booking_id)
    assert len(mails) == 1
    assert "liu@tj01.example" in str(mails[0]["to"]) and "部分交付" in str(mails[0]["subject"])
    body = str(mails[0]["body"])
    assert "部分交付：已供应 9 / 订购 10 箱" in body and "5 箱，全部供应" in body
    assert "9 served / 10 cases booked" in body  # the English follows
    assert "¥1,680.00" in body and "¥1,560.00" in body

    # At least once: the same events again change nothing and tell nobody twice.
    floor.redeliver("order.part_served")
    floor.redeliver("booking.reduced")
    assert floor.booking_row(booking_id).lines[1].cases == 9
    assert len(floor.deliveries("booking.reduced")) == 1
    assert len(distributor_mails(floor, booking_id)) == 1
    assert floor.count("booking.reduced") == 1
    assert floor.dead_events() == []

    # The distributor's pages and the manager's show both numbers.
    with floor.sessions() as s:
        user = create_user(
            s,
            email="portal@tj01.example",
            name="刘经理",
            password="long-enough-pw",
            role=Role.DISTRIBUTOR,
            distributor_id=floor.distributor_id,
        )
        s.commit()
        portal = signed_in(floor, s.get_one(User, user.id))
    week = portal.get(f"/distributor/?week={DAY.isoformat()}").get_data(as_text=True)
    assert "部分交付：已供应 9 / 订购 10 箱" in week
    sheet = portal.get(f"/distributor/bookings/{booking_id}/sheet").get_data(as_text=True)
    assert "部分交付：已供应 9 / 订购 10 箱" in sheet
    api = portal.get(f"/api/v1/distributor/bookings/{booking_id}").get_json()
    assert {ln["sku"]: ln["ordered_cases"] for ln in api["lines"]} == {CLASSIC: None, OSMANTHUS: 10}
    assert api["total_fen"] == 5 * CLASSIC_CASE_FEN + 9 * OSMANTHUS_CASE_FEN


def test_a_booking_that_does_not_accept_part_is_cancelled_whole_as_before_and_still_told(
    floor: Floor,
) -> None:
    booking_id = two_line_booking(floor)
    floor.relay()
    floor.bake({CLASSIC: 100, OSMANTHUS: 90})
    floor.relay()

    booking = floor.booking_row(booking_id)
    assert booking.status is BookingStatus.CANCELLED
    assert all(ln.ordered_cases is None for ln in booking.lines)
    assert held(floor, f"booking:{booking_id}") == {}
    hooks = floor.deliveries("booking.cancelled")
    assert len(hooks) == 1 and floor.deliveries("booking.reduced") == []
    assert payload_of(hooks[0].body.encode())["data"]["reason"] == "production_shortfall"
    mails = distributor_mails(floor, booking_id)
    assert len(mails) == 1 and "已取消" in str(mails[0]["subject"])
    assert "桂花糕干" in str(mails[0]["body"]) and "Osmanthus gaogan" in str(mails[0]["body"])
    assert floor.dead_events() == []


def test_a_whole_only_order_ahead_is_served_and_a_part_taking_order_gets_what_is_left_by_sms(
    floor: Floor,
) -> None:
    first = floor.order(50)  # whole orders only (the default), placed first
    with transaction(floor.sessions) as s:
        second = services.place_order(
            s,
            placing.PlaceOrder(
                day=DAY,
                lines=[LineRequest(OSMANTHUS, 5), LineRequest(CLASSIC, 50)],
                contact=placing.Contact("李雷", "13900001111", "li@example.com"),
                fulfilment="pickup",
                payment_method="pay_at_pickup",
                pickup_point="factory",
                notify_channel="sms",
                accept_part_delivery=True,
            ),
            settings=floor.settings,
            now=ORDER_TIME + timedelta(minutes=1),
        ).public_id
    floor.relay()
    floor.bake({CLASSIC: 90, OSMANTHUS: 100})
    floor.relay()

    assert floor.status(first) is OrderStatus.READY
    with floor.sessions() as s:
        order = services.get_order(s, second)
        assert order.status is OrderStatus.READY
        lines = {
            ln.sku: (ln.quantity, ln.ordered_quantity, ln.line_total_fen) for ln in order.lines
        }
        assert lines == {OSMANTHUS: (5, None, 5 * 1680), CLASSIC: (40, 50, 40 * 1250)}
        assert order.total_fen == order.subtotal_fen == 5 * 1680 + 40 * 1250
        assert s.scalars(select(DeskRefund)).all() == []  # pay at pickup: nothing to send back
        token = order.access_token
    texts = [m for m in messages_in(Path(floor.settings.sms_dir)) if second in m["text"]]
    reduced = [m for m in texts if "部分交付" in m["text"]]
    assert len(reduced) == 1 and "杨村糕干 40/50" in reduced[0]["text"]
    assert "¥584.00" in reduced[0]["text"]  # what to pay at pickup now
    page = floor.app.test_client().get(f"/track/{second}/{token}").get_data(as_text=True)
    assert "部分交付：已供应 40 / 订购 50" in page and 'id="part-delivery"' in page
    floor.redeliver("order.part_served")
    with floor.sessions() as s:
        assert services.get_order(s, second).lines[1].quantity == 40
    assert floor.count("order.reduced") == 1
    assert floor.dead_events() == []


def test_the_choice_an_order_was_placed_with_holds_whatever_the_account_says_later(
    floor: Floor,
) -> None:
    with transaction(floor.sessions) as s:
        user = create_user(
            s,
            email="wang@example.com",
            name="王芳",
            password="long-enough-pw",
            role=Role.CUSTOMER,
        )
        user_id = user.id
    customer = signed_in(floor, user_id=user_id)
    page = customer.get("/account").get_data(as_text=True)
    assert 'name="accept_part_delivery"' in page and "接受部分交付" in page
    saved = customer.post(
        "/account/settings",
        data={"accept_part_delivery": "1", "csrf_token": csrf_from(page)},
    )
    assert saved.status_code == 302
    # The order keeps the answer it was placed with (the checkout copies the account's).
    with floor.sessions() as s:
        assert s.get_one(User, user_id).accept_part_delivery is True
    with transaction(floor.sessions) as s:
        public_id = services.place_order(
            s,
            placing.PlaceOrder(
                day=DAY,
                lines=[LineRequest(CLASSIC, 50)],
                contact=placing.Contact("王芳", "13800138000", "wang@example.com"),
                fulfilment="pickup",
                payment_method="pay_at_pickup",
                pickup_point="factory",
                accept_part_delivery=True,
            ),
            settings=floor.settings,
            now=ORDER_TIME,
            user_id=user_id,
        ).public_id
    page = customer.get("/account").get_data(as_text=True)
    customer.post("/account/settings", data={"csrf_token": csrf_from(page)})  # unchecked
    with floor.sessions() as s:
        assert s.get_one(User, user_id).accept_part_delivery is False
        assert services.get_order(s, public_id).accept_part_delivery is True
    floor.relay()
    floor.bake({CLASSIC: 45, OSMANTHUS: 100})
    floor.relay()
    with floor.sessions() as s:
        order = services.get_order(s, public_id)
        assert order.status is OrderStatus.READY
        assert (order.lines[0].quantity, order.lines[0].ordered_quantity) == (45, 50)
    assert len(floor.mails(public_id, "部分交付")) == 1


def test_the_checkout_page_offers_the_choice_checked_from_the_account(floor: Floor) -> None:
    with transaction(floor.sessions) as s:
        user = create_user(
            s,
            email="zhao@example.com",
            name="赵敏",
            password="long-enough-pw",
            role=Role.CUSTOMER,
        )
        part_delivery.set_account_part_delivery(s, user.id, True)
        user_id = user.id
    customer = signed_in(floor, user_id=user_id)
    token = csrf_from(customer.get("/").get_data(as_text=True))
    with customer.session_transaction() as sess:
        sess["cart"] = {"day": DAY.isoformat(), "lines": {CLASSIC: 3}}
    form = customer.get("/checkout").get_data(as_text=True)
    assert 'name="accept_part_delivery" value="1" checked' in form
    placed = customer.post(
        "/checkout",
        data={
            "csrf_token": token,
            "name": "赵敏",
            "mobile": "13700001111",
            "email": "zhao@example.com",
            "fulfilment": "pickup",
            "pickup_point": "factory",
            "payment_method": "pay_at_pickup",
            "notify_channel": "mail",
            "accept_part_delivery": "1",
        },
    )
    assert placed.status_code == 302, placed.get_data(as_text=True)[:500]
    with floor.sessions() as s:
        orders = services.orders_of_user(s, user_id)
        assert [o.accept_part_delivery for o in orders] == [True]


@pytest.mark.slow
def test_a_card_paid_order_that_accepts_part_is_refunded_the_difference_once_through_stripe(
    settings: Settings, db: sessionmaker[Session], localstripe: str
) -> None:
    floor = build_floor(stripe_settings(settings, localstripe), db)
    runtime = get_runtime(floor.app)
    first = floor.order(50)
    with transaction(floor.sessions) as s:
        paid = services.place_order(
            s,
            placing.PlaceOrder(
                day=DAY,
                lines=[LineRequest(CLASSIC, 20), LineRequest(OSMANTHUS, 50)],
                contact=placing.Contact("李雷", "13900001111", "li@example.com"),
                fulfilment="pickup",
                payment_method="stripe",
                pickup_point="factory",
                accept_part_delivery=True,
            ),
            settings=floor.settings,
            now=ORDER_TIME + timedelta(minutes=1),
        ).public_id
    secret = flows.start_payment(runtime, paid, now=ORDER_TIME)
    intent_id = secret.split("_secret_")[0]
    client = stripe.StripeClient("sk_test_gaogan", base_addresses={"api": localstripe})
    client.v1.payment_intents.update(intent_id, params={"payment_method": "pm_card_visa"})
    assert client.v1.payment_intents.confirm(intent_id).status == "succeeded"
    floor.pay(paid, intent_id)
    with floor.sessions() as s:
        # The first order takes CLASSIC 50 whole; the second's CLASSIC line is made in full.
        assert services.get_order(s, first).lines[0].sku == CLASSIC
    floor.relay()

    floor.bake({CLASSIC: 100, OSMANTHUS: 40})  # the paid order's OSMANTHUS line is 10 short
    floor.relay()
    paid_total = 20 * 1250 + 50 * 1680
    with floor.sessions() as s:
        order = services.get_order(s, paid)
        assert order.status is OrderStatus.READY
        lines = {ln.sku: (ln.quantity, ln.ordered_quantity) for ln in order.lines}
        assert lines == {CLASSIC: (20, None), OSMANTHUS: (40, 50)}
        assert order.total_fen == paid_total - 10 * 1680
        refund = s.scalars(select(DeskRefund)).one()
        assert (refund.amount_fen, refund.status, refund.requested_by) == (
            10 * 1680,
            RefundStatus.DUE,
            None,
        )
    # Recorded in the relay's transaction; sent by the orders.issue_refunds job, after commit.
    assert client.v1.refunds.list(params={"payment_intent": intent_id}).data == []
    assert flows.issue_due_refunds(runtime.sessions, runtime.settings) == [paid]
    assert flows.issue_due_refunds(runtime.sessions, runtime.settings) == []
    floor.redeliver("order.part_served")
    assert flows.issue_due_refunds(runtime.sessions, runtime.settings) == []
    refunds = client.v1.refunds.list(params={"payment_intent": intent_id}).data
    assert [r.amount for r in refunds] == [10 * 1680]
    with floor.sessions() as s:
        order = services.get_order(s, paid)
        assert order.status is OrderStatus.READY  # a part refund does not end the order
        refund = s.scalars(select(DeskRefund)).one()
        assert refund.status is RefundStatus.ISSUED and refund.refund_ref == refunds[0].id
        token = order.access_token
    mails = floor.mails(paid, "部分交付")
    assert len(mails) == 1
    body = str(mails[0]["body"])
    assert "部分交付：已供应 40 / 订购 50" in body and "20 块，全部供应" in body
    assert "¥168.00" in body  # the difference, going back
    ready = floor.mails(paid, "已备好")  # may go out first: it already says what is in the bag
    assert len(ready) == 1 and "部分交付：已供应 40 / 订购 50" in str(ready[0]["body"])
    page = floor.app.test_client().get(f"/track/{paid}/{token}").get_data(as_text=True)
    assert "部分交付：已供应 40 / 订购 50" in page and "¥168.00" in page
    assert floor.dead_events() == []


def signed_in(floor: Floor, user: User | None = None, *, user_id: int | None = None) -> FlaskClient:
    client = floor.app.test_client()
    with floor.sessions() as s:
        person = user or s.get_one(User, user_id)
        person = s.merge(person)
        fingerprint, uid = session_fingerprint(person), person.id
    with client.session_transaction() as sess:
        sess["uid"] = uid
        sess["ufp"] = fingerprint
    return client


def test_booking_rows_left_with_nothing_of_a_line_keep_a_zero_line_and_what_was_booked(
    floor: Floor,
) -> None:
    accept_part(floor)
    booking_id = two_line_booking(floor, classic=5, osmanthus=1)
    floor.relay()
    floor.bake({CLASSIC: 100, OSMANTHUS: 9})  # not one whole case of OSMANTHUS
    floor.relay()
    booking = floor.booking_row(booking_id)
    lines = {ln.sku: (ln.cases, ln.pieces, ln.ordered_cases) for ln in booking.lines}
    assert booking.status is BookingStatus.CONFIRMED
    assert lines == {CLASSIC: (5, 50, None), OSMANTHUS: (0, 0, 1)}
    mails = distributor_mails(floor, booking_id)
    assert len(mails) == 1 and "此项已取消" in str(mails[0]["body"])
    with floor.sessions() as s:
        assert s.get_one(Booking, booking_id).version == 2
