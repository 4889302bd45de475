"""Graceful shutdown with real processes: SIGTERM lets the running job finish and hands over."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from inventory.settings import Settings
from scheduling.scheduler.leader import probe_leader
from scheduling.scheduler.models import JobRun, RunStatus
from tests.shop.ops.slow_job_scheduler import SLOW_JOB
from tests.support.scheduler_helpers import effect_count

ROOT = Path(__file__).resolve().parents[3]
LEADER_CHECK_SECONDS = 2.0


def start(settings: Settings, tmp_path: Path, name: str) -> subprocess.Popen[bytes]:
    env = dict(os.environ)
    env.update(
        PYTHONPATH=str(ROOT),
        GAOGAN_ENV="test",
        GAOGAN_INSTANCE=str(settings.instance_path),
        DATABASE_URL=settings.database_url,
        SECRET_KEY=settings.secret_key,
        GAOGAN_LOG_JSON="false",
        SLOW_JOB_MARKER=str(tmp_path / f"{name}.started"),
        SLOW_JOB_SECONDS="3",
        SLOW_JOB_EVERY="6",
    )
    return subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "tests" / "shop" / "ops" / "slow_job_scheduler.py"),
            "scheduler",
            "--leader-check",
            str(LEADER_CHECK_SECONDS),
        ],
        env=env,
        stdout=(tmp_path / f"{name}.log").open("wb"),
        stderr=subprocess.STDOUT,
    )


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if condition():
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def holder_pid(settings: Settings, engine: Engine) -> int | None:
    info = probe_leader(settings, engine)
    return int(info.holder.rsplit(":", 1)[1]) if info.held and info.holder else None


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for proc in started:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)


@pytest.mark.slow
def test_sigterm_mid_run_finishes_the_job_frees_the_lock_and_the_standby_leads_within_one_check(
    db: sessionmaker[Session],
    settings: Settings,
    engine: Engine,
    tmp_path: Path,
    processes: list[subprocess.Popen[bytes]],
) -> None:
    first = start(settings, tmp_path, "a")
    processes.append(first)
    wait_for(lambda: holder_pid(settings, engine) == first.pid, 30, "the first leader")
    second = start(settings, tmp_path, "b")
    processes.append(second)
    wait_for(lambda: b"scheduler " in (tmp_path / "b.log").read_bytes(), 30, "the standby")

    marker = tmp_path / "a.started"
    wait_for(marker.exists, 30, "a run of the slow job to start")
    scheduled_for = marker.read_text().split()[1]
    first.send_signal(signal.SIGTERM)  # mid-run: the job sleeps 3 s after writing the marker
    assert first.wait(30) == 0
    stopped = time.monotonic()

    # The run it was doing is finished and recorded, not abandoned as 'running'.
    with db() as session:
        run = session.scalars(
            select(JobRun).where(
                JobRun.job == SLOW_JOB,
                JobRun.scheduled_for == datetime.fromisoformat(scheduled_for),
            )
        ).one()
    assert run.status is RunStatus.DONE and run.finished_at is not None
    assert run.runner.split(":")[1] == str(first.pid)
    assert effect_count(db, SLOW_JOB) >= 1
    assert b"stopping on signal SIGTERM" in (tmp_path / "a.log").read_bytes()

    # The lock was released at exit, so the standby takes it at its next check.
    wait_for(
        lambda: holder_pid(settings, engine) == second.pid, LEADER_CHECK_SECONDS + 1, "the standby"
    )
    assert time.monotonic() - stopped <= LEADER_CHECK_SECONDS + 0.5
