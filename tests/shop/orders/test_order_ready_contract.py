"""One contract for `order.ready` and `order.unserved`, end to end: the morning batch publishes
them (scheduling.production.batches), the relay hands them to the storefront (orders become ready or are
cancelled, refunded and mailed) and to the distributor area (bookings ready or cancelled,
webhooks written), each exactly once however often the relay runs."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import stripe
from click.testing import CliRunner
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from inventory.catalog import create_product, create_raw_material
from inventory.db import transaction
from inventory.events import Event, registry
from inventory.materials import receive_material
from inventory.models import ItemKind, OutboxEvent, OutboxStatus
from inventory.relay import relay_once
from inventory.settings import Settings
from inventory.supply import set_planned_supply
from scheduling.pickup.slots import SlotRules
from scheduling.production.batches import complete_batch, create_batch, start_batch
from scheduling.scheduler import jobs
from shop.app import create_app
from shop.cli import cli
from shop.distributors import accounts, bookings, common, prices
from shop.distributors.models import Booking, BookingStatus, WebhookDelivery
from shop.distributors.webhooks import payload_of
from shop.orders import flows, payment_records, placing, services
from shop.orders.models import Order, OrderStatus, PaymentAttempt, PaymentAttemptStatus
from shop.orders.notifications import mails_in
from shop.orders.rules import LineRequest
from shop.orders.web import ISSUE_REFUNDS_JOB
from shop.runtime import get_runtime
from tests.shop.orders.test_store_stripe import localstripe, stripe_settings

__all__ = ["localstripe"]  # the fixture, shared with the storefront's Stripe tests

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2027, 1, 20)  # an ordinary Wednesday, weeks before the Spring Festival
ORDER_TIME = datetime(2027, 1, 19, 4, 0, tzinfo=UTC)  # noon in Tianjin the day before
CLASSIC = "GG-CLASSIC"
OSMANTHUS = "GG-OSMANTHUS"
CASE = 10


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=SHANGHAI)


@dataclass
class Floor:
    app: Flask
    settings: Settings
    sessions: sessionmaker[Session]
    distributor_id: int

    @property
    def mail_dir(self) -> Path:
        return Path(self.settings.mail_dir)

    def order(self, quantity: int, *, payment: str = "pay_at_pickup") -> str:
        with transaction(self.sessions) as s:
            return services.place_order(
                s,
                placing.PlaceOrder(
                    day=DAY,
                    lines=[LineRequest(CLASSIC, quantity)],
                    contact=placing.Contact("王芳", "13800138000", "wang@example.com"),
                    fulfilment="pickup",
                    payment_method=payment,
                    pickup_point="factory",
                ),
                settings=self.settings,
                now=ORDER_TIME,
            ).public_id

    def pay(self, public_id: str, provider_ref: str) -> None:
        """The provider's word that the money arrived (what the signed webhook applies)."""
        with transaction(self.sessions) as s:
            order = services.get_order(s, public_id)
            outcome = payment_records.apply_payment_succeeded(
                s, provider_ref, order.total_fen, ORDER_TIME
            )
        assert outcome.outcome == "paid"

    def paid_order(self, quantity: int) -> str:
        """An order paid online, settled without the network (the provider ref is ours)."""
        public_id = self.order(quantity, payment="stripe")
        with transaction(self.sessions) as s:
            order = services.get_order(s, public_id)
            number = payment_records.start_payment_attempt(s, order, "stripe", ORDER_TIME)
            payment_records.record_payment_started(s, order, number, f"pi_{public_id}", "secret")
        self.pay(public_id, f"pi_{public_id}")
        return public_id

    def booking(self, cases: int) -> int:
        with transaction(self.sessions) as s:
            slot = common.day_slots(s, DAY, SlotRules())[0]
            return bookings.create_booking(
                s,
                SlotRules(),
                distributor_id=self.distributor_id,
                day=DAY,
                slot_id=slot.id,
                lines={OSMANTHUS: cases},
                now=local(DAY - timedelta(days=2), 12),
            ).id

    def bake(self, made: dict[str, int]) -> None:
        with transaction(self.sessions) as s:
            batch = create_batch(
                s,
                DAY,
                {CLASSIC: 100, OSMANTHUS: 100},
                planned_start=local(DAY, 4),
                planned_end=local(DAY, 6),
                rice_sku="RICE",
                rice_g=60_000,
                sugar_sku="SUGAR",
                sugar_g=8_000,
            )
            ref = batch.ref
        with transaction(self.sessions) as s:
            start_batch(s, ref, now=local(DAY, 4))
        with transaction(self.sessions) as s:
            complete_batch(s, ref, made, made_at=local(DAY, 6), completed_by="manager")

    def relay(self) -> None:
        """Run the relay until nothing is left to do (as the scheduler process does)."""
        for _ in range(20):
            stats = relay_once(self.sessions, self.settings)
            if stats.claimed == 0:
                return
        raise AssertionError("the relay kept finding work")

    def redeliver(self, event_type: str) -> None:
        """Hand every event of this type to every subscriber again, past the inbox: what a
        consumer sees when an effect and its inbox record are lost (at least once)."""
        with self.sessions() as s:
            rows = s.scalars(select(OutboxEvent).where(OutboxEvent.type == event_type)).all()
            events = [Event.from_row(row) for row in rows]
        for event in events:
            for subscriber in registry.subscribers(event_type):
                with transaction(self.sessions) as s:
                    subscriber.handler(s, event)

    def status(self, public_id: str) -> OrderStatus:
        with self.sessions() as s:
            return services.get_order(s, public_id).status

    def mails(self, public_id: str, word: str) -> list[dict[str, object]]:
        return [
            m
            for m in mails_in(self.mail_dir)
            if public_id in str(m["subject"]) and word in str(m["subject"])
        ]

    def deliveries(self, event_type: str) -> list[WebhookDelivery]:
        with self.sessions() as s:
            return list(
                s.scalars(
                    select(WebhookDelivery)
                    .where(WebhookDelivery.event_type == event_type)
                    .order_by(WebhookDelivery.id)
                )
            )

    def booking_row(self, booking_id: int) -> Booking:
        with self.sessions() as s:
            return s.get_one(Booking, booking_id)

    def dead_events(self) -> list[str]:
        with self.sessions() as s:
            return [
                f"{row.type}: {row.last_error}"
                for row in s.scalars(
                    select(OutboxEvent).where(OutboxEvent.status == OutboxStatus.DEAD)
                )
            ]

    def count(self, event_type: str) -> int:
        with self.sessions() as s:
            return int(
                s.scalar(
                    select(func.count())
                    .select_from(OutboxEvent)
                    .where(OutboxEvent.type == event_type)
                )
                or 0
            )


