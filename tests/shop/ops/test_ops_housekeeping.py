"""Housekeeping: after the retention period done rows go; pending and dead ones stay."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from inventory.events import publish
from inventory.models import InboxRecord, OutboxEvent, OutboxStatus
from inventory.settings import Settings
from scheduling.scheduler.clock import ManualClock
from scheduling.scheduler.housekeeping import PRUNE, register_housekeeping_jobs
from scheduling.scheduler.jobs import JobContext, JobRegistry
from scheduling.scheduler.models import JobRun, RunStatus
from shop.cli import cli

NOW = datetime(2027, 1, 20, 18, 30, tzinfo=UTC)  # 02:30 in Shanghai, when the job runs
OLD = NOW - timedelta(days=15)  # past the default retention of 14 days
RECENT = NOW - timedelta(days=2)
# Events are aged by the wall clock that stamped them, job runs by the scheduler's clock.
WALL = datetime.now(UTC)
EVENT_OLD = WALL - timedelta(days=15)
EVENT_RECENT = WALL - timedelta(days=2)


def outbox(
    db: sessionmaker[Session], name: str, status: OutboxStatus, when: datetime, *, forwarded: bool
) -> str:
    with transaction(db) as session:
        row = publish(session, f"test.{name}", {"name": name})
        row.status = status
        row.occurred_at = when
        row.processed_at = when if status is not OutboxStatus.PENDING else None
        row.forwarded_at = when if forwarded else None
        session.add(InboxRecord(consumer="tests.consumer", event_id=row.event_id, applied_at=when))
        return row.event_id


def job_run(db: sessionmaker[Session], name: str, status: RunStatus, when: datetime) -> None:
    with transaction(db) as session:
        session.add(
            JobRun(
                job=name,
                scheduled_for=when,
                status=status,
                token="t" * 32,
                attempts=1,
                runner="test",
                started_at=when,
                finished_at=None if status is RunStatus.RUNNING else when,
                result="",
            )
        )


@pytest.mark.parametrize("broker", ["none", "nats"])
def test_after_the_retention_done_rows_are_gone_and_pending_and_dead_ones_untouched(
    db: sessionmaker[Session], settings: Settings, broker: str
) -> None:
    settings = settings.with_overrides(broker=broker, prune_batch_size=2)
    events = {
        "old_done": outbox(db, "old_done", OutboxStatus.DONE, EVENT_OLD, forwarded=True),
        "old_done_2": outbox(db, "old_done_2", OutboxStatus.DONE, EVENT_OLD, forwarded=True),
        "old_done_3": outbox(db, "old_done_3", OutboxStatus.DONE, EVENT_OLD, forwarded=True),
        "old_done_unforwarded": outbox(
            db, "old_done_unforwarded", OutboxStatus.DONE, EVENT_OLD, forwarded=False
        ),
        "recent_done": outbox(db, "recent_done", OutboxStatus.DONE, EVENT_RECENT, forwarded=True),
        "old_pending": outbox(db, "old_pending", OutboxStatus.PENDING, EVENT_OLD, forwarded=True),
        "old_dead": outbox(db, "old_dead", OutboxStatus.DEAD, EVENT_OLD, forwarded=True),
    }
    job_run(db, "test.old_done", RunStatus.DONE, OLD)
    job_run(db, "test.old_failed", RunStatus.FAILED, OLD)
    job_run(db, "test.old_running", RunStatus.RUNNING, OLD)
    job_run(db, "test.recent_done", RunStatus.DONE, RECENT)

    jobs = JobRegistry()
    register_housekeeping_jobs(settings, jobs=jobs)
    spec = jobs.get(PRUNE)
    assert spec.trigger == {"trigger": "cron", "hour": 2, "minute": 30}
    with db() as session:
        ctx = JobContext(PRUNE, db, settings, NOW, ManualClock(NOW), session)
        result = spec.func(ctx)
    gone = {"old_done", "old_done_2", "old_done_3"}
    if broker == "none":
        gone.add("old_done_unforwarded")  # nothing to wait for without a broker
    # The relay is done with every old done event, so their inbox records go either way.
    assert (
        str(result) == f"{len(gone)} outbox event(s), 4 inbox record(s) pruned, 2 job run(s) pruned"
    )

    with db() as session:
        left = set(session.scalars(select(OutboxEvent.event_id)))
        inbox = set(session.scalars(select(InboxRecord.event_id)))
        runs = set(session.scalars(select(JobRun.job)))
    assert left == {v for k, v in events.items() if k not in gone}
    # Inbox records of pending and dead events stay: a re-queued dead event must find them.
    assert inbox == {events["recent_done"], events["old_pending"], events["old_dead"]}
    assert runs == {"test.old_running", "test.recent_done"}


def test_events_stats_and_prune_from_the_command_line(
    db: sessionmaker[Session], settings: Settings
) -> None:
    now = datetime.now(UTC)
    outbox(db, "a", OutboxStatus.DONE, now - timedelta(days=30), forwarded=False)
    outbox(db, "b", OutboxStatus.PENDING, now - timedelta(minutes=5), forwarded=False)
    outbox(db, "c", OutboxStatus.DEAD, now - timedelta(days=30), forwarded=False)
    env = {
        "GAOGAN_ENV": "test",
        "GAOGAN_INSTANCE": str(settings.instance_path),
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
        "GAOGAN_LOG_JSON": "false",
        "GAOGAN_BROKER": "nats",
    }
    runner = CliRunner()
    stats = runner.invoke(cli, ["events", "stats"], env=env, catch_exceptions=False)
    assert stats.exit_code == 0
    lines = dict(line.split(None, 1) for line in stats.output.splitlines())
    assert lines["pending"] == "1" and lines["done"] == "1" and lines["dead"] == "1"
    assert lines["inbox"] == "3"
    assert lines["relay"].startswith("lag 3")  # the pending event is about 300 s old
    assert "3 waiting" in lines["broker"]
    # With a broker the done event is kept until the broker has it; without, it goes.
    kept = runner.invoke(cli, ["events", "prune"], env=env, catch_exceptions=False)
    assert kept.output.startswith("0 outbox event(s), 1 inbox record(s)")
    env["GAOGAN_BROKER"] = "none"
    pruned = runner.invoke(cli, ["events", "prune"], env=env, catch_exceptions=False)
    assert pruned.output.startswith("1 outbox event(s), 0 inbox record(s)")
