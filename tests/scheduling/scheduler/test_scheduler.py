from __future__ import annotations

import time as wall
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from inventory.settings import Settings
from scheduling.scheduler.clock import ManualClock, SystemClock
from scheduling.scheduler.jobs import JobConfigError, JobContext, JobRegistry
from scheduling.scheduler.leader import FileLeader, Leader, PostgresLeader
from scheduling.scheduler.models import JobRun, JobState, RunStatus
from scheduling.scheduler.runner import Outcome, SchedulerProcess, SchedulerService
from tests.support.scheduler_helpers import (
    at,
    day_jobs,
    effect,
    effect_count,
    effects,
    outbox_count,
)

DAY = date(2027, 1, 20)

LeaderFactory = Callable[[], Leader]


@pytest.fixture
def make_leader(settings: Settings, tmp_path: Path) -> Iterator[LeaderFactory]:
    made: list[Leader] = []

    def factory() -> Leader:
        leader: Leader
        if settings.is_sqlite:
            leader = FileLeader(tmp_path / "scheduler.lock")
        else:
            leader = PostgresLeader(settings.database_url)
        made.append(leader)
        return leader

    yield factory
    for leader in made:
        leader.release()


def service(
    db: sessionmaker[Session],
    settings: Settings,
    leader: Leader,
    jobs: JobRegistry,
    clock: ManualClock,
) -> SchedulerService:
    return SchedulerService(db, settings, leader, jobs=jobs, clock=clock)


def drive(svc: SchedulerService, clock: ManualClock, until: datetime, step: timedelta) -> None:
    while clock.now() < until:
        clock.advance(step)
        svc.sweep(include_interval=True)


def test_each_job_of_a_simulated_day_runs_exactly_once_at_its_time(
    db: sessionmaker[Session], settings: Settings, make_leader: LeaderFactory
) -> None:
    clock = ManualClock(at(DAY, "03:00"))
    svc = service(db, settings, make_leader(), day_jobs(JobRegistry()), clock)
    svc.sweep(include_interval=True)  # 02:00 of the two-hourly job is within its grace
    drive(svc, clock, at(DAY + timedelta(days=1), "03:00"), timedelta(minutes=7))

    seen = effects(db)
    assert all(count == 1 for count in seen.values())
    assert seen[("test.batch_start", at(DAY, "04:00").isoformat())] == 1
    assert effect_count(db, "test.batch_start") == 1
    assert effect_count(db, "test.first_out") == 1
    assert effect_count(db, "test.cutoff") == 1
    # 02:00 (caught up at start) then 04:00 ... 02:00 next day.
    assert effect_count(db, "test.every_two_hours") == 13
    assert outbox_count(db, "job.run.done") == 16
    with db() as session:
        runs = session.scalars(select(JobRun)).all()
    assert {r.status for r in runs} == {RunStatus.DONE}
    assert all(r.attempts == 1 for r in runs)


def test_a_second_scheduler_does_nothing_while_the_first_leads(
    db: sessionmaker[Session], settings: Settings, make_leader: LeaderFactory
) -> None:
    clock = ManualClock(at(DAY, "03:50"))
    first = service(db, settings, make_leader(), day_jobs(JobRegistry()), clock)
    second = service(db, settings, make_leader(), day_jobs(JobRegistry()), clock)
    assert first.check_leadership() is True
    assert second.check_leadership() is False

    clock.set(at(DAY, "04:00"))
    assert second.sweep(include_interval=True) == []
    first.sweep(include_interval=True)
    assert effect_count(db, "test.batch_start") == 1

    # Even a second process that wrongly believes it leads cannot run 04:00 again.
    second.leader_since = clock.now()
    report = second.run_due("test.batch_start")
    assert report is not None and report.outcome is Outcome.ALREADY_DONE
    assert effect_count(db, "test.batch_start") == 1