def build_floor(settings: Settings, db: sessionmaker[Session]) -> Floor:
    with transaction(db) as s:
        create_product(s, CLASSIC, "杨村糕干", "Yangcun gaogan", 1250, 250, 1, 7)
        create_product(s, OSMANTHUS, "桂花糕干", "Osmanthus gaogan", 1680, 250, 1, 7)
        prices.set_case_pack(s, CLASSIC, CASE)
        prices.set_case_pack(s, OSMANTHUS, CASE)
        create_raw_material(s, "RICE", ItemKind.RICE, "新米", "New rice")
        create_raw_material(s, "SUGAR", ItemKind.SUGAR, "绵白糖", "Soft white sugar")
        receive_material(
            s,
            "RICE",
            80_000,
            lot_code="R2026-A",
            received_at=datetime(2026, 11, 3, tzinfo=UTC),
            crop_year=2026,
        )
        receive_material(
            s,
            "SUGAR",
            20_000,
            lot_code="S-01",
            received_at=datetime(2026, 12, 1, tzinfo=UTC),
            best_before=date(2027, 12, 1),
        )
        set_planned_supply(s, "plan-test", {(CLASSIC, DAY): 100, (OSMANTHUS, DAY): 100})
        services.ensure_locations(s)
        distributor = accounts.create_distributor(
            s, code="TJ01", company="TJ01 副食商行", webhook_url="http://127.0.0.1:9/hooks"
        )
        prices.set_price(s, distributor.id, OSMANTHUS, 12000)
        distributor_id = distributor.id
    app = create_app(settings)
    app.config["TESTING"] = True
    return Floor(app, settings, db, distributor_id)


