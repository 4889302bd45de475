"""Forwarding committed outbox events to a message broker (NATS JetStream).

The in-process relay (`inventory.relay`) hands events to subscribers inside this application;
the forwarder here sends the same events out, so other systems (a WeChat notifier, an ERP, a
data warehouse) follow orders without touching the database. The two are independent: the
relay tracks `status`/`attempts`, the forwarder its own `forwarded_at` column, so a subscriber
that keeps failing never holds the broker back and a broker outage never parks an event dead.

How one forward run works (a scheduler interval job on the leader, `scheduling.scheduler.
forwarding`):

1. Read up to `batch` events with `forwarded_at IS NULL`, oldest id first, in a short
   read-only transaction: no database lock is held while the broker is called.
2. Publish them one by one, each waiting for JetStream's acknowledgement, to the subject
   `<prefix>.<type>` with the outbox `event_id` as `Nats-Msg-Id`. JetStream drops a message
   whose id it has seen within the stream's duplicate window, so a re-publish after a crash
   between the ack and step 3 does not make a second copy.
3. Mark the acknowledged ones forwarded in a second short transaction; stop at the first
   error (the rest stay NULL and are sent, in order, next run).

Any broker error (unreachable, timeout, no stream answering) ends the run and the next run
starts again from the oldest unforwarded event: there is no attempt limit, because the
events cannot be delivered anywhere else and none may be lost; the backlog and its age are
on `/metrics` and `gaogan events stats`.

Order: the forwarder runs only on the scheduler leader, publishes sequentially in id order and
waits for each acknowledgement, so every stream holds its events in outbox id order, hence in
write order per key (see docs/EVENTS.md for the one caveat: ids are taken at insert time).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction, utcnow
from inventory.models import OutboxEvent

log = logging.getLogger("inventory.broker")

# How long JetStream remembers message ids for de-duplication. Long enough to cover a forwarder
# that published, lost its database for a while and re-publishes on return; the cost is one
# id per message in the server's memory for this long.
DUPLICATE_WINDOW_SECONDS = 15 * 60
# What a stream keeps before the oldest messages go: subscribers that fall further behind
# than this read from the database (or a warehouse) instead.
STREAM_MAX_AGE_SECONDS = 30 * 24 * 3600
PUBLISH_TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class StreamSpec:
    name: str  # "gaogan_orders"
    subjects: tuple[str, ...]  # ("gaogan.order.>",)


def family_of(event_type: str) -> str:
    """`order.paid` -> `order`, `soak.standard.cleared` -> `soak`."""
    return event_type.split(".", 1)[0]


def _plural(word: str) -> str:
    if word.endswith(("s", "x", "ch", "sh")):
        return word + "es"
    if word.endswith("y") and word[-2:-1] not in {"a", "e", "i", "o", "u"}:
        return word[:-1] + "ies"
    return word + "s"


def stream_for(event_type: str, prefix: str) -> StreamSpec:
    """One stream per event family: every `order.*` event goes to `<prefix>_orders`."""
    family = family_of(event_type)
    return StreamSpec(name=f"{prefix}_{_plural(family)}", subjects=(f"{prefix}.{family}.>",))


def subject_for(event_type: str, prefix: str) -> str:
    if "." not in event_type:
        # A stream's subjects are "<prefix>.<family>.>", which needs a second token.
        return f"{prefix}.{event_type}.event"
    return f"{prefix}.{event_type}"


def envelope(row: Any) -> bytes:
    """The message body (from an outbox row or a row of its columns): the fields a
    subscriber's `Event` has, as JSON (UTF-8)."""
    return json.dumps(
        {
            "event_id": row.event_id,
            "type": row.type,
            "version": row.version,
            "occurred_at": row.occurred_at.isoformat(),
            "key": row.key,
            "payload": row.payload,
        },
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode()


class Publisher(Protocol):
    """The broker side of the port; `inventory.nats_broker.JetStreamPublisher` is the adapter."""

    async def ensure_stream(self, stream: StreamSpec) -> None: ...

    async def publish(
        self, subject: str, body: bytes, *, msg_id: str, headers: dict[str, str]
    ) -> bool:
        """Publish and wait for the broker's acknowledgement; True if it was a duplicate."""
        ...


@dataclass
class ForwardStats:
    forwarded: int = 0  # acknowledged by the broker and marked
    duplicates: int = 0  # of those, ones the broker already had (a re-publish)
    error: str = ""  # why the run stopped early; the events are retried next run

    def __str__(self) -> str:
        text = f"{self.forwarded} forwarded"
        if self.duplicates:
            text += f" ({self.duplicates} duplicate)"
        return text + (f"; stopped: {self.error}" if self.error else "")


_COLUMNS = (
    OutboxEvent.id,
    OutboxEvent.event_id,
    OutboxEvent.type,
    OutboxEvent.version,
    OutboxEvent.occurred_at,
    OutboxEvent.key,
    OutboxEvent.payload,
)


def unforwarded(sessions: sessionmaker[Session], limit: int) -> Sequence[Any]:
    with sessions() as session:
        return session.execute(
            select(*_COLUMNS)
            .where(OutboxEvent.forwarded_at.is_(None))
            .order_by(OutboxEvent.id)
            .limit(limit)
        ).all()


def mark_forwarded(sessions: sessionmaker[Session], ids: Sequence[int], now: datetime) -> None:
    with transaction(sessions) as session:
        session.execute(
            update(OutboxEvent)
            .where(OutboxEvent.id.in_(ids), OutboxEvent.forwarded_at.is_(None))
            .values(forwarded_at=now)
            .execution_options(synchronize_session=False)
        )


async def forward_pending(
    sessions: sessionmaker[Session],
    publisher: Publisher,
    *,
    prefix: str,
    batch_size: int,
    max_batches: int,
) -> ForwardStats:
    """Forward unforwarded events oldest first until none are left, `max_batches` batches
    are done or the broker fails. Broker errors are reported in the stats, never raised:
    the caller simply runs again later. Database errors are raised."""
    stats = ForwardStats()
    ensured: set[str] = set()
    for _ in range(max_batches):
        # A plain synchronous read on the event loop: the loop runs nothing but this
        # forwarder and the client's socket, so blocking it for a short query costs nothing.
        rows = unforwarded(sessions, batch_size)
        if not rows:
            break
        acked: list[int] = []
        try:
            for row in rows:
                stream = stream_for(row.type, prefix)
                if stream.name not in ensured:
                    await publisher.ensure_stream(stream)
                    ensured.add(stream.name)
                duplicate = await publisher.publish(
                    subject_for(row.type, prefix),
                    envelope(row),
                    msg_id=row.event_id,
                    headers={"Gaogan-Event-Type": row.type, "Gaogan-Event-Key": row.key},
                )
                acked.append(row.id)
                stats.duplicates += int(duplicate)
        except Exception as exc:
            stats.error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
            log.warning(
                "broker unavailable, %d event(s) forwarded before it failed; retrying later: %s",
                len(acked),
                stats.error,
            )
        if acked:
            mark_forwarded(sessions, acked, utcnow())
            stats.forwarded += len(acked)
        if stats.error or len(rows) < batch_size:
            break
    return stats