def test_a_scheduler_stopped_over_four_and_back_at_four_twenty_starts_the_batch_once(
    db: sessionmaker[Session], settings: Settings, make_leader: LeaderFactory
) -> None:
    jobs = day_jobs(JobRegistry())
    clock = ManualClock(at(DAY, "03:30"))
    before = service(db, settings, make_leader(), jobs, clock)
    before.sweep(include_interval=True)
    before.leader.release()  # stopped at 03:30

    clock.set(at(DAY, "04:20"))
    after = service(db, settings, make_leader(), jobs, clock)
    reports = after.sweep(include_interval=True)
    assert [r.outcome for r in reports if r.job == "test.batch_start"] == [Outcome.DONE]
    drive(after, clock, at(DAY, "05:00"), timedelta(minutes=5))
    after.leader.release()

    # Restarted again the same morning: 04:00 is recorded, nothing runs twice.
    again = service(db, settings, make_leader(), jobs, clock)
    again.sweep(include_interval=True)
    assert effect_count(db, "test.batch_start") == 1
    with db() as session:
        run = session.scalars(select(JobRun).where(JobRun.job == "test.batch_start")).one()
    assert run.scheduled_for == at(DAY, "04:00")
    assert run.started_at == at(DAY, "04:20")


def test_a_scheduler_restarted_the_next_day_does_not_start_yesterdays_batch_again(
    db: sessionmaker[Session], settings: Settings, make_leader: LeaderFactory
) -> None:
    jobs = day_jobs(JobRegistry())
    clock = ManualClock(at(DAY, "03:55"))
    first = service(db, settings, make_leader(), jobs, clock)
    drive(first, clock, at(DAY, "04:30"), timedelta(minutes=5))
    first.leader.release()

    for restart in ("03:10", "04:20", "09:00"):
        clock.set(at(DAY + timedelta(days=1), restart))
        later = service(db, settings, make_leader(), jobs, clock)
        later.sweep(include_interval=True)
        later.leader.release()

    batch_runs = {k: v for k, v in effects(db).items() if k[0] == "test.batch_start"}
    assert batch_runs == {
        ("test.batch_start", at(DAY, "04:00").isoformat()): 1,
        ("test.batch_start", at(DAY + timedelta(days=1), "04:00").isoformat()): 1,
    }


def test_a_run_missed_by_longer_than_its_grace_is_not_run_late(
    db: sessionmaker[Session], settings: Settings, make_leader: LeaderFactory
) -> None:
    jobs = JobRegistry()
    jobs.register("test.batch_start", effect, {"trigger": "cron", "hour": 4})
    clock = ManualClock(at(DAY, "06:30"))  # grace is two hours
    svc = service(db, settings, make_leader(), jobs, clock)
    assert svc.sweep(include_interval=True) == []
    assert effect_count(db, "test.batch_start") == 0


def test_a_failing_job_is_recorded_rolled_back_retried_later_and_given_up_after_its_attempts(
    db: sessionmaker[Session], settings: Settings, make_leader: LeaderFactory
) -> None:
    calls: list[datetime] = []

    def broken(ctx: JobContext) -> None:
        calls.append(ctx.now())
        effect(ctx)  # written, then rolled back with the failure
        raise RuntimeError("mill 2 is not answering")

    jobs = JobRegistry()
    jobs.register("test.broken", broken, {"trigger": "cron", "hour": 4}, max_attempts=2)
    clock = ManualClock(at(DAY, "04:00"))
    svc = service(db, settings, make_leader(), jobs, clock)
    assert [r.outcome for r in svc.sweep(include_interval=True)] == [Outcome.FAILED]
    clock.set(at(DAY, "04:01"))
    assert [r.outcome for r in svc.sweep(include_interval=True)] == [Outcome.BACKING_OFF]
    clock.set(at(DAY, "04:10"))
    assert [r.outcome for r in svc.sweep(include_interval=True)] == [Outcome.FAILED]
    clock.set(at(DAY, "04:30"))
    assert [r.outcome for r in svc.sweep(include_interval=True)] == [Outcome.GAVE_UP]
    clock.set(at(DAY, "04:40"))
    assert svc.sweep(include_interval=True) == []

    assert len(calls) == 2
    assert effect_count(db, "test.broken") == 0
    assert outbox_count(db, "job.run.failed") == 2
    with db() as session:
        run = session.scalars(select(JobRun)).one()
        state = session.get(JobState, "test.broken")
    assert (run.status, run.attempts) == (RunStatus.FAILED, 2)
    assert run.error is not None and "mill 2 is not answering" in run.error
    assert state is not None and state.total_failures == 2 and state.consecutive_failures == 2


