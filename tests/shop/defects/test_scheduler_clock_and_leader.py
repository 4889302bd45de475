"""Issue 10 item 12: the leader of another database is not ours; the CLI follows the
rehearsal clock the scheduler reads."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import make_engine
from inventory.settings import Settings
from scheduling.production.models import Batch
from scheduling.scheduler.clock import FileClock
from scheduling.scheduler.leader import LOCK_KEY, probe_leader
from shop.cli import cli
from tests.scheduling.production.test_batches import env_of, plant, take_day_orders
from tests.support.production_floor import CLASSIC, DAY, OSMANTHUS, Plant, local

__all__ = ["plant"]


def test_a_batch_completed_from_the_cli_is_stamped_with_the_rehearsal_clock(
    plant: Plant, db: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    take_day_orders(plant)
    batch = plant.batch({CLASSIC: 100, OSMANTHUS: 40})
    clock = tmp_path / "clock"
    env = env_of(settings) | {"GAOGAN_CLOCK_FILE": str(clock)}
    runner = CliRunner()
    FileClock.write(clock, local(DAY, 4, 1))
    started = runner.invoke(cli, ["batch", "start", batch.ref], env=env)
    assert started.exit_code == 0, started.output
    FileClock.write(clock, local(DAY, 5, 58))
    done = runner.invoke(
        cli, ["batch", "complete", batch.ref, f"{CLASSIC}=100", f"{OSMANTHUS}=40"], env=env
    )
    assert done.exit_code == 0, done.output
    with db() as s:
        stored = s.get(Batch, batch.id)
        assert stored is not None and stored.started_at and stored.completed_at
        assert stored.started_at == local(DAY, 4, 1)
        assert stored.completed_at == local(DAY, 5, 58)


@pytest.mark.postgres
def test_scheduler_status_does_not_name_a_leader_holding_the_lock_in_another_database(
    settings: Settings,
) -> None:
    # The maintenance database `postgres` stands in for another deployment on the server:
    # only an advisory lock is taken there, no table is touched.
    other = make_url(settings.database_url).set(database="postgres")
    foreign = create_engine(other)
    ours = make_engine(settings.database_url)
    try:
        with foreign.connect() as conn:
            assert conn.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": LOCK_KEY})
            try:
                assert probe_leader(settings, ours).held is False
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": LOCK_KEY})
    finally:
        foreign.dispose()
        ours.dispose()
