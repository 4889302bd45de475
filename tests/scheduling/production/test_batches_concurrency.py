"""The manager and the default-completion job (or two managers) acting on one batch at once."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from inventory.errors import DomainError
from inventory.materials import verify_ledger
from inventory.models import LedgerEntry, Lot, OutboxEvent
from scheduling.production.batches import BatchStateError, complete_batch, start_batch
from scheduling.refs import register_ref_provider, unregister_ref_provider
from tests.support.production_floor import CLASSIC, DAY, OSMANTHUS, Plant, build_plant, local


@pytest.fixture
def plant(db: sessionmaker[Session]) -> Iterator[Plant]:
    built = build_plant(db)
    register_ref_provider("booking", built.provider)
    yield built
    unregister_ref_provider("booking")


def race(*actions: Callable[[], object]) -> list[BaseException | None]:
    barrier = threading.Barrier(len(actions))
    outcomes: list[BaseException | None] = [None] * len(actions)

    def run(i: int, action: Callable[[], object]) -> None:
        barrier.wait()
        try:
            action()
        except BaseException as exc:
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i, a)) for i, a in enumerate(actions)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return outcomes


@pytest.mark.postgres
def test_two_starts_of_one_batch_at_once_consume_the_rice_once(
    plant: Plant, db: sessionmaker[Session]
) -> None:
    batch = plant.batch({CLASSIC: 100})

    def start() -> None:
        with transaction(db) as session:
            start_batch(session, batch.ref, now=local(DAY, 4))

    outcomes = race(start, start)
    assert sum(o is None for o in outcomes) == 1
    assert all(o is None or isinstance(o, BatchStateError) for o in outcomes)
    with db() as session:
        consumed = session.scalar(
            select(func.sum(LedgerEntry.quantity)).where(
                LedgerEntry.reference == f"batch:{batch.ref}"
            )
        )
        assert consumed == -(60_000 + 8_000)
        assert verify_ledger(session) == []


@pytest.mark.postgres
def test_the_manager_and_the_default_completion_at_once_complete_the_batch_once(
    plant: Plant, db: sessionmaker[Session]
) -> None:
    plant.order("order:1", {CLASSIC: 50})
    plant.booking("booking:1", {CLASSIC: 50, OSMANTHUS: 40}, local(DAY, 6))
    batch = plant.batch({CLASSIC: 100, OSMANTHUS: 40})
    with transaction(db) as session:
        start_batch(session, batch.ref, now=local(DAY, 4))

    def by(who: str, classic: int) -> Callable[[], None]:
        def complete() -> None:
            with transaction(db) as session:
                complete_batch(
                    session,
                    batch.ref,
                    {CLASSIC: classic, OSMANTHUS: 40},
                    made_at=local(DAY, 6),
                    completed_by=who,
                )

        return complete

    outcomes = race(by("manager", 95), by("default", 100))
    assert sum(o is None for o in outcomes) == 1
    assert all(o is None or isinstance(o, DomainError) for o in outcomes)
    with db() as session:
        assert (
            session.scalar(select(func.count()).select_from(Lot).where(Lot.batch_ref == batch.ref))
            == 2
        )
        completed = session.scalar(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.type == "batch.completed")
        )
        assert completed == 1
        assert verify_ledger(session) == []