def test_a_run_left_running_by_a_dead_leader_is_taken_over_by_the_next_one(
    db: sessionmaker[Session], settings: Settings, make_leader: LeaderFactory
) -> None:
    jobs = JobRegistry()
    jobs.register("test.batch_start", effect, {"trigger": "cron", "hour": 4})
    with transaction(db) as session:
        session.add(
            JobRun(
                job="test.batch_start",
                scheduled_for=at(DAY, "04:00"),
                status=RunStatus.RUNNING,
                token="dead",
                attempts=1,
                runner="host:1:gone",
                started_at=at(DAY, "04:00"),
                result="",
            )
        )
    clock = ManualClock(at(DAY, "04:03"))
    svc = service(db, settings, make_leader(), jobs, clock)
    assert [r.outcome for r in svc.sweep(include_interval=True)] == [Outcome.DONE]
    with db() as session:
        run = session.scalars(select(JobRun)).one()
    assert (run.status, run.attempts, run.runner) == (RunStatus.DONE, 2, svc.instance)
    assert effect_count(db, "test.batch_start") == 1


def test_a_run_still_running_under_the_current_leader_is_left_alone_until_its_timeout(
    db: sessionmaker[Session], settings: Settings, make_leader: LeaderFactory
) -> None:
    jobs = JobRegistry()
    jobs.register(
        "test.batch_start", effect, {"trigger": "cron", "hour": 4}, timeout=timedelta(minutes=30)
    )
    clock = ManualClock(at(DAY, "03:59"))
    svc = service(db, settings, make_leader(), jobs, clock)
    svc.check_leadership()
    with transaction(db) as session:
        session.add(
            JobRun(
                job="test.batch_start",
                scheduled_for=at(DAY, "04:00"),
                status=RunStatus.RUNNING,
                token="alive",
                attempts=1,
                runner="other:2:busy",
                started_at=at(DAY, "04:00"),
                result="",
            )
        )
    clock.set(at(DAY, "04:10"))
    assert [r.outcome for r in svc.sweep(include_interval=True)] == [Outcome.BUSY]
    clock.set(at(DAY, "04:31"))
    assert [r.outcome for r in svc.sweep(include_interval=True)] == [Outcome.DONE]
    assert effect_count(db, "test.batch_start") == 1


def test_an_effect_whose_run_was_taken_over_meanwhile_is_rolled_back(
    db: sessionmaker[Session], settings: Settings, make_leader: LeaderFactory
) -> None:
    def slow_then_overtaken(ctx: JobContext) -> None:
        # Another process takes the run over while this one is still working on it.
        with transaction(ctx.sessions) as other:
            other.execute(update(JobRun).values(token="someone-else"))
        effect(ctx)

    jobs = JobRegistry()
    jobs.register("test.batch_start", slow_then_overtaken, {"trigger": "cron", "hour": 4})
    clock = ManualClock(at(DAY, "04:00"))
    svc = service(db, settings, make_leader(), jobs, clock)
    assert [r.outcome for r in svc.sweep(include_interval=True)] == [Outcome.LOST]
    assert effect_count(db, "test.batch_start") == 0
    assert outbox_count(db, "job.run.done") == 0


def test_interval_jobs_run_on_the_leader_every_interval_and_keep_no_run_records(
    db: sessionmaker[Session], settings: Settings, make_leader: LeaderFactory
) -> None:
    ran: list[datetime] = []
    jobs = JobRegistry()
    jobs.register(
        "test.relay", lambda ctx: ran.append(ctx.now()), {"trigger": "interval", "seconds": 30}
    )
    clock = ManualClock(at(DAY, "10:00"))
    svc = service(db, settings, make_leader(), jobs, clock)
    for _ in range(6):
        svc.sweep(include_interval=True)
        clock.advance(timedelta(seconds=10))
    assert ran == [at(DAY, "10:00"), at(DAY, "10:00") + timedelta(seconds=30)]
    with db() as session:
        assert session.scalars(select(JobRun)).all() == []
        state = session.get(JobState, "test.relay")
    assert state is not None and state.last_status == "done"


