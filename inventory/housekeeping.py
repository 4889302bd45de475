"""Pruning what the outbox and the inbox no longer need, in small batches.

Each batch is its own short transaction deleting at most `batch_size` rows picked by primary
key: no long transaction holds back PostgreSQL's vacuum or the SQLite writer lock, concurrent
checkouts wait at most one batch, and autovacuum reclaims the space as the job goes.

What is kept, whatever its age:
- outbox events still `pending` or `dead` (not yet delivered, or waiting for an operator);
- with a broker configured, events the broker has not acknowledged (`forwarded_at IS NULL`);
- inbox records of events that are still pending or dead in the outbox: a dead event that is
  re-queued must find them, or its consumers that already applied it would apply it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, delete, exists, select
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from inventory.models import InboxRecord, OutboxEvent, OutboxStatus


@dataclass(frozen=True)
class Pruned:
    outbox: int = 0
    inbox: int = 0

    def __str__(self) -> str:
        return f"{self.outbox} outbox event(s), {self.inbox} inbox record(s) pruned"


def delete_in_batches(
    sessions: sessionmaker[Session],
    table_id: ColumnElement[int],
    candidates: Select[Any],
    *,
    batch_size: int,
) -> int:
    """Delete the rows `candidates` selects (their ids), `batch_size` per transaction."""
    total = 0
    while True:
        with transaction(sessions) as session:
            ids = list(session.scalars(candidates.order_by(table_id).limit(batch_size)))
            if not ids:
                return total
            session.execute(
                delete(table_id.table)
                .where(table_id.in_(ids))
                .execution_options(synchronize_session=False)
            )
        total += len(ids)
        if len(ids) < batch_size:
            return total


def prune_outbox(
    sessions: sessionmaker[Session],
    *,
    before: datetime,
    batch_size: int,
    require_forwarded: bool,
) -> int:
    """Delete done events processed before `before` (and forwarded, with a broker)."""
    conditions = [
        OutboxEvent.status == OutboxStatus.DONE,
        OutboxEvent.processed_at < before,
    ]
    if require_forwarded:
        conditions.append(OutboxEvent.forwarded_at.is_not(None))
    return delete_in_batches(
        sessions,
        OutboxEvent.__table__.c.id,
        select(OutboxEvent.id).where(*conditions),
        batch_size=batch_size,
    )


def prune_inbox(sessions: sessionmaker[Session], *, before: datetime, batch_size: int) -> int:
    """Delete inbox records applied before `before`, except those of undelivered events."""
    undelivered = (
        exists()
        .where(
            OutboxEvent.event_id == InboxRecord.event_id,
            OutboxEvent.status != OutboxStatus.DONE,
        )
        .correlate(InboxRecord)
    )
    return delete_in_batches(
        sessions,
        InboxRecord.__table__.c.id,
        select(InboxRecord.id).where(InboxRecord.applied_at < before, ~undelivered),
        batch_size=batch_size,
    )


def prune_events(
    sessions: sessionmaker[Session],
    *,
    before: datetime,
    batch_size: int,
    require_forwarded: bool,
) -> Pruned:
    return Pruned(
        outbox=prune_outbox(
            sessions, before=before, batch_size=batch_size, require_forwarded=require_forwarded
        ),
        inbox=prune_inbox(sessions, before=before, batch_size=batch_size),
    )
