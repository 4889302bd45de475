"""The inbox: once-only effects on top of at-least-once delivery.

The relay may hand the same event to a consumer more than once (a crash after the effect but
before the outbox row is marked done, a retry after another consumer of the same event failed).
A consumer that must act once records `(consumer, event_id)` in the *same transaction* as its
effect; the unique constraint on that pair makes the second delivery a no-op.

The relay does this for every subscriber. A consumer that runs outside the relay (a webhook, a
job that reads events some other way) uses `apply_once` itself:

    with transaction(sessions) as session:
        if apply_once(session, "mailer.order-confirmation", event.event_id):
            send_confirmation(session, event)
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import bindparam, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from inventory.db import UTCDateTime, utcnow
from inventory.models import InboxRecord


def apply_once(session: Session, consumer: str, event_id: str) -> bool:
    """Record that `consumer` handles `event_id`; True if it had not yet, False if it had.

    Call it in the transaction that applies the effect, and apply the effect only on True: if
    that transaction rolls back, so does the record, and the next delivery tries again.

    On PostgreSQL two transactions recording the same pair at once do not both get True: the
    second waits on the first's uncommitted row and then finds the conflict.
    """
    if not consumer or not event_id:
        raise ValueError("apply_once needs a consumer name and an event id")
    values = {"consumer": consumer, "event_id": event_id, "applied_at": utcnow()}
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        pg_stmt = postgresql.insert(InboxRecord).values(**values)
        inserted = session.execute(
            pg_stmt.on_conflict_do_nothing(index_elements=["consumer", "event_id"]).returning(
                InboxRecord.id
            )
        ).first()
        return inserted is not None
    if dialect == "sqlite":
        lite_stmt = sqlite.insert(InboxRecord).values(**values)
        inserted = session.execute(
            lite_stmt.on_conflict_do_nothing(index_elements=["consumer", "event_id"]).returning(
                InboxRecord.id
            )
        ).first()
        return inserted is not None
    # Any other engine: check first; the unique constraint still refuses a racing duplicate.
    if already_applied(session, consumer, event_id):
        return False
    session.add(InboxRecord(**values))
    session.flush()
    return True


def already_applied(session: Session, consumer: str, event_id: str) -> bool:
    """Whether `consumer` has a committed (or, in this session, flushed) record of `event_id`."""
    found = session.scalar(
        select(InboxRecord.id).where(
            InboxRecord.consumer == consumer, InboxRecord.event_id == event_id
        )
    )
    return found is not None


def record_many(session: Session, pairs: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """`apply_once` for many (consumer, event_id) pairs in one statement: the pairs recorded
    now (apply their effects), not those recorded before (skip them). PostgreSQL and SQLite."""
    if not pairs:
        return set()
    for consumer, event_id in pairs:
        if not consumer or not event_id:
            raise ValueError("record_many needs a consumer name and an event id in every pair")
    unique = list(dict.fromkeys(pairs))
    now = utcnow()
    if session.get_bind().dialect.name == "postgresql":
        # Two array parameters, whatever the number of pairs: one statement text (planned
        # once per connection) instead of three parameters a row.
        result = session.execute(
            _INSERT_UNNEST,
            {
                "consumers": [c for c, _ in unique],
                "event_ids": [e for _, e in unique],
                "now": now,
            },
        )
        return {(consumer, event_id) for consumer, event_id in result}
    values = [{"consumer": c, "event_id": e, "applied_at": now} for c, e in unique]
    stmt = (
        sqlite.insert(InboxRecord)
        .values(values)
        .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
        .returning(InboxRecord.consumer, InboxRecord.event_id)
    )
    return {(consumer, event_id) for consumer, event_id in session.execute(stmt)}


_INSERT_UNNEST = text(
    "INSERT INTO inbox (consumer, event_id, applied_at) "
    "SELECT c, e, :now FROM unnest(CAST(:consumers AS varchar[]), CAST(:event_ids AS varchar[])) "
    "AS pairs(c, e) "
    "ON CONFLICT (consumer, event_id) DO NOTHING RETURNING consumer, event_id"
).bindparams(bindparam("now", type_=UTCDateTime()))