def test_a_trigger_the_scheduler_cannot_run_is_refused_at_registration() -> None:
    jobs = JobRegistry()
    with pytest.raises(JobConfigError):
        jobs.register("test.bad", effect, {"trigger": "date"})
    with pytest.raises(JobConfigError):
        jobs.register("test.bad", effect, {"trigger": "cron", "hour": 25})


def test_next_fire_times_are_read_in_shanghai_time() -> None:
    jobs = JobRegistry()
    spec = jobs.register("test.batch_start", effect, {"trigger": "cron", "hour": 4})
    # 21:00 UTC on the 19th is 05:00 on the 20th in Shanghai: next 04:00 is the 21st.
    nxt = spec.next_fire_time(datetime(2027, 1, 19, 21, 0, tzinfo=UTC))
    assert nxt == at(date(2027, 1, 21), "04:00")
    assert spec.latest_due(datetime(2027, 1, 19, 21, 0, tzinfo=UTC)) == at(DAY, "04:00")


def test_apscheduler_fires_cron_and_interval_jobs_in_real_time_through_the_run_records(
    db: sessionmaker[Session], settings: Settings, make_leader: LeaderFactory
) -> None:
    ticks: list[datetime] = []
    jobs = JobRegistry()
    jobs.register("test.every_second", effect, {"trigger": "cron", "second": "*"})
    jobs.register(
        "test.relay", lambda ctx: ticks.append(ctx.now()), {"trigger": "interval", "seconds": 1}
    )
    svc = SchedulerService(db, settings, make_leader(), jobs=jobs, clock=SystemClock())
    process = SchedulerProcess(svc, leader_check_seconds=0.5)
    process.start()
    try:
        wall.sleep(2.6)
    finally:
        process.shutdown()
    with db() as session:
        runs = session.scalars(select(JobRun).where(JobRun.job == "test.every_second")).all()
    assert len(runs) >= 2
    assert all(r.scheduled_for.microsecond == 0 and r.status is RunStatus.DONE for r in runs)
    assert all(count == 1 for count in effects(db).values())
    assert len(ticks) >= 2
    assert not svc.leader.held  # released on shutdown


def test_the_outbox_relay_job_delivers_events_to_their_subscribers_on_the_leader(
    db: sessionmaker[Session], settings: Settings, make_leader: LeaderFactory
) -> None:
    from functools import partial

    from inventory.events import Event, Registry, publish
    from inventory.relay import relay_once
    from scheduling.production.jobs import register_builtin_jobs
    from scheduling.scheduler.builtin import OUTBOX_RELAY, register_outbox_relay

    delivered: list[str] = []

    def on_effect(session: Session, event: Event) -> None:
        delivered.append(event.payload["n"])

    subscribers = Registry()
    subscribers.subscribe("test.relayed", "test.relay-consumer", on_effect)
    with transaction(db) as session:
        for n in ("a", "b", "c"):
            publish(session, "test.relayed", {"n": n}, key="test:relay")
    builtin = JobRegistry()
    register_builtin_jobs(settings, jobs=builtin)
    assert builtin.get(OUTBOX_RELAY).interval == timedelta(seconds=settings.relay_interval_seconds)

    jobs = JobRegistry()
    register_outbox_relay(partial(relay_once, registry=subscribers), settings, jobs=jobs)
    svc = service(db, settings, make_leader(), jobs, ManualClock(at(DAY, "10:00")))
    svc.sweep(include_interval=True)
    assert delivered == ["a", "b", "c"]


def test_the_embedded_scheduler_runs_inside_the_process_and_frees_the_lock_when_left(
    db: sessionmaker[Session], settings: Settings
) -> None:
    from inventory.runtime import Runtime
    from scheduling.scheduler.leader import probe_leader
    from scheduling.scheduler.runner import scheduler_running

    runtime = Runtime(settings, db.kw["bind"], db)
    jobs = JobRegistry()
    jobs.register("test.every_second", effect, {"trigger": "cron", "second": "*"})
    with scheduler_running(runtime, jobs=jobs, leader_check_seconds=0.5) as process:
        wall.sleep(1.5)
        assert process.service.is_leader
        assert probe_leader(settings, runtime.engine).held
    assert not probe_leader(settings, runtime.engine).held
    assert effect_count(db, "test.every_second") >= 1