@pytest.fixture
def floor(settings: Settings, db: sessionmaker[Session]) -> Iterator[Floor]:
    # Online payment configured (never called by these tests unless they bring localstripe).
    yield build_floor(stripe_settings(settings), db)


def test_a_batch_makes_a_paid_order_and_a_booking_ready_once_however_often_the_relay_runs(
    floor: Floor,
) -> None:
    paid = floor.paid_order(40)
    at_pickup = floor.order(30)
    booking_id = floor.booking(5)
    floor.relay()
    floor.bake({CLASSIC: 100, OSMANTHUS: 100})
    floor.relay()

    assert floor.status(paid) is OrderStatus.READY
    assert floor.status(at_pickup) is OrderStatus.READY
    assert len(floor.mails(paid, "已备好")) == 1
    assert len(floor.mails(at_pickup, "已备好")) == 1
    assert floor.booking_row(booking_id).ready_at is not None
    ready_hooks = floor.deliveries("order.ready")
    assert [(d.key, d.distributor_id) for d in ready_hooks] == [
        (f"booking:{booking_id}", floor.distributor_id)
    ]
    data = payload_of(ready_hooks[0].body.encode())["data"]
    assert data["booking_id"] == booking_id and data["lots"] and data["source"] == "batch"
    # One publisher of order.ready: the batch, once per order and booking.
    assert floor.count("order.ready") == 3

    floor.relay()
    floor.redeliver("order.ready")
    assert len(floor.mails(paid, "已备好")) == 1
    assert len(floor.mails(at_pickup, "已备好")) == 1
    assert len(floor.deliveries("order.ready")) == 1
    assert floor.count("order.ready") == 3
    assert floor.dead_events() == []


def test_an_order_staff_marked_ready_before_the_batch_is_mailed_once_in_the_same_shape(
    floor: Floor,
) -> None:
    public_id = floor.order(20)
    with transaction(floor.sessions) as s:
        services.advance_order(
            s, services.get_order(s, public_id), OrderStatus.READY, local(DAY, 5)
        )
    floor.relay()
    assert len(floor.mails(public_id, "已备好")) == 1
    floor.bake({CLASSIC: 100, OSMANTHUS: 100})
    floor.relay()
    with floor.sessions() as s:
        shapes = [
            sorted(p)
            for p in s.scalars(select(OutboxEvent.payload).where(OutboxEvent.type == "order.ready"))
        ]
    assert shapes == [["batch_ref", "lots", "production_day", "ref", "source"]] * 2
    assert floor.status(public_id) is OrderStatus.READY
    assert len(floor.mails(public_id, "已备好")) == 1
    assert floor.dead_events() == []


