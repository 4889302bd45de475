"""Outgoing webhooks to a distributor's own system.

Two steps, so that a slow or dead receiver never holds a database lock:

1. `on_booking_event` is an outbox subscriber (booking.confirmed, booking.changed,
   booking.cancelled, booking.reduced, order.ready). In the relay's transaction it writes one
   `WebhookDelivery` row per event for the distributor, if they have a URL; `order.ready`
   only for booking refs, once per booking, to the distributor who owns the booking.
2. `deliver_webhooks` (a scheduler job, every few seconds) leases due deliveries in a short
   transaction, POSTs them with no transaction open, and records the outcome in another short
   transaction: delivered, or another attempt after an exponential backoff, or dead after
   `webhook_max_attempts`. Only the oldest pending delivery of a booking is sent, so a
   receiver sees each booking's events in order; a delivery is sent at least once, and the
   receiver drops repeats by `X-Gaogan-Event-Id`.

Signature (documented in docs/events/distributors.md):
    X-Gaogan-Timestamp: <unix seconds>
    X-Gaogan-Signature: v1=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time as _time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, aliased, sessionmaker

from inventory import events
from inventory.db import transaction, utcnow
from inventory.settings import Settings
from shop.distributors.common import booking_for_ref, booking_payload
from shop.distributors.models import DeliveryStatus, Distributor, WebhookDelivery

log = logging.getLogger("gaogan.distributors.webhooks")

WEBHOOK_EVENTS = (
    "booking.confirmed",
    "booking.changed",
    "booking.cancelled",
    "booking.reduced",
    "order.ready",
)
CONSUMER = "webhook.distributor"
SIGNATURE_HEADER = "X-Gaogan-Signature"
TIMESTAMP_HEADER = "X-Gaogan-Timestamp"
EVENT_ID_HEADER = "X-Gaogan-Event-Id"
EVENT_TYPE_HEADER = "X-Gaogan-Event"
LEASE = timedelta(minutes=2)
TOLERANCE_SECONDS = 300


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"v1={mac.hexdigest()}"


def verify(
    secret: str, timestamp: str, body: bytes, signature: str, *, now: float | None = None
) -> bool:
    """The receiver's check (also what our tests use): right MAC and a fresh timestamp."""
    try:
        ts = int(timestamp)
    except ValueError:
        return False
    current = _time.time() if now is None else now
    if abs(current - ts) > TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature)


def backoff(attempts: int) -> timedelta:
    """2 s, 4 s, 8 s ... at most one hour."""
    return timedelta(seconds=min(3600, 2 ** min(attempts, 12)))


def _ready_booking(session: Session, event: events.Event) -> tuple[int, dict[str, Any]] | None:
    """`order.ready` (one shape for orders and bookings, docs/events/scheduling.md) goes to
    the distributor whose booking the ref names, once per booking, with the booking's
    details added; storefront order refs are not a distributor's business."""
    booking = booking_for_ref(session, str(event.payload.get("ref") or ""))
    if booking is None:
        return None
    told = session.scalar(
        select(WebhookDelivery.id).where(
            WebhookDelivery.key == booking.ref, WebhookDelivery.event_type == event.type
        )
    )
    if told is not None:
        return None
    return booking.distributor_id, {**booking_payload(session, booking), **event.payload}


def on_booking_event(session: Session, event: events.Event) -> None:
    if event.type == "order.ready":
        found = _ready_booking(session, event)
        if found is None:
            return
        distributor_id, data = found
    else:
        raw_id = event.payload.get("distributor_id")
        if not isinstance(raw_id, int):
            return
        distributor_id, data = raw_id, dict(event.payload)
    distributor = session.get(Distributor, distributor_id)
    if distributor is None or not distributor.webhook_url:
        return
    exists = session.scalar(
        select(WebhookDelivery.id).where(
            WebhookDelivery.event_id == event.event_id,
            WebhookDelivery.distributor_id == distributor_id,
        )
    )
    if exists is not None:
        return
    body = json.dumps(
        {
            "id": event.event_id,
            "type": event.type,
            "occurred_at": event.occurred_at.isoformat(),
            "data": data,
        },
        ensure_ascii=False,
        sort_keys=True,
    )
    session.add(
        WebhookDelivery(
            distributor_id=distributor_id,
            event_id=event.event_id,
            event_type=event.type,
            key=event.key,
            body=body,
            status=DeliveryStatus.PENDING,
            attempts=0,
            next_attempt_at=utcnow(),
        )
    )
    session.flush()


