"""Row locks, in one place and in one order.

Every transaction that changes `supply.promised` locks the supply rows it may touch first, all
at once, ordered by id; only then the reservation row, then claim rows. Two checkouts whose
lines name the same products in opposite order therefore queue instead of deadlocking.

On SQLite `BEGIN IMMEDIATE` (inventory.db) already serialises writers, so the lock clauses are
left out there.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, false, or_, select
from sqlalchemy.orm import Session

from inventory.db import is_postgres
from inventory.models import Reservation, ReservationStatus, Supply


@dataclass
class SupplyRow:
    """A locked supply row as plain values; `promised` is tracked as the transaction goes."""

    id: int
    item_id: int
    production_day: date
    capacity: int
    promised: int
    closed: bool
    # The day's output is in (some batch was booked): its lots exist.
    made: bool = False

    @property
    def free(self) -> int:
        return self.capacity - self.promised


def lock_supply(
    session: Session,
    ranges: Iterable[tuple[int, date, date]] = (),
    ids: Collection[int] = (),
    *,
    lock: bool = True,
) -> dict[int, SupplyRow]:
    """Lock, in one statement and in id order, the supply rows of items over day ranges
    (item_id, first production day, last production day) and rows named by id.

    FOR NO KEY UPDATE, not FOR UPDATE: a claim being inserted elsewhere holds a KEY SHARE
    lock on its supply row (the foreign key check) and must not be made to wait for us, nor
    we for it, or the two could deadlock. `lock=False` only reads (the optimistic path).
    """
    conditions: list[ColumnElement[bool]] = [
        and_(Supply.item_id == item_id, Supply.production_day.between(first, last))
        for item_id, first, last in sorted(set(ranges))
    ]
    if ids:
        conditions.append(Supply.id.in_(sorted(ids)))
    if not conditions:
        return {}
    stmt = (
        select(
            Supply.id,
            Supply.item_id,
            Supply.production_day,
            Supply.planned,
            Supply.actual,
            Supply.promised,
            Supply.closed,
        )
        .where(or_(false(), *conditions))
        .order_by(Supply.id)
    )
    if lock and is_postgres(session):
        stmt = stmt.with_for_update(key_share=True)
    rows: dict[int, SupplyRow] = {}
    for sid, item_id, day, planned, actual, promised, closed in session.execute(stmt):
        rows[sid] = SupplyRow(
            id=sid,
            item_id=item_id,
            production_day=day,
            capacity=planned if actual is None else actual,
            promised=promised,
            closed=closed,
            made=actual is not None,
        )
    return rows


def lock_supply_rows(
    session: Session, item_ids: Sequence[int], days: Sequence[date]
) -> dict[tuple[int, date], Supply]:
    """Lock, in id order, the supply rows (as ORM objects, to be changed) of some items on some
    production days, keyed by (item id, day). Used where whole rows are rewritten (planned
    output, received production) rather than claimed against."""
    stmt = (
        select(Supply)
        .where(
            Supply.item_id.in_(sorted(set(item_ids))), Supply.production_day.in_(sorted(set(days)))
        )
        .order_by(Supply.id)
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(of=Supply, key_share=True)
    return {(row.item_id, row.production_day): row for row in session.scalars(stmt)}


def lock_reservation(
    session: Session, reservation_id: int
) -> tuple[ReservationStatus, datetime | None]:
    """Lock one reservation row (after its supply rows): its current status and hold expiry."""
    stmt = select(Reservation.status, Reservation.expires_at).where(
        Reservation.id == reservation_id
    )
    if is_postgres(session):
        stmt = stmt.with_for_update(key_share=True)
    status, expires_at = session.execute(stmt).one()
    return status, expires_at
