"""The distributor area's jobs, driven by the scheduler over a simulated day."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import date, time, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from inventory.relay import relay_once
from inventory.settings import Settings
from scheduling.pickup.slots import SlotRules
from scheduling.scheduler.builtin import register_outbox_relay
from scheduling.scheduler.jobs import registry
from shop.app import create_app
from shop.distributors import accounts, bookings, common, standing
from shop.distributors.jobs import (
    NO_SHOWS,
    STANDING_BOOKINGS,
    WEBHOOKS,
    no_show_hours,
    register_distributor_jobs,
)
from shop.distributors.models import Booking, BookingStatus, Distributor
from shop.distributors.web import register_subscribers
from tests.support.distributors import CLASSIC, make_distributor, setup_products
from tests.support.wiring import SimulatedScheduler, local

DAY = date(2027, 3, 9)  # a Tuesday, no holiday near
RULES = SlotRules()


@pytest.fixture
def scheduler(
    db: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> Iterator[SimulatedScheduler]:
    made = SimulatedScheduler(db, settings, tmp_path, local(DAY, 0, 0))
    register_distributor_jobs(settings, jobs=made.jobs)
    yield made
    made.close()


def test_create_app_registers_the_distributor_jobs(settings: Settings) -> None:
    create_app(settings)
    assert {STANDING_BOOKINGS, NO_SHOWS, WEBHOOKS} <= {spec.name for spec in registry.all()}
    assert registry.get(NO_SHOWS).trigger["hour"] == no_show_hours(settings) == "6-9"


def test_standing_orders_become_bookings_once_on_the_hourly_run_and_never_after_19(
    db: sessionmaker[Session], scheduler: SimulatedScheduler
) -> None:
    week = [DAY + timedelta(days=i) for i in range(9)]
    setup_products(db, week, cases_per_day=20)
    distributor = make_distributor(db, "TJ01")
    with transaction(db) as s:
        standing.save_standing_order(
            s,
            distributor_id=distributor,
            slot_time=time(6, 15),
            weekday_lines={wd: {CLASSIC: 2} for wd in range(7)},
            starts_on=DAY,
        )
    scheduler.run_until(local(DAY, 0, 0))
    with db() as s:
        made = {b.id for b in s.scalars(select(Booking))}
    assert len(made) == 7
    scheduler.run_until(local(DAY, 23, 55))
    runs = scheduler.runs(STANDING_BOOKINGS)
    assert [r.hour for r in runs] == list(range(0, 20))
    with db() as s:
        bookings = s.scalars(select(Booking).order_by(Booking.day)).all()
        assert {b.id for b in bookings} == made
        assert [b.day for b in bookings] == week[1:8]  # tomorrow .. 7 days ahead, once each
        assert all(b.source == "standing" for b in bookings)


def test_a_booking_nobody_collected_is_swept_once_thirty_minutes_after_its_slot(
    db: sessionmaker[Session], scheduler: SimulatedScheduler
) -> None:
    setup_products(db, [DAY], cases_per_day=20)
    distributor = make_distributor(db, "TJ02")
    with transaction(db) as s:
        first_slot = common.day_slots(s, DAY, RULES)[0]  # 06:00-06:15
        bookings.create_booking(
            s,
            RULES,
            distributor_id=distributor,
            day=DAY,
            slot_id=first_slot.id,
            lines={CLASSIC: 3},
            now=local(DAY - timedelta(days=2), 12),
        )
    scheduler.run_until(local(DAY, 6, 40))
    with db() as s:
        assert s.scalars(select(Booking.status)).one() is BookingStatus.CONFIRMED
    scheduler.run_until(local(DAY, 6, 45))
    with db() as s:
        assert s.scalars(select(Booking.status)).one() is BookingStatus.NO_SHOW
    scheduler.run_until(local(DAY, 23, 0))
    with db() as s:
        assert s.get(Distributor, distributor).no_shows == 1  # type: ignore[union-attr]
    runs = scheduler.runs(NO_SHOWS)
    assert runs[0] == local(DAY, 6, 0) and runs[-1] == local(DAY, 9, 55)
    assert len(runs) == 48 and len(set(runs)) == 48


class Receiver:
    """A distributor's endpoint on 127.0.0.1."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.bodies.append(json.loads(body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_booking_reaches_the_distributors_webhook_once_through_relay_and_delivery_jobs(
    db: sessionmaker[Session], settings: Settings, scheduler: SimulatedScheduler
) -> None:
    register_subscribers()
    register_outbox_relay(relay_once, settings, jobs=scheduler.jobs)
    receiver = Receiver()
    try:
        setup_products(db, [DAY + timedelta(days=2)], cases_per_day=20)
        distributor = make_distributor(db, "TJ03")
        with transaction(db) as s:
            accounts.set_webhook(s, distributor, receiver.url)
            slot = common.day_slots(s, DAY + timedelta(days=2), RULES)[0]
            booking = bookings.create_booking(
                s,
                RULES,
                distributor_id=distributor,
                day=DAY + timedelta(days=2),
                slot_id=slot.id,
                lines={CLASSIC: 1},
                now=local(DAY, 0, 0),
            )
            booking_id = booking.id
        scheduler.run_until(local(DAY, 0, 1), step=timedelta(seconds=5))
    finally:
        receiver.close()
    confirmed = [b for b in receiver.bodies if b["type"] == "booking.confirmed"]
    assert len(confirmed) == 1
    assert confirmed[0]["data"]["booking_id"] == booking_id
