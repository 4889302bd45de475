"""Planned supply, closed days and available-to-promise."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from inventory.atp import available_to_promise
from inventory.db import transaction
from inventory.models import OutboxEvent, Supply
from inventory.reservations import Line, reserve
from inventory.supply import SupplyChange, set_day_closed, set_planned_supply
from tests.inventory.conftest import CLASSIC, HOLD, NOW, OSMANTHUS, TODAY, Floor, day


def test_planning_creates_and_updates_rows_per_product_and_day(floor: Floor) -> None:
    with transaction(floor.db) as s:
        assert (
            set_planned_supply(s, "plan:1", {(CLASSIC, day(1)): 100, (OSMANTHUS, day(1)): 40}) == []
        )
        assert set_planned_supply(s, "plan:2", {(CLASSIC, day(1)): 120}) == []
    with floor.db() as s:
        rows = sorted((r.item.sku, r.planned, r.plan_ref) for r in s.scalars(select(Supply)))
        types = list(s.scalars(select(OutboxEvent.type)))
    assert rows == [(CLASSIC, 120, "plan:2"), (OSMANTHUS, 40, "plan:1")]
    assert types == ["supply.planned", "supply.planned"]


def test_a_plan_below_what_is_promised_is_kept_and_reported(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    with transaction(floor.db) as s:
        reserve(s, "order:1", [Line(CLASSIC, day(1), 8)], hold_until=None, now=NOW)
        changes = set_planned_supply(s, "plan:2", {(CLASSIC, day(1)): 5})
    assert changes == [SupplyChange(CLASSIC, day(1), 5, 8)]
    assert changes[0].short == 3
    with floor.db() as s:
        shortfall = s.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "stock.shortfall")
        ).one()
    assert shortfall.payload["rows"][0]["short"] == 3
    with floor.db() as s:
        assert available_to_promise(s, [CLASSIC], day(1), day(1), now=NOW)[CLASSIC][day(1)] == 0


def test_available_to_promise_sums_the_freshness_window_per_day(floor: Floor) -> None:
    floor.plan(
        {
            (CLASSIC, day(0)): 4,
            (CLASSIC, day(1)): 10,
            (CLASSIC, day(2)): 6,
            (OSMANTHUS, day(2)): 3,
        }
    )
    with transaction(floor.db) as s:
        reserve(s, "order:1", [Line(CLASSIC, day(1), 7)], hold_until=HOLD, now=NOW)
    with floor.db() as s:
        atp = available_to_promise(s, [CLASSIC, OSMANTHUS], day(-1), day(3), now=NOW)
    assert atp[CLASSIC] == {day(-1): 0, day(0): 4, day(1): 7, day(2): 9, day(3): 6}
    assert atp[OSMANTHUS] == {day(-1): 0, day(0): 0, day(1): 0, day(2): 3, day(3): 3}


def test_a_channel_window_narrows_what_is_available(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10, (CLASSIC, day(2)): 6})
    with floor.db() as s:
        atp = available_to_promise(s, [CLASSIC], day(2), day(2), window_days=1, now=NOW)
    assert atp == {CLASSIC: {day(2): 6}}


def test_a_closed_production_day_contributes_nothing(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10, (CLASSIC, day(2)): 6})
    with transaction(floor.db) as s:
        assert set_day_closed(s, day(2), True) == 2  # both products; osmanthus gets a row
        assert set_day_closed(s, day(2), True) == 0
    with floor.db() as s:
        atp = available_to_promise(s, [CLASSIC, OSMANTHUS], day(1), day(3), now=NOW)
    assert atp[CLASSIC] == {day(1): 10, day(2): 10, day(3): 0}
    assert atp[OSMANTHUS] == {day(1): 0, day(2): 0, day(3): 0}


def test_available_to_promise_reads_supply_in_one_statement_for_any_range(
    floor: Floor, db: sessionmaker[Session]
) -> None:
    floor.plan({(sku, day(n)): 10 for sku in (CLASSIC, OSMANTHUS) for n in range(30)})
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    with db() as s:
        engine = s.get_bind()
        event.listen(engine, "before_cursor_execute", count)
        try:
            atp = available_to_promise(s, [CLASSIC, OSMANTHUS], TODAY, day(29), now=NOW)
        finally:
            event.remove(engine, "before_cursor_execute", count)
    supply_reads = [q for q in statements if "FROM supply" in q]
    assert len(supply_reads) == 1
    assert len(statements) <= 3  # BEGIN (SQLite), the products, the supply
    assert atp[CLASSIC][day(10)] == 20


def test_an_expired_hold_counts_as_free_until_it_is_swept(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    with transaction(floor.db) as s:
        reserve(s, "order:1", [Line(CLASSIC, day(1), 10)], hold_until=HOLD, now=NOW)
    with floor.db() as s:
        assert available_to_promise(s, [CLASSIC], day(1), day(1), now=NOW)[CLASSIC][day(1)] == 0
        late = HOLD + timedelta(seconds=1)
        assert available_to_promise(s, [CLASSIC], day(1), day(1), now=late)[CLASSIC][day(1)] == 10
