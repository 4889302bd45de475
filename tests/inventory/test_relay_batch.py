"""The relay works a batch at a time: statements per batch do not grow with its events, and a
handler failing in the middle of a batch costs only its own event."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from inventory.events import Event, Registry
from inventory.inbox import record_many
from inventory.models import InboxRecord, OutboxStatus
from inventory.relay import relay_once
from inventory.settings import Settings
from tests.inventory.test_relay import (  # noqa: F401  (effect_table is a fixture)
    Flaky,
    effect_rows,
    effect_table,
    outbox,
    record_effect,
    seed,
)

pytestmark = pytest.mark.usefixtures("effect_table")


def _statements_of_a_batch(
    db: sessionmaker[Session], engine: Engine, settings: Settings, registry: Registry
) -> list[str]:
    statements: list[str] = []

    def count(_c: object, _cur: object, stmt: str, *_a: object) -> None:
        statements.append(stmt.split()[0].upper())

    event.listen(engine, "before_cursor_execute", count)
    try:
        stats = relay_once(db, settings, registry=registry)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert stats.failed == 0
    return [s for s in statements if s not in {"BEGIN", "COMMIT"}]


def test_a_batch_of_twenty_events_takes_as_many_statements_as_a_batch_of_one(
    db: sessionmaker[Session], engine: Engine, settings: Settings
) -> None:
    registry = Registry()
    registry.subscribe("test.thing", "inbox-only", lambda _s, _e: None)
    seed(db, 1, keys=["order:1"])
    one = _statements_of_a_batch(db, engine, settings, registry)
    seed(db, 20, keys=["order:1", "order:2", ""])
    twenty = _statements_of_a_batch(db, engine, settings, registry)

    assert one == twenty
    # claim; pending of the keys; one inbox insert; one done-update: no savepoint unless a
    # handler fails.
    assert twenty == ["SELECT", "SELECT", "INSERT", "UPDATE"]
    assert [r.status for r in outbox(db)] == [OutboxStatus.DONE] * 21
    assert all(r.attempts == 1 for r in outbox(db))


def test_a_handler_failing_mid_batch_costs_only_its_event_and_is_called_once(
    db: sessionmaker[Session], settings: Settings
) -> None:
    registry = Registry()
    flaky = Flaky(failures=1, only_seq={2})
    registry.subscribe("test.thing", *record_effect("first"))
    registry.subscribe("test.thing", "flaky", flaky)
    seen: list[int] = []

    def last(_session: Session, event: Event) -> None:
        seen.append(int(event.payload["seq"]))

    registry.subscribe("test.thing", "last", last)
    ids = seed(db, 5)

    stats = relay_once(db, settings, registry=registry)

    assert (stats.delivered, stats.failed, stats.held_back) == (4, 1, 0)
    assert [r.status for r in outbox(db)] == [OutboxStatus.DONE] * 2 + [OutboxStatus.PENDING] + [
        OutboxStatus.DONE
    ] * 2
    # The failing handler ran once for its event; the effects of the others stay once each.
    assert flaky.calls.count(2) == 1
    assert [e for e, _, _ in effect_rows(db, "first")] == ids
    assert sorted(e for e, _, _ in effect_rows(db, "flaky")) == sorted(ids[:2] + ids[3:])

    # Its retry applies only what is missing: "first" is not applied twice.
    later = relay_once(db, settings, registry=registry, now=outbox(db)[2].next_attempt_at)
    assert (later.delivered, later.failed) == (1, 0)
    assert [e for e, _, _ in effect_rows(db, "first")] == ids
    assert sorted(e for e, _, _ in effect_rows(db, "flaky")) == sorted(ids)


def test_a_batch_with_a_failing_handler_is_redone_with_savepoints_and_keeps_the_others(
    db: sessionmaker[Session], engine: Engine, settings: Settings
) -> None:
    registry = Registry()
    registry.subscribe("test.thing", *record_effect("first"))
    registry.subscribe("test.thing", "flaky", Flaky(failures=1, only_seq={1}))
    ids = seed(db, 3, keys=["order:1", "order:2", "order:3"])
    statements: list[str] = []

    def count(_c: object, _cur: object, stmt: str, *_a: object) -> None:
        statements.append(stmt.split()[0].upper())

    event.listen(engine, "before_cursor_execute", count)
    try:
        stats = relay_once(db, settings, registry=registry)
    finally:
        event.remove(engine, "before_cursor_execute", count)

    assert (stats.delivered, stats.failed) == (2, 1)
    # The fast attempt had no savepoint; the careful one that followed isolates the failure.
    assert "SAVEPOINT" in statements
    assert [e for e, _, _ in effect_rows(db, "first")] == ids
    assert sorted(e for e, _, _ in effect_rows(db, "flaky")) == sorted([ids[0], ids[2]])


def test_record_many_records_each_pair_once_and_forgets_a_rolled_back_one(
    db: sessionmaker[Session],
) -> None:
    with transaction(db) as s:
        assert record_many(s, [("mailer", "e-1"), ("mailer", "e-1"), ("export", "e-1")]) == {
            ("mailer", "e-1"),
            ("export", "e-1"),
        }
        assert record_many(s, [("mailer", "e-1"), ("mailer", "e-2")]) == {("mailer", "e-2")}
    with pytest.raises(RuntimeError), transaction(db) as s:
        assert record_many(s, [("mailer", "e-3")]) == {("mailer", "e-3")}
        raise RuntimeError("the effects failed")
    with transaction(db) as s:
        assert record_many(s, [("mailer", "e-3"), ("export", "e-1")]) == {("mailer", "e-3")}
        assert s.scalar(select(func.count()).select_from(InboxRecord)) == 4
        assert record_many(s, []) == set()
        with pytest.raises(ValueError):
            record_many(s, [("", "e-4")])
