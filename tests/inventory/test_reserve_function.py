"""`gaogan_reserve`, reserve() in one statement on PostgreSQL: it splits every order over the
supply rows exactly as the Python planner does (freshest first, lines in order, closed rows
skipped, the window of the product or of the channel), and hands every case it cannot decide
alone back to the locked path, which answers as it always did."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session, sessionmaker

from inventory.claims import demands_of, plan_take, supply_ranges
from inventory.errors import DuplicateReference, SoldOut, UnknownItem
from inventory.locks import lock_supply
from inventory.models import Claim, ClaimKind, OutboxEvent, Reservation, ReservationStatus, Supply
from inventory.one_trip import reserve_in_one_call
from inventory.reservations import Line, reserve
from tests.inventory.conftest import CLASSIC, HOLD, NOW, OSMANTHUS, Floor, day, snapshot

pytestmark = pytest.mark.postgres


def _python_split(
    db: sessionmaker[Session], lines: list[Line], window: int | None
) -> list[tuple[int, int, int]] | None:
    with db() as s:
        demands = demands_of(s, lines, window, NOW)
        rows = lock_supply(s, supply_ranges(demands), lock=False)
        planned, shortages = plan_take(demands, rows, {})
    if shortages:
        return None
    return sorted((d.line_no, sid, q) for d, takes in planned for sid, q in takes)


@pytest.mark.parametrize("seed", range(30))
def test_the_function_splits_every_order_as_the_python_planner_does(
    floor: Floor, db: sessionmaker[Session], seed: int
) -> None:
    rng = random.Random(seed)
    floor.plan(
        {(sku, day(d)): rng.randint(0, 6) for sku in (CLASSIC, OSMANTHUS) for d in range(-1, 4)}
    )
    with db() as s, s.begin():
        for row in s.scalars(select(Supply)):
            row.promised = rng.randint(0, row.planned)
            row.closed = rng.random() < 0.15
    pairs = rng.sample([(sku, d) for sku in (CLASSIC, OSMANTHUS) for d in (1, 2, 3)], 3)
    lines = [Line(sku, day(d), rng.randint(1, 5)) for sku, d in pairs[: rng.randint(1, 3)]]
    window = rng.choice([None, 1, 3])
    expected = _python_split(db, lines, window)

    with db() as s:
        before = {r.id: r.promised for r in s.scalars(select(Supply))}
        got = reserve_in_one_call(s, "order:x", lines, hold_until=HOLD, window_days=window, now=NOW)
        if expected is None:
            assert got is None
            assert snapshot(s)["reservations"] == []
        else:
            assert got is not None
            claims = s.scalars(select(Claim).order_by(Claim.id)).all()
            assert sorted((c.line_no, c.supply_id, c.quantity) for c in claims) == expected
            assert all(c.kind == ClaimKind.HOLD and c.expires_at == HOLD for c in claims)
            after = {r.id: r.promised for r in s.scalars(select(Supply))}
            for sid, taken in after.items():
                assert taken - before[sid] == sum(c.quantity for c in claims if c.supply_id == sid)
        s.rollback()


def test_a_hold_is_one_statement_with_its_claims_event_and_stock(
    floor: Floor, db: sessionmaker[Session]
) -> None:
    floor.plan({(CLASSIC, day(1)): 10, (OSMANTHUS, day(1)): 10})
    statements: list[str] = []
    with db() as probe:
        engine = probe.get_bind()

    def count(_c: object, _cu: object, statement: str, *_a: object) -> None:
        statements.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    try:
        with db() as s, s.begin():
            taken = reserve(
                s,
                "order:1",
                [Line(CLASSIC, day(1), 2), Line(OSMANTHUS, day(1), 3)],
                hold_until=HOLD,
                now=NOW,
            )
            assert taken.status == ReservationStatus.HELD
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert [q.split("(")[0] for q in statements] == ["SELECT gaogan_reserve"]
    assert floor.promised(CLASSIC, day(1)) == 2 and floor.promised(OSMANTHUS, day(1)) == 3
    with db() as s:
        reservation = s.scalars(select(Reservation)).one()
        assert [c.quantity for c in reservation.claims] == [2, 3]
        stock_event = s.scalars(select(OutboxEvent).where(OutboxEvent.key == "order:1")).one()
        assert stock_event.type == "stock.reserved"
        assert stock_event.payload["status"] == "held"
        assert [ln["quantity"] for ln in stock_event.payload["lines"]] == [2, 3]


def test_what_the_function_cannot_decide_gets_the_locked_paths_answer(
    floor: Floor, db: sessionmaker[Session]
) -> None:
    floor.plan({(CLASSIC, day(1)): 3})
    with db() as s, s.begin():
        reserve(s, "order:1", [Line(CLASSIC, day(1), 1)], hold_until=None, now=NOW)
    before = snapshot(db)
    for ref, lines, error in (
        ("order:1", [Line(CLASSIC, day(1), 1)], DuplicateReference),
        ("order:2", [Line("GG-NONE", day(1), 1)], UnknownItem),
        ("order:3", [Line(CLASSIC, day(1), 3)], SoldOut),
    ):
        with db() as s:
            assert reserve_in_one_call(s, ref, lines, hold_until=HOLD, now=NOW) is None
            with pytest.raises(error):
                reserve(s, ref, lines, hold_until=HOLD, now=NOW)
            s.rollback()
        assert snapshot(db) == before
