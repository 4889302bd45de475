"""`gaogan events list|retry|relay` through Click's runner, on the test database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from inventory.events import Event, publish, subscribe
from inventory.models import OutboxEvent, OutboxStatus
from inventory.settings import Settings
from shop.cli import cli


def run(settings: Settings, *args: str) -> Result:
    env = {
        "GAOGAN_ENV": "test",
        "GAOGAN_INSTANCE": str(settings.instance_path),
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
        "GAOGAN_LOG_JSON": "false",
    }
    return CliRunner().invoke(cli, ["events", *args], env=env, catch_exceptions=False)


def add_event(
    db: sessionmaker[Session],
    event_type: str,
    *,
    status: OutboxStatus = OutboxStatus.PENDING,
    key: str = "",
    attempts: int = 0,
    error: str | None = None,
) -> OutboxEvent:
    with transaction(db) as session:
        row = publish(session, event_type, {"n": 1}, key=key)
        row.status = status
        row.attempts = attempts
        row.last_error = error
        # 2026-01-31 20:30 UTC is 2026-02-01 04:30 in Tianjin.
        row.occurred_at = datetime(2026, 1, 31, 20, 30, tzinfo=UTC)
        row.next_attempt_at = datetime(2026, 1, 31, 20, 31, tzinfo=UTC)
    return row


def reload(db: sessionmaker[Session], row_id: int) -> OutboxEvent:
    with db() as session:
        row = session.scalars(select(OutboxEvent).where(OutboxEvent.id == row_id)).one()
        return row


def test_events_list_shows_a_readable_table_with_times_in_shanghai(
    db: sessionmaker[Session], settings: Settings
) -> None:
    add_event(db, "stock.reserved", key="order:1")
    add_event(
        db,
        "order.paid",
        status=OutboxStatus.DEAD,
        attempts=8,
        error="mailer: SMTPError: 421 try later",
    )

    result = run(settings, "list")

    assert result.exit_code == 0, result.output
    header, rule, newest, oldest = result.output.splitlines()
    assert header.split()[:5] == ["id", "type", "key", "status", "tries"]
    assert set(rule.replace(" ", "")) == {"-"}
    assert newest.split()[1:5] == ["order.paid", "-", "dead", "8"]
    assert "mailer: SMTPError: 421 try later" in newest
    assert "2026-02-01 04:30:00" in oldest
    assert "2026-02-01 04:31:00" in oldest  # next try, shown while pending


def test_events_list_filters_by_status_and_type_and_limits(
    db: sessionmaker[Session], settings: Settings
) -> None:
    add_event(db, "stock.reserved")
    add_event(db, "stock.reserved", status=OutboxStatus.DONE)
    add_event(db, "lot.produced", status=OutboxStatus.DONE)
    add_event(db, "lot.produced", status=OutboxStatus.DONE)

    done = run(settings, "list", "--status", "done", "--type", "lot.produced", "--limit", "1")
    assert done.exit_code == 0
    assert len(done.output.splitlines()) == 3
    assert "lot.produced" in done.output and "stock.reserved" not in done.output

    assert run(settings, "list", "--status", "dead").output.strip() == "No events."
    assert run(settings, "list", "--status", "lost").exit_code == 2


def test_events_retry_requeues_one_dead_event_by_event_id_or_row_id(
    db: sessionmaker[Session], settings: Settings
) -> None:
    first = add_event(db, "order.paid", status=OutboxStatus.DEAD, attempts=8, error="boom")
    second = add_event(db, "order.paid", status=OutboxStatus.DEAD, attempts=8, error="boom")

    by_uuid = run(settings, "retry", first.event_id)
    by_id = run(settings, "retry", str(second.id))

    assert by_uuid.exit_code == 0 and by_id.exit_code == 0, by_uuid.output + by_id.output
    assert f"Re-queued event {first.id}" in by_uuid.output
    for row_id in (first.id, second.id):
        row = reload(db, row_id)
        assert (row.status, row.attempts) == (OutboxStatus.PENDING, 0)
        assert row.next_attempt_at > datetime(2026, 1, 31, 20, 31, tzinfo=UTC)
        assert row.last_error == "boom"


def test_events_retry_all_dead_requeues_only_the_dead(
    db: sessionmaker[Session], settings: Settings
) -> None:
    dead = [add_event(db, "order.paid", status=OutboxStatus.DEAD, attempts=8) for _ in range(3)]
    done = add_event(db, "order.paid", status=OutboxStatus.DONE, attempts=1)

    result = run(settings, "retry", "--all-dead")

    assert result.exit_code == 0
    assert result.output.strip() == "Re-queued 3 dead events."
    assert {reload(db, r.id).status for r in dead} == {OutboxStatus.PENDING}
    assert reload(db, done.id).status is OutboxStatus.DONE


def test_events_retry_refuses_a_done_event_an_unknown_one_and_a_muddled_call(
    db: sessionmaker[Session], settings: Settings
) -> None:
    done = add_event(db, "order.paid", status=OutboxStatus.DONE, attempts=1)

    refused = run(settings, "retry", done.event_id)
    unknown = run(settings, "retry", "no-such-event")
    both = run(settings, "retry", done.event_id, "--all-dead")
    neither = run(settings, "retry")

    assert refused.exit_code == 1
    assert "is done; only dead events can be retried" in refused.output
    assert unknown.exit_code == 1 and "no event 'no-such-event'" in unknown.output
    assert both.exit_code == 2 and neither.exit_code == 2
    assert reload(db, done.id).status is OutboxStatus.DONE


delivered_by_cli: list[str] = []


@subscribe("test.cli-relay", "tests.cli-relay-recorder")
def _record(session: Session, event: Event) -> None:
    delivered_by_cli.append(event.event_id)


def test_events_relay_once_delivers_a_batch_to_the_registered_subscribers(
    db: sessionmaker[Session], settings: Settings
) -> None:
    row = add_event(db, "test.cli-relay")
    row_without_subscriber = add_event(db, "test.cli-relay-unheard")
    delivered_by_cli.clear()

    result = run(settings, "relay", "--once")

    assert result.exit_code == 0, result.output
    assert "claimed 2, delivered 2, failed 0, dead 0" in result.output
    assert delivered_by_cli == [row.event_id]
    assert reload(db, row.id).status is OutboxStatus.DONE
    assert reload(db, row_without_subscriber.id).status is OutboxStatus.DONE


@pytest.mark.parametrize("args", [["--help"], ["list", "--help"], ["relay", "--help"]])
def test_events_help_needs_no_database(args: list[str]) -> None:
    result = CliRunner().invoke(cli, ["events", *args], env={"DATABASE_URL": "nonsense://"})
    assert result.exit_code == 0
    assert "Usage:" in result.output


@pytest.mark.slow
def test_events_relay_runs_in_the_foreground_until_sigterm_and_then_stops_cleanly(
    db: sessionmaker[Session], settings: Settings
) -> None:
    rows = [add_event(db, "test.cli-loop") for _ in range(3)]
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).resolve().parents[3]),
        "GAOGAN_ENV": "test",
        "GAOGAN_INSTANCE": str(settings.instance_path),
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
        "GAOGAN_RELAY_INTERVAL": "1",
        "GAOGAN_LOG_JSON": "false",
    }
    relay = subprocess.Popen(
        [sys.executable, "-c", "from shop.cli import main; main()", "events", "relay"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if {reload(db, r.id).status for r in rows} == {OutboxStatus.DONE}:
                break
            time.sleep(0.05)
        relay.send_signal(signal.SIGTERM)
        output, _ = relay.communicate(timeout=15)
    finally:
        if relay.poll() is None:
            relay.kill()
    text = output.decode()
    assert relay.returncode == 0, text
    assert "Relaying events (batch 200" in text  # GAOGAN_RELAY_BATCH default
    assert "Stopping after the current batch (SIGTERM)." in text
    assert "Stopped. In all: claimed 3, delivered 3" in text