def test_a_ten_percent_shortfall_cancels_the_last_order_and_the_late_booking_and_tells_them_once(
    floor: Floor,
) -> None:
    first = floor.paid_order(50)
    last = floor.order(50)  # pay at pickup: nothing to refund
    booking_id = floor.booking(10)
    floor.relay()
    floor.bake({CLASSIC: 90, OSMANTHUS: 90})
    floor.relay()

    assert floor.status(first) is OrderStatus.READY
    assert floor.status(last) is OrderStatus.CANCELLED
    with floor.sessions() as s:
        assert services.get_order(s, last).cancel_reason == "production_shortfall"
        assert payment_records.refunds_due(s) == []
    cancelled_mails = floor.mails(last, "已取消")
    assert len(cancelled_mails) == 1
    assert "出得比计划少" in str(cancelled_mails[0]["body"])
    assert floor.mails(last, "已备好") == []
    with floor.sessions() as s:
        token = services.get_order(s, last).access_token
    page = floor.app.test_client().get(f"/track/{last}/{token}").get_data(as_text=True)
    assert 'data-status="cancelled"' in page and 'id="cancel-reason"' in page

    booking = floor.booking_row(booking_id)
    assert booking.status is BookingStatus.CANCELLED and booking.ready_at is None
    hooks = floor.deliveries("booking.cancelled")
    assert len(hooks) == 1
    told = payload_of(hooks[0].body.encode())["data"]
    assert told["reason"] == "production_shortfall"
    assert told["short"] == [{"sku": OSMANTHUS, "quantity": 100}]
    assert floor.deliveries("order.ready") == []

    floor.relay()
    floor.redeliver("order.unserved")
    floor.redeliver("order.cancelled")
    assert len(floor.mails(last, "已取消")) == 1
    assert len(floor.deliveries("booking.cancelled")) == 1
    assert floor.count("order.cancelled") == 1
    assert floor.count("booking.cancelled") == 1
    assert floor.dead_events() == []


@pytest.mark.slow
def test_a_stripe_paid_order_left_unserved_is_refunded_once_after_the_relay_commits(
    settings: Settings, db: sessionmaker[Session], localstripe: str
) -> None:
    floor = build_floor(stripe_settings(settings, localstripe), db)
    runtime = get_runtime(floor.app)
    first = floor.order(50)
    last = floor.order(50, payment="stripe")
    secret = flows.start_payment(runtime, last, now=ORDER_TIME)
    intent_id = secret.split("_secret_")[0]
    client = stripe.StripeClient("sk_test_gaogan", base_addresses={"api": localstripe})
    client.v1.payment_intents.update(intent_id, params={"payment_method": "pm_card_visa"})
    assert client.v1.payment_intents.confirm(intent_id).status == "succeeded"
    floor.pay(last, intent_id)
    floor.relay()

    floor.bake({CLASSIC: 90, OSMANTHUS: 100})
    floor.relay()
    assert floor.status(first) is OrderStatus.READY
    # Cancelled in the relay's transaction; the money is a refund due, not yet sent.
    assert floor.status(last) is OrderStatus.CANCELLED
    with floor.sessions() as s:
        assert [r.public_id for r in payment_records.refunds_due(s)] == [last]
    assert client.v1.refunds.list(params={"payment_intent": intent_id}).data == []

    # What the orders.issue_refunds job runs (here through `gaogan orders refunds`), twice.
    assert ISSUE_REFUNDS_JOB in jobs.registry
    environment = {
        "GAOGAN_INSTANCE": str(settings.instance_path),
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
        "STRIPE_SECRET_KEY": "sk_test_gaogan",
        "STRIPE_API_BASE": localstripe,
    }
    ran = CliRunner().invoke(cli, ["orders", "refunds"], env=environment)
    assert ran.exit_code == 0, ran.output
    assert f"refunded 1 order(s): \n  {last}" in ran.output
    assert flows.issue_due_refunds(runtime.sessions, runtime.settings) == []
    refunds = client.v1.refunds.list(params={"payment_intent": intent_id}).data
    assert [r.amount for r in refunds] == [50 * 1250]
    assert floor.status(last) is OrderStatus.REFUNDED
    with floor.sessions() as s:
        attempt = s.scalars(select(PaymentAttempt).join(Order).where(Order.public_id == last)).one()
        assert attempt.status is PaymentAttemptStatus.REFUNDED
        assert attempt.refund_ref == refunds[0].id

    floor.relay()
    floor.redeliver("order.unserved")
    assert flows.issue_due_refunds(runtime.sessions, runtime.settings) == []
    assert len(client.v1.refunds.list(params={"payment_intent": intent_id}).data) == 1
    assert len(floor.mails(last, "已取消")) == 1
    assert floor.count("order.refunded") == 1
    assert floor.dead_events() == []
