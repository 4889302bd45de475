"""Two real `gaogan scheduler` processes on one PostgreSQL database over a simulated day."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time as wall
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from inventory.settings import Settings
from scheduling.scheduler.clock import FileClock
from scheduling.scheduler.jobs import JobRegistry
from scheduling.scheduler.leader import probe_leader
from scheduling.scheduler.models import JobRun, RunStatus
from tests.support.scheduler_helpers import at, day_jobs, effects

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2027, 1, 20)
TICK_SECONDS = 0.2


class Proc:
    def __init__(self, settings: Settings, clock_file: Path, log: Path) -> None:
        env = dict(os.environ)
        env.update(
            PYTHONPATH=str(ROOT),
            GAOGAN_ENV="test",
            GAOGAN_INSTANCE=str(settings.instance_path),
            DATABASE_URL=settings.database_url,
            SECRET_KEY=settings.secret_key,
            GAOGAN_LOG_JSON="false",
        )
        self.log = log
        self.popen = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "tests" / "support" / "scheduler_process.py"),
                "scheduler",
                "--clock-file",
                str(clock_file),
                "--tick",
                str(TICK_SECONDS),
            ],
            env=env,
            stdout=log.open("wb"),
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.popen.pid

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.kill()
            self.popen.wait(10)


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    started = wall.monotonic()
    while wall.monotonic() - started < timeout:
        if condition():
            return wall.monotonic() - started
        wall.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def leader_pid(settings: Settings, engine: Engine) -> int | None:
    info = probe_leader(settings, engine)
    if not info.held:
        return None
    return int(info.holder.rsplit(":", 1)[1])


def expected_runs(jobs: JobRegistry, start: datetime, end: datetime) -> set[tuple[str, str]]:
    expected = set()
    for spec in jobs.all():
        first = spec.latest_due(start) or start
        for moment in spec.fire_times(first, end):
            expected.add((spec.name, moment.isoformat()))
    return expected


def done_runs(db: sessionmaker[Session]) -> set[tuple[str, str]]:
    with db() as session:
        rows = session.execute(
            select(JobRun.job, JobRun.scheduled_for).where(JobRun.status == RunStatus.DONE)
        ).all()
    return {(job, when.astimezone(at(DAY, "00:00").tzinfo).isoformat()) for job, when in rows}


@pytest.fixture
def procs() -> Iterator[list[Proc]]:
    started: list[Proc] = []
    yield started
    for proc in started:
        proc.stop()


@pytest.mark.postgres
@pytest.mark.slow
def test_two_scheduler_processes_run_each_job_once_and_a_killed_leader_is_replaced(
    db: sessionmaker[Session],
    settings: Settings,
    engine: Engine,
    tmp_path: Path,
    procs: list[Proc],
) -> None:
    jobs = day_jobs(JobRegistry())
    clock_file = tmp_path / "clock"
    start = at(DAY, "03:30")
    FileClock.write(clock_file, start)

    procs.append(Proc(settings, clock_file, tmp_path / "a.log"))
    wait_for(lambda: leader_pid(settings, engine) == procs[0].pid, 30, "the first leader")
    procs.append(Proc(settings, clock_file, tmp_path / "b.log"))
    wait_for(lambda: b"scheduler " in (tmp_path / "b.log").read_bytes(), 30, "the standby")

    moment = start
    end = at(DAY + timedelta(days=1), "04:30")
    takeover_seconds = None
    while moment < end:
        moment += timedelta(minutes=30)
        FileClock.write(clock_file, moment)
        want = expected_runs(jobs, start, moment)
        wait_for(lambda want=want: want <= done_runs(db), 20, f"the runs due by {moment}")
        if moment == at(DAY, "12:00"):
            leader = next(p for p in procs if p.pid == leader_pid(settings, engine))
            other = next(p for p in procs if p is not leader)
            leader.popen.send_signal(signal.SIGKILL)
            takeover_seconds = wait_for(
                lambda other=other: leader_pid(settings, engine) == other.pid,
                60,
                "the standby to take over",
            )

    assert takeover_seconds is not None and takeover_seconds < 5
    seen = effects(db)
    assert set(seen) == expected_runs(jobs, start, end)
    assert all(count == 1 for count in seen.values()), seen
    assert ("test.batch_start", at(DAY + timedelta(days=1), "04:00").isoformat()) in seen
    with db() as session:
        runners = {r.split(":")[1] for r in session.scalars(select(JobRun.runner))}
    assert runners == {str(procs[0].pid), str(procs[1].pid)}

    # SIGTERM: the survivor finishes, frees the lock and exits cleanly.
    survivor = next(p for p in procs if p.popen.poll() is None)
    survivor.popen.send_signal(signal.SIGTERM)
    assert survivor.popen.wait(20) == 0
    assert probe_leader(settings, engine).held is False
