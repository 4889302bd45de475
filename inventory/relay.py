"""The outbox relay: delivers committed events to their subscribers.

One batch is one transaction:

1. Claim up to `relay_batch_size` pending events that are due, longest due first (the
   order of the pending index), and deliver them in id order. On PostgreSQL the
   claim is `SELECT ... FOR UPDATE SKIP LOCKED`, so several relays share the work without
   waiting on each other and never hold the same event. On SQLite every write transaction is
   `BEGIN IMMEDIATE`, so relays simply take turns.
2. Record every `(consumer, event_id)` pair of the batch in the inbox with ONE insert
   (`ON CONFLICT DO NOTHING RETURNING`; on PostgreSQL one `unnest` of two array parameters:
   a pair already there was applied by an earlier delivery and is skipped), hand each event,
   in id order, to its subscribers, and mark them all done with ONE update (`id = ANY(:ids)`
   on PostgreSQL). No savepoint: four statements a batch (claim, pending keys, inbox, done),
   whatever its size; the rows are read as plain values, never loaded as ORM objects.
   If any handler raises, the whole transaction is rolled back and the batch is claimed and
   delivered again the careful way: the events before the failing one in one SAVEPOINT, the
   failing event's subscribers each in its own SAVEPOINT together with its inbox record (the
   one that failed is not called again: its error is known), so a handler that raises rolls
   back only its savepoint; the others' effects and inbox records stay.
3. Mark the event done, or, if any subscriber failed, count a failed attempt: retry after
   `backoff_delay(attempts)`, or park it as dead after `relay_max_attempts` attempts. The last
   error is kept on the row either way.
4. Commit. A relay killed before this point has changed nothing: effects, inbox records and
   statuses of the whole batch roll back together, and the events are claimed again.

Ordering per key: events with the same non-empty `key` (one aggregate, "order:42") are
delivered in id order. An event waits while an earlier event of its key is still *pending*:
being delivered by another relay, or backing off after a failure. A *dead* event no longer
holds its key back: parking it lets the aggregate's later events flow, and re-queueing it
(`gaogan events retry`) delivers it late, after events that were written after it. Events
with an empty key are not ordered.

Handlers receive the relay's session: they must do their work there and must not commit (a
commit from a handler is refused with `HandlerCommitted`, a failed attempt) or roll back.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import Integer, String, Table, any_, bindparam, exists, or_, select, update
from sqlalchemy import event as sa_event
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, aliased, sessionmaker

from inventory.db import is_postgres, transaction, utcnow
from inventory.events import Event, Registry, Subscriber, registry
from inventory.inbox import apply_once, record_many
from inventory.models import OutboxEvent, OutboxStatus
from inventory.settings import Settings

log = logging.getLogger("inventory.relay")

BACKOFF_BASE_SECONDS = 1.0
BACKOFF_CAP_SECONDS = 3600.0
# The error text is for a person reading `gaogan events list`; a traceback goes to the log.
MAX_ERROR_LENGTH = 2000
_OUTBOX: Table = OutboxEvent.__table__  # type: ignore[assignment]


@dataclass
class RelayStats:
    """What one batch (or, summed, one relay run) did."""

    claimed: int = 0  # rows this relay held in the batch
    delivered: int = 0  # marked done
    failed: int = 0  # a subscriber failed; scheduled for another attempt
    dead: int = 0  # a subscriber failed for the last allowed time; parked
    held_back: int = 0  # claimed but left pending behind an earlier event of the same key

    def __add__(self, other: RelayStats) -> RelayStats:
        return RelayStats(
            **{f.name: getattr(self, f.name) + getattr(other, f.name) for f in fields(self)}
        )

    @property
    def progressed(self) -> int:
        return self.delivered + self.failed + self.dead


def backoff_delay(
    attempts: int,
    *,
    base_seconds: float = BACKOFF_BASE_SECONDS,
    cap_seconds: float = BACKOFF_CAP_SECONDS,
    jitter: float = 0.0,
    rand: Callable[[], float] = random.random,
) -> timedelta:
    """How long to wait after `attempts` failed attempts: base * 2^attempts, at most the cap.

    With the defaults: 2 s, 4 s, 8 s, ... 1024 s, then one hour. `jitter` (0..1) takes up to
    that fraction off at random, so events that failed together do not all return together.
    """
    if attempts < 1:
        raise ValueError(f"attempts must be at least 1, got {attempts}")
    if not 0.0 <= jitter <= 1.0:
        raise ValueError(f"jitter must be between 0 and 1, got {jitter}")
    # The exponent is bounded so a huge attempt count cannot overflow the float.
    delay = min(cap_seconds, base_seconds * 2.0 ** min(attempts, 64))
    delay -= delay * jitter * rand()
    return timedelta(seconds=delay)


def blocked_by_order(
    claimed: Sequence[tuple[int, str]], pending: Iterable[tuple[int, str]]
) -> set[int]:
    """The claimed event ids that must wait for an earlier pending event of their key.

    `claimed` are (id, key) of the events this relay holds; `pending` are (id, key) of every
    pending event of those keys, claimed or not. An event may go ahead only if each earlier
    pending event of its key is in this batch (and so is delivered first, in id order).
    An empty key imposes no order.
    """
    in_batch = {event_id for event_id, _ in claimed}
    first_outside: dict[str, int] = {}
    for event_id, key in pending:
        if key and event_id not in in_batch:
            first_outside[key] = min(first_outside.get(key, event_id), event_id)
    return {
        event_id
        for event_id, key in claimed
        if key and key in first_outside and first_outside[key] < event_id
    }


def relay_once(
    sessions: sessionmaker[Session],
    settings: Settings,
    *,
    now: datetime | None = None,
    registry: Registry = registry,
) -> RelayStats:
    """Deliver one batch of due events in one transaction; return what happened.

    First the fast way, with no savepoint at all; if a handler raises, that transaction is
    rolled back whole and the batch is delivered again the careful way, isolating the
    failure (the failing handler is not called twice for its event)."""
    now = now or utcnow()
    try:
        return _relay_batch(sessions, settings, now, registry, failures=None)
    except _BatchFailed as failed:
        return _relay_batch(sessions, settings, now, registry, failures=failed.failures)


class Claimed(NamedTuple):
    """An outbox row held by this relay: plain values (no ORM object to load and track)."""

    id: int
    event_id: str
    type: str
    version: int
    occurred_at: datetime
    key: str
    payload: dict[str, Any]
    attempts: int


# {event_id: {consumer: error line}}: the failures the fast attempt met, for the careful one.
_Failures = dict[str, dict[str, str]]


class _BatchFailed(Exception):
    """The fast attempt met a failure: its transaction is rolled back, the batch redone."""

    def __init__(self, failures: _Failures) -> None:
        super().__init__("a handler failed in the fast attempt")
        self.failures = failures


def _relay_batch(
    sessions: sessionmaker[Session],
    settings: Settings,
    now: datetime,
    registry: Registry,
    *,
    failures: _Failures | None,
) -> RelayStats:
    stats = RelayStats()
    with transaction(sessions) as session:
        sa_event.listen(session, "before_commit", _refuse_commit_inside_handler)
        rows = _claim(session, now, settings.relay_batch_size)
        stats.claimed = len(rows)
        if not rows:
            return stats
        blocked = blocked_by_order([(r.id, r.key) for r in rows], _pending_of_keys(session, rows))
        # Keys whose earlier event waits (blocked or just failed): their later events wait too.
        stalled: set[str] = set()
        done: list[Claimed] = []
        position = 0
        while position < len(rows):
            run: list[Claimed] = []
            for row in rows[position:]:
                if row.id in blocked or (row.key and row.key in stalled):
                    stalled.add(row.key)
                    continue
                run.append(row)
            if failures is None:
                # Raises _BatchFailed (rolling this transaction back) if a handler fails.
                _deliver_fast(session, run, registry)
                done.extend(run)
                break
            delivered, failure = _deliver_run(session, run, registry, failures)
            done.extend(delivered)
            if failure is None:
                break
            index, known = failure
            row = run[index]
            errors = _deliver(session, row, registry, known=known)
            if not errors:  # the batch failed outside any handler; alone, this one went through
                done.append(row)
            elif _count_failure(session, row, errors, settings, now, stats) and row.key:
                # A dead event no longer holds its key back; one backing off does.
                stalled.add(row.key)
            position = rows.index(row) + 1
        _mark_done(session, [row.id for row in done], now)
        stats.delivered = len(done)
        stats.held_back = stats.claimed - stats.progressed
    return stats


def _count_failure(
    session: Session,
    row: Claimed,
    errors: list[str],
    settings: Settings,
    now: datetime,
    stats: RelayStats,
) -> bool:
    """Charge `row` a failed attempt; True if it stays pending (backing off), False if dead."""
    attempts = row.attempts + 1
    last_error = "; ".join(errors)[:MAX_ERROR_LENGTH]
    values: dict[str, Any] = {"attempts": attempts, "last_error": last_error}
    pending = attempts < settings.relay_max_attempts
    if pending:
        values["next_attempt_at"] = now + backoff_delay(attempts)
        stats.failed += 1
    else:
        values.update(status=OutboxStatus.DEAD, processed_at=now)
        stats.dead += 1
        log.error(
            "event %s (%s) is dead after %d attempts: %s",
            row.event_id,
            row.type,
            attempts,
            last_error,
            extra={"event_id": row.event_id},
        )
    session.execute(update(_OUTBOX).where(_OUTBOX.c.id == row.id).values(**values))
    return pending


def _mark_done(session: Session, ids: Sequence[int], now: datetime) -> None:
    """One UPDATE for every delivered event of the batch; on PostgreSQL with the ids as one
    array parameter (`id = ANY(:ids)`), so the statement is the same for any batch size."""
    if not ids:
        return
    if is_postgres(session):
        which = _OUTBOX.c.id == any_(bindparam("ids", list(ids), type_=ARRAY(Integer)))
    else:
        which = _OUTBOX.c.id.in_(ids)
    session.execute(
        update(_OUTBOX)
        .where(which)
        .values(status=OutboxStatus.DONE, processed_at=now, attempts=_OUTBOX.c.attempts + 1)
    )


def run_relay(
    sessions: sessionmaker[Session],
    settings: Settings,
    stop_event: threading.Event,
    *,
    registry: Registry = registry,
    on_batch: Callable[[RelayStats], None] | None = None,
) -> RelayStats:
    """Relay until `stop_event` is set; return the totals.

    A full batch that made progress is followed at once by the next; otherwise the loop
    sleeps `relay_interval_seconds` (waking early when stopped). A failing batch (database
    unreachable) is logged and retried after the interval: the process stays up.
    """
    total = RelayStats()
    while not stop_event.is_set():
        try:
            stats = relay_once(sessions, settings, registry=registry)
        except Exception:
            log.exception("relay batch failed; retrying in %d s", settings.relay_interval_seconds)
            stop_event.wait(settings.relay_interval_seconds)
            continue
        total = total + stats
        if stats.claimed and on_batch is not None:
            on_batch(stats)
        if stats.claimed < settings.relay_batch_size or not stats.progressed:
            stop_event.wait(settings.relay_interval_seconds)
    return total


class HandlerCommitted(RuntimeError):
    """A handler tried to commit the relay's transaction."""


