"""What an operator does with the outbox: look at events and re-queue dead ones.

Plain service functions over a Session; they do not commit.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from inventory.db import utcnow
from inventory.errors import EventNotFound, EventStateError
from inventory.models import OutboxEvent, OutboxStatus


def list_events(
    session: Session,
    *,
    status: OutboxStatus | None = None,
    event_type: str | None = None,
    limit: int = 50,
) -> list[OutboxEvent]:
    """The newest events first, optionally only one status and/or one type."""
    stmt = select(OutboxEvent).order_by(OutboxEvent.id.desc()).limit(limit)
    if status is not None:
        stmt = stmt.where(OutboxEvent.status == status)
    if event_type:
        stmt = stmt.where(OutboxEvent.type == event_type)
    return list(session.scalars(stmt))


def find_event(session: Session, ref: str) -> OutboxEvent:
    """An event by its event_id (uuid) or by its row id (digits)."""
    ref = ref.strip()
    stmt = select(OutboxEvent)
    if ref.isdigit():
        stmt = stmt.where(OutboxEvent.id == int(ref))
    else:
        stmt = stmt.where(OutboxEvent.event_id == ref)
    row = session.scalars(stmt).first()
    if row is None:
        raise EventNotFound(f"no event {ref!r} in the outbox", ref=ref)
    return row


def requeue(session: Session, ref: str, *, now: datetime | None = None) -> OutboxEvent:
    """Give a dead event a fresh set of attempts, due at once. Only dead events qualify:
    a pending one is already queued and a done one was delivered."""
    row = find_event(session, ref)
    if row.status is not OutboxStatus.DEAD:
        raise EventStateError(
            f"event {row.event_id} is {row.status.value}; only dead events can be retried",
            event_id=row.event_id,
            status=row.status.value,
        )
    _reset(row, now or utcnow())
    return row


def requeue_dead(session: Session, *, now: datetime | None = None) -> int:
    """Re-queue every dead event; return how many."""
    result = session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.status == OutboxStatus.DEAD)
        .values(
            status=OutboxStatus.PENDING,
            attempts=0,
            next_attempt_at=now or utcnow(),
            processed_at=None,
        )
        .returning(OutboxEvent.id)
        .execution_options(synchronize_session=False)
    )
    return len(result.all())


def _reset(row: OutboxEvent, now: datetime) -> None:
    # last_error stays: it says why the event died until a new attempt replaces it.
    row.status = OutboxStatus.PENDING
    row.attempts = 0
    row.next_attempt_at = now
    row.processed_at = None