def register_subscribers(registry: events.Registry = events.registry) -> None:
    """Called from the app factory and by any process that runs the relay."""
    for event_type in WEBHOOK_EVENTS:
        registry.subscribe(event_type, CONSUMER, on_booking_event)


@dataclass(frozen=True)
class Outcome:
    ok: bool
    status: int | None
    error: str


Sender = Callable[[str, bytes, Mapping[str, str], float], Outcome]


def http_post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> Outcome:
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            status = int(response.status)
            return Outcome(200 <= status < 300, status, "" if status < 300 else f"HTTP {status}")
    except urllib.error.HTTPError as exc:
        return Outcome(False, exc.code, f"HTTP {exc.code}")
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return Outcome(False, None, f"{exc.__class__.__name__}: {exc}")


@dataclass(frozen=True)
class _Leased:
    id: int
    url: str
    secret: str
    body: str
    event_id: str
    event_type: str


@dataclass
class DeliveryStats:
    sent: int = 0
    delivered: int = 0
    failed: int = 0
    dead: int = 0


def deliver_webhooks(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    now: datetime | None = None,
    limit: int = 50,
    send: Sender = http_post,
) -> DeliveryStats:
    now = now or utcnow()
    stats = DeliveryStats()
    for leased in _lease_due(sessions, now, limit):
        timestamp = int(now.timestamp())
        body = leased.body.encode()
        headers = {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "gaogan-webhooks/1",
            EVENT_TYPE_HEADER: leased.event_type,
            EVENT_ID_HEADER: leased.event_id,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(leased.secret, timestamp, body),
        }
        outcome = send(leased.url, body, headers, float(settings.webhook_timeout_seconds))
        stats.sent += 1
        with transaction(sessions) as session:
            row = session.get(WebhookDelivery, leased.id)
            if row is None:
                continue
            row.attempts += 1
            row.last_status = outcome.status
            row.locked_until = None
            if outcome.ok:
                row.status = DeliveryStatus.DELIVERED
                row.delivered_at = now
                row.last_error = None
                stats.delivered += 1
            elif row.attempts >= settings.webhook_max_attempts:
                row.status = DeliveryStatus.DEAD
                row.last_error = outcome.error[:2000]
                stats.dead += 1
                log.error(
                    "webhook %s to distributor %s is dead: %s",
                    row.event_id,
                    row.distributor_id,
                    outcome.error,
                )
            else:
                row.next_attempt_at = now + backoff(row.attempts)
                row.last_error = outcome.error[:2000]
                stats.failed += 1
    return stats


def _lease_due(sessions: sessionmaker[Session], now: datetime, limit: int) -> list[_Leased]:
    earlier = aliased(WebhookDelivery)
    leased: list[_Leased] = []
    with transaction(sessions) as session:
        # Only the oldest pending delivery of each booking: the next waits until it is through.
        first_of_key = ~(
            select(earlier.id)
            .where(
                earlier.key == WebhookDelivery.key,
                earlier.status == DeliveryStatus.PENDING,
                earlier.id < WebhookDelivery.id,
            )
            .exists()
        )
        rows = session.execute(
            select(WebhookDelivery, Distributor)
            .join(Distributor, Distributor.id == WebhookDelivery.distributor_id)
            .where(
                WebhookDelivery.status == DeliveryStatus.PENDING,
                WebhookDelivery.next_attempt_at <= now,
                (WebhookDelivery.locked_until.is_(None)) | (WebhookDelivery.locked_until < now),
                first_of_key,
            )
            .order_by(WebhookDelivery.id)
            .limit(limit)
        ).all()
        for delivery, distributor in rows:
            if not distributor.webhook_url:
                continue
            # A guarded lease: two delivery workers never send the same row at once.
            took = session.execute(
                update(WebhookDelivery)
                .where(
                    WebhookDelivery.id == delivery.id,
                    WebhookDelivery.status == DeliveryStatus.PENDING,
                    (WebhookDelivery.locked_until.is_(None)) | (WebhookDelivery.locked_until < now),
                )
                .values(locked_until=now + LEASE)
                .execution_options(synchronize_session=False)
            )
            if took.rowcount == 1:  # type: ignore[attr-defined]
                leased.append(
                    _Leased(
                        delivery.id,
                        distributor.webhook_url,
                        distributor.webhook_secret,
                        delivery.body,
                        delivery.event_id,
                        delivery.event_type,
                    )
                )
    return leased


def payload_of(body: bytes) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(body)
    return data
