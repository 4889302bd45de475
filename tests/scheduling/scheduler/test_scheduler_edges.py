"""`gaogan scheduler status` and the manager's scheduler page."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import date

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from inventory.settings import Settings
from scheduling.scheduler.clock import ManualClock
from scheduling.scheduler.jobs import JobContext, registry
from scheduling.scheduler.leader import FileLeader, Leader, PostgresLeader
from scheduling.scheduler.runner import SchedulerService
from shop.app import create_app
from shop.auth import create_user, session_fingerprint
from shop.cli import cli
from shop.models import Role
from tests.support.scheduler_helpers import at, effect

DAY = date(2027, 1, 20)


def env_of(settings: Settings) -> dict[str, str]:
    return {
        "GAOGAN_ENV": "test",
        "GAOGAN_INSTANCE": str(settings.instance_path),
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
    }


def leader_for(settings: Settings) -> Leader:
    if settings.is_sqlite:
        from scheduling.scheduler.leader import sqlite_lock_path

        return FileLeader(sqlite_lock_path(settings))
    return PostgresLeader(settings.database_url)


@pytest.fixture
def ran_jobs(db: sessionmaker[Session], settings: Settings) -> Iterator[SchedulerService]:
    def broken(ctx: JobContext) -> None:
        raise RuntimeError("steam cabinet 3 offline")

    registry.register("test.batch_start", effect, {"trigger": "cron", "hour": 4})
    registry.register("test.broken", broken, {"trigger": "cron", "hour": 4, "minute": 30})
    clock = ManualClock(at(DAY, "04:00"))
    svc = SchedulerService(db, settings, leader_for(settings), jobs=registry, clock=clock)
    svc.sweep(include_interval=True)
    clock.set(at(DAY, "04:31"))
    svc.sweep(include_interval=True)
    yield svc
    svc.leader.release()
    registry.remove("test.batch_start")
    registry.remove("test.broken")


def test_scheduler_status_lists_jobs_with_last_and_next_runs_and_failures(
    ran_jobs: SchedulerService, settings: Settings
) -> None:
    result = CliRunner().invoke(cli, ["scheduler", "status"], env=env_of(settings))
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    # The fixture's service holds the lock, in this process.
    assert lines[0].startswith("leader: running (gaogan-scheduler ")
    assert lines[0].endswith(f":{os.getpid()})")
    batch = next(line for line in lines if line.startswith("test.batch_start"))
    assert "2027-01-20 04:00" in batch and " done " in batch
    broken = next(line for line in lines if line.startswith("test.broken"))
    assert "failed" in broken and broken.rstrip().endswith("1")
    assert "steam cabinet 3 offline" in result.output


def test_scheduler_status_says_when_no_scheduler_is_running(
    db: sessionmaker[Session], settings: Settings
) -> None:
    result = CliRunner().invoke(cli, ["scheduler", "status"], env=env_of(settings))
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[0] == "leader: none (no scheduler is running)"


def client_as(settings: Settings, db: sessionmaker[Session], role: Role) -> FlaskClient:
    app = create_app(settings)
    app.config["TESTING"] = True
    with transaction(db) as session:
        user = create_user(
            session,
            email=f"{role.value}@gaogan.local",
            name="x",
            password="long-password",
            role=role,
        )
    client = app.test_client()
    with client.session_transaction() as flask_session:
        flask_session["uid"] = user.id
        flask_session["ufp"] = session_fingerprint(user)
    return client


def test_the_manager_scheduler_page_shows_jobs_runs_and_failures_in_chinese_and_english(
    ran_jobs: SchedulerService, settings: Settings, db: sessionmaker[Session]
) -> None:
    client = client_as(settings, db, Role.MANAGER)
    page = client.get("/manager/scheduler")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "定时任务" in html and "test.batch_start" in html and "steam cabinet 3 offline" in html
    assert "2027-01-20 04:00" in html
    english = client.get("/manager/scheduler?lang=en").get_data(as_text=True)
    assert "Recent runs" in english and "Failed" in english


def test_the_scheduler_page_is_for_managers_only(
    settings: Settings, db: sessionmaker[Session]
) -> None:
    client = client_as(settings, db, Role.CUSTOMER)
    assert client.get("/manager/scheduler").status_code == 403
