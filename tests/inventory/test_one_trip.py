"""The one-round-trip take: the migration creates the function the code calls, and a lost
race between the snapshot and the call leaves nothing behind."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from inventory.models import Claim, InboxRecord, OutboxEvent, Reservation, Supply
from inventory.one_trip import (
    demands_on_snapshot,
    new_row,
    plan_reservation,
    read_snapshot,
    take_in_one_call,
)
from inventory.reservations import Line
from inventory.take_function import RESERVE_FUNCTION, TAKE_FUNCTION
from tests.inventory.conftest import CLASSIC, HOLD, NOW, Floor, day

MIGRATION = (
    Path(__file__).resolve().parents[2]
    / "migrations"
    / "versions"
    / "20261203_perf2_static_take.py"
)


def test_the_migration_creates_the_function_the_code_calls() -> None:
    spec = importlib.util.spec_from_file_location("perf_migration", MIGRATION)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.TAKE_FUNCTION == TAKE_FUNCTION
    assert module.RESERVE_FUNCTION == RESERVE_FUNCTION


@pytest.mark.postgres
def test_a_take_that_no_longer_fits_undoes_its_writes_and_returns_none(
    floor: Floor, db: sessionmaker[Session]
) -> None:
    floor.plan({(CLASSIC, day(1)): 5})
    with transaction(db) as s:
        lines = [Line(CLASSIC, day(1), 4)]
        snapshot = read_snapshot(s, lines, window_days=None, ref="order:late")
        planned = plan_reservation(
            snapshot,
            "order:late",
            demands_on_snapshot(snapshot, lines, None),
            hold_until=HOLD,
            now=NOW,
        )
        assert planned is not None
        # Someone else took stock after our snapshot.
        s.execute(update(Supply).values(promised=3))
        assert take_in_one_call(s, planned.rows, planned.deltas) is None
        assert s.scalars(select(Reservation.id)).all() == []
        assert s.scalars(select(Claim.id)).all() == []
        assert all(t != "stock.reserved" for t in s.scalars(select(OutboxEvent.type)).all())
        assert s.scalars(select(Supply.promised)).one() == 3


@pytest.mark.postgres
def test_a_table_without_a_static_insert_is_written_the_same_way(
    floor: Floor, db: sessionmaker[Session]
) -> None:
    # Rows of any other table go through the generic INSERT: columns by name, a missing id
    # from the table's sequence, a column left out NULL or its Python default.
    floor.plan({(CLASSIC, day(1)): 5})
    with transaction(db) as s:
        rows = [
            new_row(InboxRecord.__table__, {"consumer": "test", "event_id": f"e-{n}"})  # type: ignore[arg-type]
            for n in range(3)
        ]
        assert take_in_one_call(s, [(InboxRecord.__table__, rows)], {}) == []  # type: ignore[list-item]
    with db() as s:
        found = s.scalars(select(InboxRecord).order_by(InboxRecord.id)).all()
        assert [r.event_id for r in found] == ["e-0", "e-1", "e-2"]
        assert len({r.id for r in found}) == 3 and all(r.applied_at is not None for r in found)
