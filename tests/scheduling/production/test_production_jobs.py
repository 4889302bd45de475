"""The 04:00 run driven by the scheduler over a simulated day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from inventory.materials import verify_ledger
from inventory.models import OutboxEvent
from inventory.settings import Settings
from scheduling.production.batches import get_batch
from scheduling.production.jobs import register_production_jobs
from scheduling.production.models import BatchStatus
from scheduling.refs import register_ref_provider, unregister_ref_provider
from scheduling.scheduler.clock import ManualClock
from scheduling.scheduler.jobs import JobRegistry
from scheduling.scheduler.leader import FileLeader, Leader, PostgresLeader
from scheduling.scheduler.runner import SchedulerService
from tests.support.production_floor import CLASSIC, DAY, OSMANTHUS, Plant, build_plant, local


@pytest.fixture
def plant(db: sessionmaker[Session]) -> Iterator[Plant]:
    built = build_plant(db)
    register_ref_provider("booking", built.provider)
    yield built
    unregister_ref_provider("booking")


class Schedulers:
    def __init__(self, db: sessionmaker[Session], settings: Settings, tmp: Path) -> None:
        self.db, self.settings, self.tmp = db, settings, tmp
        self.jobs = JobRegistry()
        register_production_jobs(settings, jobs=self.jobs)
        self.clock = ManualClock(local(DAY, 3, 0))
        self.running: list[SchedulerService] = []

    def start(self) -> SchedulerService:
        leader: Leader = (
            FileLeader(self.tmp / "lock")
            if self.settings.is_sqlite
            else PostgresLeader(self.settings.database_url)
        )
        svc = SchedulerService(self.db, self.settings, leader, jobs=self.jobs, clock=self.clock)
        self.running.append(svc)
        svc.sweep(include_interval=True)
        return svc

    def stop(self, svc: SchedulerService) -> None:
        svc.leader.release()
        self.running.remove(svc)

    def run_until(self, svc: SchedulerService, hh: int, mm: int = 0, day_offset: int = 0) -> None:
        until = local(DAY + timedelta(days=day_offset), hh, mm)
        while self.clock.now() < until:
            self.clock.advance(timedelta(minutes=5))
            for s in self.running:
                s.sweep(include_interval=True)


@pytest.fixture
def schedulers(
    db: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> Iterator[Schedulers]:
    made = Schedulers(db, settings, tmp_path)
    yield made
    for svc in list(made.running):
        made.stop(svc)


def count(db: sessionmaker[Session], event_type: str) -> int:
    with db() as session:
        return len(
            list(session.scalars(select(OutboxEvent.id).where(OutboxEvent.type == event_type)))
        )


def take_orders(plant: Plant) -> None:
    plant.order("order:1", {CLASSIC: 20, OSMANTHUS: 10})
    plant.order("order:2", {CLASSIC: 30})
    plant.booking("booking:1", {CLASSIC: 25, OSMANTHUS: 20}, local(DAY, 6, 0))
    plant.booking("booking:2", {CLASSIC: 25}, local(DAY, 6, 30))


def test_a_scheduler_stopped_over_four_and_restarted_at_four_twenty_starts_the_batch_once(
    plant: Plant, schedulers: Schedulers, db: sessionmaker[Session]
) -> None:
    take_orders(plant)
    batch = plant.batch({CLASSIC: 100, OSMANTHUS: 40})
    first = schedulers.start()
    schedulers.run_until(first, 3, 55)
    schedulers.stop(first)  # down over 04:00

    schedulers.clock.set(local(DAY, 4, 20))
    second = schedulers.start()
    with db() as session:
        assert get_batch(session, batch.ref).status is BatchStatus.STARTED
    schedulers.stop(second)
    third = schedulers.start()  # restarted again a minute later: nothing twice
    schedulers.run_until(third, 7, 0)
    assert count(db, "batch.started") == 1

    # Nobody recorded the output: completed as planned at 06:00, every order ready on lots.
    with db() as session:
        done = get_batch(session, batch.ref)
        assert (done.status, done.completed_by) == (BatchStatus.COMPLETED, "default")
        assert verify_ledger(session) == []
    assert count(db, "batch.completed") == 1
    assert count(db, "order.ready") == 4


def test_a_scheduler_restarted_the_next_day_does_not_start_yesterdays_batch_twice(
    plant: Plant, schedulers: Schedulers, db: sessionmaker[Session]
) -> None:
    batch = plant.batch({CLASSIC: 100}, rice_g=30_000)
    svc = schedulers.start()
    schedulers.run_until(svc, 4, 30)
    schedulers.stop(svc)
    with transaction(db) as session:
        assert get_batch(session, batch.ref).status is BatchStatus.STARTED

    schedulers.clock.set(local(DAY + timedelta(days=1), 4, 20))
    again = schedulers.start()
    schedulers.run_until(again, 5, 0, day_offset=1)
    assert count(db, "batch.started") == 1
    with db() as session:
        # Yesterday's batch was still open: the default completion finished it, once.
        assert get_batch(session, batch.ref).status is BatchStatus.COMPLETED
    assert count(db, "batch.completed") == 1


def test_two_schedulers_over_the_day_start_and_complete_the_batch_exactly_once(
    plant: Plant, schedulers: Schedulers, db: sessionmaker[Session]
) -> None:
    take_orders(plant)
    plant.batch({CLASSIC: 100, OSMANTHUS: 40})
    first = schedulers.start()
    schedulers.start()
    schedulers.run_until(first, 8, 0)
    assert (count(db, "batch.started"), count(db, "batch.completed")) == (1, 1)
    assert count(db, "order.ready") == 4
