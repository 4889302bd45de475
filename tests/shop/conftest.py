"""Fixtures of the manager console tests: two products with supply, a pickup order, a card-paid
delivery order, a distributor booking, and people of every role."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from inventory.catalog import create_product
from inventory.db import transaction, utcnow
from inventory.rules import local_day
from inventory.settings import Settings
from inventory.supply import set_planned_supply
from scheduling.pickup.slots import SlotRules
from scheduling.planning.calendar import set_calendar_entry
from shop.auth import create_user, session_fingerprint
from shop.distributors import accounts, bookings, prices
from shop.distributors.common import day_slots
from shop.models import Role, User
from shop.orders import payment_records, placing, services
from shop.orders.rules import LineRequest
from tests.support.web import csrf_from


@dataclass(frozen=True)
class Desk:
    sessions: sessionmaker[Session]
    day: date
    pickup: str  # public id: pay at pickup, 2 classic, 王芳 13800138000
    delivery: str  # public id: paid by card, delivered, 1 gift, 李雷 13900001111
    booking_id: int
    users: dict[str, int]


def place(
    db: sessionmaker[Session],
    settings: Settings,
    day: date,
    *,
    name: str,
    mobile: str,
    lines: list[tuple[str, int]],
    fulfilment: str = "pickup",
    payment_method: str = "pay_at_pickup",
) -> str:
    with transaction(db) as s:
        order = services.place_order(
            s,
            placing.PlaceOrder(
                day=day,
                lines=[LineRequest(sku, q) for sku, q in lines],
                contact=placing.Contact(name, mobile, "buyer@example.com"),
                fulfilment=fulfilment,
                payment_method=payment_method,
                pickup_point="factory" if fulfilment == "pickup" else "",
                delivery_zone="tianjin" if fulfilment == "delivery" else "",
                delivery_address="天津市武清区杨村 1 号" if fulfilment == "delivery" else "",
            ),
            settings=settings,
            now=utcnow(),
            user_id=None,
        )
        return order.public_id


def paid_online(
    db: sessionmaker[Session], settings: Settings, day: date, *, name: str, mobile: str
) -> str:
    """A delivery order paid by card: placed with Stripe configured, then settled as the
    webhook would settle it (no network: the provider is only called for refunds)."""
    online = settings.with_overrides(stripe_secret_key="sk_test_offline")
    public_id = place(
        db,
        online,
        day,
        name=name,
        mobile=mobile,
        lines=[("GG-GIFT", 1)],
        fulfilment="delivery",
        payment_method="stripe",
    )
    now = utcnow()
    with transaction(db) as s:
        order = services.get_order(s, public_id)
        number = payment_records.start_payment_attempt(s, order, "stripe", now)
        payment_records.record_payment_started(s, order, number, f"pi_{public_id}", "secret")
        outcome = payment_records.apply_payment_succeeded(
            s, f"pi_{public_id}", order.total_fen, now
        )
        assert outcome.outcome == "paid"
    return public_id


@pytest.fixture
def desk(db: sessionmaker[Session], settings: Settings) -> Desk:
    return build_desk(db, settings)


def build_desk(db: sessionmaker[Session], settings: Settings) -> Desk:
    """The world of the console tests, for fixtures here and elsewhere (the browser walk)."""
    day = local_day(utcnow()) + timedelta(days=3)
    with transaction(db) as s:
        create_product(
            s, "GG-CLASSIC", "杨村糕干（经典）", "Yangcun gaogan (classic)", 1250, 250, 2, 7
        )
        create_product(s, "GG-GIFT", "糕干礼盒", "Gaogan gift box", 8800, 1000, 2, 7)
        prices.set_case_pack(s, "GG-CLASSIC", 10)
        set_planned_supply(
            s,
            "test-plan",
            {
                (sku, local_day(utcnow()) + timedelta(days=n)): 200
                for n in range(0, 8)
                for sku in ("GG-CLASSIC", "GG-GIFT")
            },
        )
        for n in range(0, 8):
            set_calendar_entry(s, local_day(utcnow()) + timedelta(days=n), production=True)
        services.ensure_locations(s)
        company = accounts.create_distributor(
            s, code="TJ01", company="TJ01 副食商行", region="天津"
        )
        prices.set_price(s, company.id, "GG-CLASSIC", 9600)
        users = {
            role.value: create_user(
                s,
                email=f"{role.value}@example.com",
                name=f"{role.value} 用户",
                password="long-enough-pw",
                role=role,
                distributor_id=company.id if role is Role.DISTRIBUTOR else None,
            ).id
            for role in Role
        }
        slot = day_slots(s, day, SlotRules())[0].id
        booking = bookings.create_booking(
            s,
            SlotRules(),
            distributor_id=company.id,
            day=day,
            slot_id=slot,
            lines={"GG-CLASSIC": 2},
            now=utcnow(),
        )
        booking_id = booking.id
    pickup = place(db, settings, day, name="王芳", mobile="13800138000", lines=[("GG-CLASSIC", 2)])
    delivery = paid_online(db, settings, day, name="李雷", mobile="13900001111")
    return Desk(db, day, pickup, delivery, booking_id, users)


@pytest.fixture
def desk_app(app: Flask, desk: Desk) -> Flask:
    return app


@pytest.fixture
def client_as(desk_app: Flask, desk: Desk) -> Callable[[str], FlaskClient]:
    """A test client signed in as the given role ('manager', 'staff', 'customer', ...)."""

    def make(role: str) -> FlaskClient:
        client = desk_app.test_client()
        with desk.sessions() as s:
            user = s.get_one(User, desk.users[role])
            fingerprint = session_fingerprint(user)
        with client.session_transaction() as sess:
            sess["uid"] = user.id
            sess["ufp"] = fingerprint
        # JSON calls on a signed-in session carry the CSRF token, as the pages' scripts do.
        token = csrf_from(client.get("/").get_data(as_text=True))
        client.environ_base["HTTP_X_CSRF_TOKEN"] = token
        return client

    return make
