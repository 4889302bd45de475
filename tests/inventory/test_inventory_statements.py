"""The hot path of reserve() does not grow with the number of lines."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import Session, sessionmaker

from inventory.catalog import create_product
from inventory.db import transaction
from inventory.reservations import Line, reserve
from tests.inventory.conftest import HOLD, NOW, Floor, day


def _statements_of_reserve(db: sessionmaker[Session], ref: str, lines: list[Line]) -> list[str]:
    statements: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement.split()[0].upper())

    with db() as probe:
        engine = probe.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        with transaction(db) as s:
            reserve(s, ref, lines, hold_until=HOLD, now=NOW)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return [q for q in statements if q != "BEGIN"]


def test_reserving_five_lines_takes_as_many_statements_as_one(
    floor: Floor, db: sessionmaker[Session]
) -> None:
    skus = [f"GG-{n}" for n in range(5)]
    with transaction(db) as s:
        for sku in skus:
            create_product(s, sku, "糕干", "Gaogan", 1000, 250, 2, 7)
    floor.plan({(sku, day(d)): 100 for sku in skus for d in (0, 1)})

    one = _statements_of_reserve(db, "order:1", [Line(skus[0], day(1), 1)])
    # Five products, and each line split over two production days: the locked path.
    five = _statements_of_reserve(db, "order:5", [Line(sku, day(1), 150) for sku in skus])
    ten = _statements_of_reserve(db, "order:10", [Line(sku, day(1), 1) for sku in skus] * 2)

    with db() as probe:
        dialect = probe.get_bind().dialect.name
    if dialect == "postgresql":
        # One call of gaogan_reserve: it reads the products and rows, splits the lines, writes,
        # and takes the stock with the guarded update (several rows locked in id order first).
        assert one == five == ten == ["SELECT"]
        return
    # products and duplicate ref, supply; reservation, event, claims; the guarded update.
    assert one == ["SELECT", "SELECT", "INSERT", "INSERT", "INSERT", "UPDATE"]
    # The same plus one locking select of every candidate row of every line.
    locked = ["SELECT", "SELECT", "SELECT", "INSERT", "INSERT", "INSERT", "UPDATE"]
    assert five == locked
    assert ten == locked
