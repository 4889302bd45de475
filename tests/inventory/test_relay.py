"""The relay on a real database (SQLite by default, PostgreSQL with GAOGAN_TEST_DATABASE_URL)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    func,
    insert,
    select,
)
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction, utcnow
from inventory.events import Event, Handler, Registry, publish
from inventory.inbox import already_applied, apply_once
from inventory.models import InboxRecord, OutboxEvent, OutboxStatus
from inventory.relay import relay_once
from inventory.settings import Settings

# A consumer's effect lives in a table of its own; kept off Base.metadata so the schema the
# application ships is not touched by tests.
effect_metadata = MetaData()
effects = Table(
    "test_relay_effects",
    effect_metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("consumer", String(40), nullable=False),
    Column("event_id", String(36), nullable=False),
    Column("key", String(80), nullable=False),
    Column("seq", Integer, nullable=False),
)


@pytest.fixture
def effect_table(engine: Engine, db: sessionmaker[Session]) -> Iterator[None]:
    effect_metadata.drop_all(engine)
    effect_metadata.create_all(engine)
    yield
    effect_metadata.drop_all(engine)


def record_effect(consumer: str) -> tuple[str, Handler]:
    def handler(session: Session, event: Event) -> None:
        session.execute(
            insert(effects).values(
                consumer=consumer,
                event_id=event.event_id,
                key=event.key,
                seq=int(event.payload.get("seq", 0)),
            )
        )

    return consumer, handler


def seed(
    db: sessionmaker[Session],
    count: int,
    *,
    event_type: str = "test.thing",
    keys: list[str] | None = None,
) -> list[str]:
    with transaction(db) as session:
        rows = [
            publish(
                session,
                event_type,
                {"seq": i},
                key=(keys[i % len(keys)] if keys else ""),
            )
            for i in range(count)
        ]
    return [r.event_id for r in rows]


def outbox(db: sessionmaker[Session]) -> list[OutboxEvent]:
    with db() as session:
        return list(session.scalars(select(OutboxEvent).order_by(OutboxEvent.id)))


def effect_rows(
    db: sessionmaker[Session], consumer: str | None = None
) -> list[tuple[str, str, int]]:
    stmt = select(effects.c.event_id, effects.c.key, effects.c.seq).order_by(effects.c.id)
    if consumer:
        stmt = stmt.where(effects.c.consumer == consumer)
    with db() as session:
        return [(e, k, s) for e, k, s in session.execute(stmt)]


def effect_rows_by_consumer(db: sessionmaker[Session]) -> list[tuple[str, str]]:
    with db() as session:
        stmt = select(effects.c.consumer, effects.c.event_id).order_by(effects.c.id)
        return [(c, e) for c, e in session.execute(stmt)]


class Flaky:
    """A handler that fails its first `failures` calls for the chosen events, then works."""

    def __init__(self, failures: int, only_seq: set[int] | None = None) -> None:
        self.failures = failures
        self.only_seq = only_seq
        self.calls: list[int] = []

    def __call__(self, session: Session, event: Event) -> None:
        seq = int(event.payload["seq"])
        self.calls.append(seq)
        if (self.only_seq is None or seq in self.only_seq) and self.failures > 0:
            self.failures -= 1
            raise RuntimeError(f"printer offline for #{seq}")
        session.execute(
            insert(effects).values(
                consumer="flaky", event_id=event.event_id, key=event.key, seq=seq
            )
        )


def test_each_committed_event_reaches_every_subscriber_once_and_is_marked_done(
    db: sessionmaker[Session], settings: Settings, effect_table: None
) -> None:
    registry = Registry()
    registry.subscribe("test.thing", *record_effect("a"))
    registry.subscribe("test.thing", *record_effect("b"))
    ids = seed(db, 3)

    stats = relay_once(db, settings, registry=registry)
    again = relay_once(db, settings, registry=registry)

    assert (stats.claimed, stats.delivered, stats.failed, stats.dead) == (3, 3, 0, 0)
    assert again.claimed == 0
    assert [r.status for r in outbox(db)] == [OutboxStatus.DONE] * 3
    assert all(r.attempts == 1 and r.processed_at is not None for r in outbox(db))
    assert [e for e, _, _ in effect_rows(db, "a")] == ids
    assert [e for e, _, _ in effect_rows(db, "b")] == ids
    with db() as session:
        assert session.scalar(select(func.count()).select_from(InboxRecord)) == 6


def test_an_event_published_in_a_transaction_that_rolls_back_is_never_delivered(
    db: sessionmaker[Session], settings: Settings, effect_table: None
) -> None:
    registry = Registry()
    registry.subscribe("test.thing", *record_effect("a"))

    class Refused(Exception):
        pass

    with pytest.raises(Refused), transaction(db) as session:
        publish(session, "test.thing", {"seq": 1}, key="order:1")
        raise Refused

    stats = relay_once(db, settings, registry=registry)
    assert stats.claimed == 0
    assert outbox(db) == []
    assert effect_rows(db) == []


def test_a_failing_handler_is_retried_with_backoff_and_then_parked_dead(
    db: sessionmaker[Session], settings: Settings, effect_table: None
) -> None:
    settings = settings.with_overrides(relay_max_attempts=3)
    registry = Registry()
    always = Flaky(failures=1_000)
    registry.subscribe("test.thing", "flaky", always)
    seed(db, 1)
    t0 = utcnow()

    first = relay_once(db, settings, now=t0, registry=registry)
    [row] = outbox(db)
    assert (first.failed, row.status, row.attempts) == (1, OutboxStatus.PENDING, 1)
    assert row.next_attempt_at == t0 + timedelta(seconds=2)
    assert row.last_error == "flaky: RuntimeError: printer offline for #0"

    assert relay_once(db, settings, now=t0 + timedelta(seconds=1), registry=registry).claimed == 0

    second = relay_once(db, settings, now=t0 + timedelta(seconds=2), registry=registry)
    [row] = outbox(db)
    assert (second.failed, row.attempts) == (1, 2)
    assert row.next_attempt_at == t0 + timedelta(seconds=2 + 4)

    third = relay_once(db, settings, now=t0 + timedelta(seconds=6), registry=registry)
    [row] = outbox(db)
    assert (third.dead, row.status, row.attempts) == (1, OutboxStatus.DEAD, 3)
    assert row.last_error == "flaky: RuntimeError: printer offline for #0"

    assert relay_once(db, settings, now=t0 + timedelta(days=1), registry=registry).claimed == 0
    assert always.calls == [0, 0, 0]
    assert effect_rows(db) == []


def test_a_handler_that_recovers_is_delivered_on_a_later_attempt(
    db: sessionmaker[Session], settings: Settings, effect_table: None
) -> None:
    registry = Registry()
    registry.subscribe("test.thing", "flaky", Flaky(failures=1))
    [event_id] = seed(db, 1)
    t0 = utcnow()

    relay_once(db, settings, now=t0, registry=registry)
    stats = relay_once(db, settings, now=t0 + timedelta(seconds=2), registry=registry)

    [row] = outbox(db)
    assert (stats.delivered, row.status, row.attempts) == (1, OutboxStatus.DONE, 2)
    assert effect_rows(db) == [(event_id, "", 0)]


def test_a_consumer_that_succeeded_is_not_run_again_when_another_one_fails(
    db: sessionmaker[Session], settings: Settings, effect_table: None
) -> None:
    registry = Registry()
    registry.subscribe("test.thing", *record_effect("steady"))
    flaky = Flaky(failures=2)
    registry.subscribe("test.thing", "flaky", flaky)
    [event_id] = seed(db, 1)
    t0 = utcnow()

    for seconds in (0, 2, 6):
        relay_once(db, settings, now=t0 + timedelta(seconds=seconds), registry=registry)

    assert outbox(db)[0].status is OutboxStatus.DONE
    assert effect_rows(db, "steady") == [(event_id, "", 0)]
    assert effect_rows(db, "flaky") == [(event_id, "", 0)]
    assert flaky.calls == [0, 0, 0]


def test_a_consumer_registered_twice_is_harmless(
    db: sessionmaker[Session], settings: Settings, effect_table: None
) -> None:
    registry = Registry()
    consumer, handler = record_effect("twice")
    registry.subscribe("test.thing", consumer, handler)
    registry.subscribe("test.thing", consumer, handler)
    registry.subscribe("test.thing", consumer, record_effect("twice")[1])
    [event_id] = seed(db, 1)

    stats = relay_once(db, settings, registry=registry)

    assert stats.delivered == 1
    assert effect_rows(db) == [(event_id, "", 0)]


def test_a_failing_event_holds_back_later_events_of_its_key_but_not_other_keys(
    db: sessionmaker[Session], settings: Settings, effect_table: None
) -> None:
    registry = Registry()
    flaky = Flaky(failures=1, only_seq={0})
    registry.subscribe("test.thing", "flaky", flaky)
    # seq 0, 2, 4 are order:1; seq 1, 3, 5 are order:2.
    seed(db, 6, keys=["order:1", "order:2"])
    t0 = utcnow()

    first = relay_once(db, settings, now=t0, registry=registry)
    assert (first.delivered, first.failed, first.held_back) == (3, 1, 2)
    assert [s for _, k, s in effect_rows(db) if k == "order:2"] == [1, 3, 5]
    assert [s for _, k, s in effect_rows(db) if k == "order:1"] == []

    # Before the retry is due the followers are not even claimed.
    assert relay_once(db, settings, now=t0 + timedelta(seconds=1), registry=registry).claimed == 0

    relay_once(db, settings, now=t0 + timedelta(seconds=2), registry=registry)
    assert [s for _, k, s in effect_rows(db) if k == "order:1"] == [0, 2, 4]
    assert all(r.status is OutboxStatus.DONE for r in outbox(db))


def test_a_key_stuck_behind_a_retry_does_not_starve_other_events(
    db: sessionmaker[Session], settings: Settings, effect_table: None
) -> None:
    settings = settings.with_overrides(relay_batch_size=2)
    registry = Registry()
    registry.subscribe("test.thing", "flaky", Flaky(failures=1, only_seq={0}))
    seed(db, 5, keys=["order:1", "order:1", "order:1", "order:1", "order:2"])
    t0 = utcnow()

    relay_once(db, settings, now=t0, registry=registry)  # seq 0 fails, seq 1 held back
    later = relay_once(db, settings, now=t0 + timedelta(seconds=1), registry=registry)

    assert (later.claimed, later.delivered) == (1, 1)
    assert [s for _, _, s in effect_rows(db)] == [4]


def test_a_dead_event_stops_holding_back_the_later_events_of_its_key(
    db: sessionmaker[Session], settings: Settings, effect_table: None
) -> None:
    settings = settings.with_overrides(relay_max_attempts=1)
    registry = Registry()
    registry.subscribe("test.thing", "flaky", Flaky(failures=1, only_seq={0}))
    seed(db, 2, keys=["order:1"])

    stats = relay_once(db, settings, registry=registry)

    assert (stats.dead, stats.delivered) == (1, 1)
    assert [r.status for r in outbox(db)] == [OutboxStatus.DEAD, OutboxStatus.DONE]
    assert [s for _, _, s in effect_rows(db)] == [1]


def test_a_handler_that_commits_is_refused_and_its_attempt_counts_as_failed(
    db: sessionmaker[Session], settings: Settings, effect_table: None
) -> None:
    registry = Registry()

    def committing(session: Session, event: Event) -> None:
        session.execute(
            insert(effects).values(consumer="rogue", event_id=event.event_id, key="", seq=0)
        )
        session.commit()

    registry.subscribe("test.thing", "rogue", committing)
    registry.subscribe("test.thing", *record_effect("polite"))
    seed(db, 1)

    stats = relay_once(db, settings, registry=registry)

    [row] = outbox(db)
    assert (stats.failed, row.status, row.attempts) == (1, OutboxStatus.PENDING, 1)
    assert row.last_error is not None
    assert "HandlerCommitted: handler rogue called commit()" in row.last_error
    assert [c for c, *_ in effect_rows_by_consumer(db)] == ["polite"]
    with db() as session:
        assert not already_applied(session, "rogue", row.event_id)
        assert already_applied(session, "polite", row.event_id)


def test_an_event_nobody_subscribes_to_is_simply_marked_done(
    db: sessionmaker[Session], settings: Settings
) -> None:
    seed(db, 2, event_type="test.unheard")
    stats = relay_once(db, settings, registry=Registry())
    assert stats.delivered == 2
    assert {r.status for r in outbox(db)} == {OutboxStatus.DONE}


def test_apply_once_says_yes_once_per_consumer_and_forgets_a_rolled_back_record(
    db: sessionmaker[Session],
) -> None:
    with transaction(db) as session:
        assert apply_once(session, "mailer", "e-1") is True
        assert apply_once(session, "mailer", "e-1") is False
        assert apply_once(session, "exporter", "e-1") is True

    with pytest.raises(RuntimeError), transaction(db) as session:
        assert apply_once(session, "mailer", "e-2") is True
        raise RuntimeError("the effect failed")

    with transaction(db) as session:
        assert already_applied(session, "mailer", "e-1")
        assert not already_applied(session, "mailer", "e-2")
        assert apply_once(session, "mailer", "e-2") is True
    with pytest.raises(ValueError):
        apply_once(db(), "", "e-3")


def relay_concurrently(
    db: sessionmaker[Session], settings: Settings, registry: Registry, relays: int
) -> tuple[list[int], float]:
    """Run `relays` threads, each relaying until nothing is pending; return what each delivered."""
    errors: list[BaseException] = []
    totals: list[int] = []

    def relay() -> None:
        delivered = 0
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                stats = relay_once(db, settings, registry=registry)
                delivered += stats.delivered
                if stats.claimed == 0:
                    with db() as session:
                        left = session.scalar(
                            select(func.count())
                            .select_from(OutboxEvent)
                            .where(OutboxEvent.status == OutboxStatus.PENDING)
                        )
                    if left == 0:
                        break
                    time.sleep(0.01)
        except BaseException as exc:
            errors.append(exc)
        totals.append(delivered)

    started = time.monotonic()
    threads = [threading.Thread(target=relay) for _ in range(relays)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    return totals, time.monotonic() - started


def assert_each_effect_once_in_key_order(
    db: sessionmaker[Session], ids: list[str], keys: list[str]
) -> None:
    rows = outbox(db)
    assert {r.status for r in rows} == {OutboxStatus.DONE}
    assert all(r.attempts == 1 for r in rows)
    applied = effect_rows(db)
    assert len(applied) == len(ids)
    assert sorted(e for e, _, _ in applied) == sorted(ids)
    # Effect rows are numbered as they are written, and a later event of a key is written
    # only after the earlier one's batch committed: per key they follow the event order.
    for key in {k for k in keys if k}:
        seqs = [s for _, k, s in applied if k == key]
        assert seqs == sorted(seqs), key


def test_two_relays_at_once_take_turns_and_apply_every_effect_once_on_any_engine(
    db: sessionmaker[Session], settings: Settings, effect_table: None
) -> None:
    settings = settings.with_overrides(relay_batch_size=10)
    registry = Registry()
    registry.subscribe("test.thing", *record_effect("counter"))
    keys = [f"order:{n}" for n in range(8)] + [""]
    ids = seed(db, 100, keys=keys)

    totals, _ = relay_concurrently(db, settings, registry, relays=2)

    assert sum(totals) == 100
    assert_each_effect_once_in_key_order(db, ids, keys)


@pytest.mark.postgres
def test_four_relays_at_once_apply_every_effect_exactly_once_and_in_key_order(
    db: sessionmaker[Session], settings: Settings, effect_table: None
) -> None:
    settings = settings.with_overrides(relay_batch_size=25)
    registry = Registry()
    registry.subscribe("test.thing", *record_effect("counter"))
    keys = [f"order:{n}" for n in range(40)] + [""] * 10
    ids = seed(db, 500, keys=keys)

    totals, elapsed = relay_concurrently(db, settings, registry, relays=4)

    assert sum(totals) == 500
    assert sum(1 for t in totals if t > 0) >= 2, f"the work was not shared: {totals}"
    assert_each_effect_once_in_key_order(db, ids, keys)
    print(f"4 relays, 500 events: {elapsed:.2f} s, per relay {totals}")


@pytest.mark.postgres
def test_apply_once_racing_itself_on_postgres_says_yes_to_exactly_one_transaction(
    db: sessionmaker[Session],
) -> None:
    answers: list[bool] = []
    first = db()
    first.begin()
    assert apply_once(first, "mailer", "e-race") is True

    def second() -> None:
        with transaction(db) as session:
            # Waits on the first transaction's uncommitted row, then sees the conflict.
            answers.append(apply_once(session, "mailer", "e-race"))

    racer = threading.Thread(target=second)
    racer.start()
    time.sleep(0.2)
    assert answers == [], "the second transaction must wait for the first"
    first.commit()
    first.close()
    racer.join(timeout=10)
    assert answers == [False]