_IN_HANDLER = "inventory.relay.handler"


def _refuse_commit_inside_handler(session: Session) -> None:
    # A commit from a handler would commit the whole batch half-way and leave the relay
    # working outside any transaction; refusing it turns the mistake into a failed attempt
    # with a message that says what to fix.
    consumer = session.info.get(_IN_HANDLER)
    if consumer:
        raise HandlerCommitted(
            f"handler {consumer} called commit(); handlers must leave committing to the relay"
        )


def _claim(session: Session, now: datetime, limit: int) -> list[Claimed]:
    earlier = aliased(OutboxEvent)
    # Events behind an earlier one of their key that is backing off are not even claimed:
    # otherwise a long backlog of one aggregate would fill every batch and starve the rest.
    behind_a_waiting_event = (
        exists()
        .where(
            earlier.key == OutboxEvent.key,
            earlier.id < OutboxEvent.id,
            earlier.status == OutboxStatus.PENDING,
            earlier.next_attempt_at > now,
        )
        .correlate(OutboxEvent)
    )
    # Columns, not entities: the rows are read once and never changed through the ORM.
    stmt = (
        select(
            OutboxEvent.id,
            OutboxEvent.event_id,
            OutboxEvent.type,
            OutboxEvent.version,
            OutboxEvent.occurred_at,
            OutboxEvent.key,
            OutboxEvent.payload,
            OutboxEvent.attempts,
        )
        .where(
            OutboxEvent.status == OutboxStatus.PENDING,
            OutboxEvent.next_attempt_at <= now,
            or_(OutboxEvent.key == "", ~behind_a_waiting_event),
        )
        # In the order of ix_outbox_pending (status, next_attempt_at, id): the scan stops at
        # `limit` rows. Ordered by id alone, PostgreSQL read and sorted every due event
        # (and tested each against the subquery) for each batch: 17 ms for a batch of 50
        # out of 10,000 pending. Delivery is still in id order (sorted below), and an event
        # claimed without an earlier pending one of its key is held back as before.
        .order_by(OutboxEvent.next_attempt_at, OutboxEvent.id)
        .limit(limit)
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(skip_locked=True, of=OutboxEvent)
    return sorted(Claimed(*row) for row in session.execute(stmt))


def _pending_of_keys(session: Session, rows: Sequence[Claimed]) -> list[tuple[int, str]]:
    keys = {r.key for r in rows if r.key}
    if not keys:
        return []
    # One array parameter on PostgreSQL: the same statement text for any number of keys.
    of_keys = (
        _OUTBOX.c.key == any_(bindparam("keys", sorted(keys), type_=ARRAY(String)))
        if is_postgres(session)
        else _OUTBOX.c.key.in_(sorted(keys))
    )
    # A plain read: it sees rows other relays hold locked, and their committed statuses.
    result = session.execute(
        select(_OUTBOX.c.id, _OUTBOX.c.key).where(
            _OUTBOX.c.status == OutboxStatus.PENDING,
            of_keys,
            _OUTBOX.c.id < max(r.id for r in rows),
        )
    )
    return [(event_id, key) for event_id, key in result]


def _deliver_fast(session: Session, rows: Sequence[Claimed], registry: Registry) -> None:
    """Deliver `rows` (in id order, none held back) with no savepoint: ONE inbox insert for
    every (consumer, event) pair, then the handlers. A failure raises `_BatchFailed`, and
    the caller's transaction rolls back whole (a savepoint per batch, kept only for the
    rare failure, cost two statements every time)."""
    subscribers = {t: registry.subscribers(t) for t in {row.type for row in rows}}
    pairs = [(s.consumer, row.event_id) for row in rows for s in subscribers[row.type]]
    at: tuple[int, str] | None = None
    try:
        fresh = record_many(session, pairs)
        for index, row in enumerate(rows):
            event: Event | None = None
            for subscriber in subscribers[row.type]:
                if (subscriber.consumer, row.event_id) not in fresh:
                    continue  # applied by an earlier delivery
                at = (index, subscriber.consumer)
                event = event or Event.from_row(row)
                _call(session, subscriber, event)
    except Exception as exc:
        if at is None:
            raise _BatchFailed({}) from exc
        index, consumer = at
        error = _failed(consumer, rows[index], exc)
        raise _BatchFailed({rows[index].event_id: {consumer: error}}) from exc


def _call(session: Session, subscriber: Subscriber, event: Event) -> None:
    session.info[_IN_HANDLER] = subscriber.consumer
    try:
        subscriber.handler(session, event)
    finally:
        session.info.pop(_IN_HANDLER, None)
    # Surface the handler's constraint violations as its own failure.
    session.flush()


def _failed(consumer: str, row: Claimed, exc: Exception) -> str:
    log.warning(
        "consumer %s failed on event %s (%s), attempt %d",
        consumer,
        row.event_id,
        row.type,
        row.attempts + 1,
        exc_info=exc,
        extra={"event_id": row.event_id},
    )
    return f"{consumer}: {type(exc).__name__}: {exc}"


# (index in the run of the event whose handler raised, {consumer: error line})
_Failure = tuple[int, dict[str, str]]


def _deliver_run(
    session: Session, rows: Sequence[Claimed], registry: Registry, known: _Failures
) -> tuple[list[Claimed], _Failure | None]:
    """Deliver `rows` (in id order, none held back) inside ONE savepoint: one inbox insert
    for every (consumer, event) pair, then the handlers. The careful way, after the fast
    attempt failed: the run stops before an event whose failure that attempt met (`known`).

    If a handler raises, the savepoint is rolled back, the events before the failing one are
    delivered again the same way (their handlers run a second time, their first effects
    having been rolled back; the inbox keeps their effects once), and the failure is returned
    for the caller to isolate: the failing handler is not called again in this batch.
    """
    stop = next((i for i, row in enumerate(rows) if row.event_id in known), None)
    if stop is not None:
        delivered, failure = _deliver_run(session, rows[:stop], registry, {})
        return delivered, failure or (stop, known[rows[stop].event_id])
    if not rows:
        return [], None
    failure = _try_run(session, rows, registry)
    if failure is None:
        return list(rows), None
    index = failure[0]
    if index == 0:
        return [], failure
    delivered, again = _deliver_run(session, rows[:index], registry, {})
    return delivered, again or failure


def _try_run(session: Session, rows: Sequence[Claimed], registry: Registry) -> _Failure | None:
    pairs = [(s.consumer, row.event_id) for row in rows for s in registry.subscribers(row.type)]
    at: tuple[int, str] = (0, "")
    try:
        with session.begin_nested():
            fresh = record_many(session, pairs)
            for index, row in enumerate(rows):
                event: Event | None = None
                for subscriber in registry.subscribers(row.type):
                    if (subscriber.consumer, row.event_id) not in fresh:
                        continue  # applied by an earlier delivery
                    at = (index, subscriber.consumer)
                    event = event or Event.from_row(row)
                    _call(session, subscriber, event)
    except Exception as exc:
        index, consumer = at
        return index, {consumer: _failed(consumer, rows[index], exc)}
    return None


def _deliver(
    session: Session,
    row: Claimed,
    registry: Registry,
    *,
    known: dict[str, str] | None = None,
) -> list[str]:
    """Run every subscriber once for `row`, each in its own savepoint with its inbox record;
    return one error line per subscriber that failed. A subscriber in `known` already failed
    in this batch: its error is reported without calling it again."""
    known = known or {}
    event = Event.from_row(row)
    errors: list[str] = []
    for subscriber in registry.subscribers(row.type):
        if subscriber.consumer in known:
            errors.append(known[subscriber.consumer])
            continue
        try:
            with session.begin_nested():
                if apply_once(session, subscriber.consumer, row.event_id):
                    _call(session, subscriber, event)
        except Exception as exc:
            errors.append(_failed(subscriber.consumer, row, exc))
    return errors
