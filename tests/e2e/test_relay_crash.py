"""The issue's check: a relay process killed with SIGKILL in the middle of a batch loses no
event, and a consumer's effect is applied exactly once after restart.

Runs a real relay process (tests/support/relay_crash_worker.py) against the test database, on SQLite
and on PostgreSQL alike.
"""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from sqlalchemy import Engine, Select, create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from inventory.events import publish
from inventory.models import InboxRecord, OutboxEvent, OutboxStatus
from inventory.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
WORKER = ROOT / "tests" / "support" / "relay_crash_worker.py"
EVENTS = 200
BATCH = 20


def load_worker() -> ModuleType:
    # By path, so the test does not depend on tests/ being (or not being) a package.
    spec = importlib.util.spec_from_file_location("relay_crash_worker", WORKER)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


worker = load_worker()


@pytest.fixture
def crash_effects(engine: Engine, db: sessionmaker[Session]) -> Iterator[None]:
    worker.metadata.drop_all(engine)
    worker.metadata.create_all(engine)
    yield
    worker.metadata.drop_all(engine)


class Observer:
    """Reads the database the way an outsider would.

    A plain engine, not the application's: on SQLite every application transaction begins
    IMMEDIATE and would queue behind the relay's open batch, hiding exactly the moment the
    test looks for. A plain SQLite read in WAL mode sees the last commit without waiting.
    """

    def __init__(self, url: str) -> None:
        self.engine = create_engine(url)

    def count(self, stmt: Select[int]) -> int:
        with self.engine.connect() as conn:
            return conn.execute(stmt).scalar_one()

    def effects(self) -> int:
        return self.count(select(func.count()).select_from(worker.effects))

    def pending(self) -> int:
        return self.count(
            select(func.count())
            .select_from(OutboxEvent)
            .where(OutboxEvent.status == OutboxStatus.PENDING)
        )


def start_relay(settings: Settings, journal: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "GAOGAN_ENV": "test",
        "GAOGAN_INSTANCE": str(settings.instance_path),
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
        "GAOGAN_RELAY_BATCH": str(BATCH),
        "GAOGAN_RELAY_INTERVAL": "1",
        "GAOGAN_LOG_JSON": "false",
        "CRASH_JOURNAL": str(journal),
        "CRASH_SLEEP": "0.01",
    }
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, str(WORKER)], env=env, stdout=out, stderr=subprocess.STDOUT
        )


def journal_lines(journal: Path) -> int:
    return len(journal.read_text().splitlines()) if journal.exists() else 0


@pytest.mark.slow
def test_a_relay_killed_mid_batch_loses_no_event_and_applies_each_effect_once_after_restart(
    db: sessionmaker[Session], settings: Settings, crash_effects: None, tmp_path: Path
) -> None:
    with transaction(db) as session:
        seeded = {publish(session, worker.EVENT_TYPE, {"n": i}).event_id for i in range(EVENTS)}
    observer = Observer(settings.database_url)
    journal, log = tmp_path / "journal.txt", tmp_path / "relay.log"

    first = start_relay(settings, journal, log)
    try:
        # Kill once two batches are committed and the third is well under way: its handlers
        # have run (journal) but its transaction is open (effects not visible).
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            committed, handled = observer.effects(), journal_lines(journal)
            if committed >= 2 * BATCH and 2 <= handled - committed <= BATCH // 2:
                break
            assert first.poll() is None, log.read_text()
            time.sleep(0.002)
        else:
            pytest.fail(f"the relay never got mid-batch: {log.read_text()}")
        first.send_signal(signal.SIGKILL)
        assert first.wait(timeout=10) == -signal.SIGKILL
    finally:
        if first.poll() is None:
            first.kill()

    committed_at_kill, handled_at_kill = observer.effects(), journal_lines(journal)
    assert committed_at_kill % BATCH == 0, "a batch must commit whole or not at all"
    assert handled_at_kill > committed_at_kill, "the kill must land with a batch in flight"
    assert committed_at_kill < EVENTS
    assert observer.pending() == EVENTS - committed_at_kill

    second = start_relay(settings, journal, log)
    try:
        deadline = time.monotonic() + 60
        while observer.pending() and time.monotonic() < deadline:
            assert second.poll() is None, log.read_text()
            time.sleep(0.05)
        second.send_signal(signal.SIGTERM)
        assert second.wait(timeout=15) == 0, log.read_text()
    finally:
        if second.poll() is None:
            second.kill()

    with db() as session:
        rows = list(session.scalars(select(OutboxEvent)))
        applied = list(session.execute(select(worker.effects.c.event_id, worker.effects.c.pid)))
        inbox = session.scalar(select(func.count()).select_from(InboxRecord))
    assert len(rows) == EVENTS
    assert {r.status for r in rows} == {OutboxStatus.DONE}
    # The killed batch's attempts rolled back with it: no event was charged for the crash.
    assert {r.attempts for r in rows} == {1}
    assert all(r.last_error is None for r in rows)
    assert len(applied) == EVENTS
    assert {event_id for event_id, _ in applied} == seeded
    assert inbox == EVENTS
    by_pid: dict[int, int] = {}
    for _, pid in applied:
        by_pid[pid] = by_pid.get(pid, 0) + 1
    assert by_pid == {first.pid: committed_at_kill, second.pid: EVENTS - committed_at_kill}
    # Every event the killed batch had handled was handled again, once, by the second relay.
    assert journal_lines(journal) == handled_at_kill + (EVENTS - committed_at_kill)
    observer.engine.dispose()
