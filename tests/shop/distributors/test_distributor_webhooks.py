"""Outgoing webhooks: signed, retried, delivered once to a receiver, in order per booking."""

from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction, utcnow
from inventory.events import Event, publish
from inventory.settings import Settings
from shop.distributors import accounts as services
from shop.distributors.models import DeliveryStatus, WebhookDelivery
from shop.distributors.webhooks import (
    EVENT_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    deliver_webhooks,
    on_booking_event,
    sign,
    verify,
)


class Receiver:
    """A distributor's endpoint on 127.0.0.1 that fails the first `failures` requests."""

    def __init__(self, secret: str, failures: int) -> None:
        self.secret = secret
        self.failures = failures
        self.calls = 0
        self.log: list[dict[str, Any]] = []
        self.seen: set[str] = set()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.calls += 1
                if receiver.calls <= receiver.failures:
                    self.send_response(500)
                    self.end_headers()
                    return
                valid = verify(
                    receiver.secret,
                    self.headers[TIMESTAMP_HEADER],
                    body,
                    self.headers[SIGNATURE_HEADER],
                    now=float(self.headers[TIMESTAMP_HEADER]),
                )
                event_id = self.headers[EVENT_ID_HEADER]
                if event_id not in receiver.seen:  # a receiver drops repeats by event id
                    receiver.seen.add(event_id)
                    receiver.log.append({"valid": valid, "body": json.loads(body)})
                self.send_response(204 if valid else 401)
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Receiver:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def distributor_id(db: sessionmaker[Session]) -> int:
    with transaction(db) as s:
        return services.create_distributor(s, code="TJ01", company="红桥副食店", region="天津").id


def _emit(db: sessionmaker[Session], distributor_id: int, event_type: str, booking_id: int) -> str:
    """Publish an event and hand it to the subscriber exactly as the relay does."""
    with transaction(db) as s:
        row = publish(
            s,
            event_type,
            {"booking_id": booking_id, "distributor_id": distributor_id, "status": "confirmed"},
            key=f"booking:{booking_id}",
        )
        s.flush()
        on_booking_event(s, Event.from_row(row))
        return row.event_id


def test_the_signature_is_hmac_sha256_over_timestamp_and_body_and_checks_freshness() -> None:
    body = b'{"a":1}'
    signature = sign("s3cret", 1_800_000_000, body)
    assert signature.startswith("v1=") and len(signature) == 67
    assert verify("s3cret", "1800000000", body, signature, now=1_800_000_100)
    assert not verify("other", "1800000000", body, signature, now=1_800_000_100)
    assert not verify("s3cret", "1800000000", b'{"a":2}', signature, now=1_800_000_100)
    assert not verify("s3cret", "1800000000", body, signature, now=1_800_001_000)


def test_a_webhook_to_a_receiver_that_fails_twice_arrives_exactly_once_with_a_valid_signature(
    db: sessionmaker[Session], settings: Settings, distributor_id: int
) -> None:
    with transaction(db) as s:
        secret = services.get_distributor(s, distributor_id).webhook_secret
    with Receiver(secret, failures=2) as receiver:
        with transaction(db) as s:
            services.set_webhook(s, distributor_id, receiver.url)
        event_id = _emit(db, distributor_id, "booking.confirmed", 7)

        now = utcnow()
        first = deliver_webhooks(db, settings, now=now)
        assert (first.sent, first.failed) == (1, 1)
        # Backing off: nothing is due a moment later.
        assert deliver_webhooks(db, settings, now=now + timedelta(seconds=1)).sent == 0
        second = deliver_webhooks(db, settings, now=now + timedelta(seconds=3))
        assert second.failed == 1
        third = deliver_webhooks(db, settings, now=now + timedelta(seconds=10))
        assert third.delivered == 1
        assert deliver_webhooks(db, settings, now=now + timedelta(hours=2)).sent == 0

    assert receiver.calls == 3
    assert len(receiver.log) == 1
    assert receiver.log[0]["valid"] is True
    assert receiver.log[0]["body"]["id"] == event_id
    assert receiver.log[0]["body"]["type"] == "booking.confirmed"
    assert receiver.log[0]["body"]["data"]["booking_id"] == 7
    with db() as s:
        row = s.scalars(select(WebhookDelivery)).one()
        assert row.status is DeliveryStatus.DELIVERED and row.attempts == 3


def test_a_booking_s_later_event_waits_until_the_earlier_one_is_delivered(
    db: sessionmaker[Session], settings: Settings, distributor_id: int
) -> None:
    with transaction(db) as s:
        secret = services.get_distributor(s, distributor_id).webhook_secret
    with Receiver(secret, failures=1) as receiver:
        with transaction(db) as s:
            services.set_webhook(s, distributor_id, receiver.url)
        _emit(db, distributor_id, "booking.confirmed", 8)
        _emit(db, distributor_id, "booking.changed", 8)
        _emit(db, distributor_id, "booking.confirmed", 9)

        now = utcnow()
        stats = deliver_webhooks(db, settings, now=now)
        # booking 8's confirmation failed; booking 9 is independent and goes through.
        assert (stats.sent, stats.failed, stats.delivered) == (2, 1, 1)
        assert deliver_webhooks(db, settings, now=now + timedelta(seconds=1)).sent == 0
        deliver_webhooks(db, settings, now=now + timedelta(seconds=5))
        deliver_webhooks(db, settings, now=now + timedelta(seconds=6))

    types = [(e["body"]["data"]["booking_id"], e["body"]["type"]) for e in receiver.log]
    assert types == [(9, "booking.confirmed"), (8, "booking.confirmed"), (8, "booking.changed")]


def test_a_distributor_without_a_webhook_url_gets_no_deliveries(
    db: sessionmaker[Session], distributor_id: int
) -> None:
    _emit(db, distributor_id, "booking.confirmed", 1)
    with db() as s:
        assert s.scalars(select(WebhookDelivery)).all() == []


def test_a_delivery_is_parked_as_dead_after_the_last_attempt(
    db: sessionmaker[Session], settings: Settings, distributor_id: int
) -> None:
    with transaction(db) as s:
        # Nothing listens on port 9 of localhost: every attempt fails fast.
        services.set_webhook(s, distributor_id, "http://127.0.0.1:9/hooks")
    _emit(db, distributor_id, "booking.cancelled", 3)
    few = settings.with_overrides(webhook_max_attempts=2, webhook_timeout_seconds=1)
    now = utcnow()
    assert deliver_webhooks(db, few, now=now).failed == 1
    assert deliver_webhooks(db, few, now=now + timedelta(seconds=5)).dead == 1
    with db() as s:
        row = s.scalars(select(WebhookDelivery)).one()
        assert row.status is DeliveryStatus.DEAD and row.last_error
