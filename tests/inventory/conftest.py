"""A small shop floor for inventory tests: two products, rice, sugar, a clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from inventory.catalog import create_product, create_raw_material
from inventory.db import transaction
from inventory.models import (
    Claim,
    ClaimLot,
    ItemKind,
    LedgerEntry,
    Lot,
    OutboxEvent,
    Reservation,
    Supply,
)
from inventory.supply import set_planned_supply

# 10:00 in Tianjin on 20 January 2027, a few weeks before the Spring Festival.
NOW = datetime(2027, 1, 20, 2, 0, tzinfo=UTC)
TODAY = date(2027, 1, 20)
HOLD = NOW + timedelta(minutes=15)
CLASSIC = "GG-CLASSIC"
OSMANTHUS = "GG-OSMANTHUS"


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


@dataclass(frozen=True)
class Floor:
    db: sessionmaker[Session]

    def plan(self, quantities: dict[tuple[str, date], int]) -> None:
        with transaction(self.db) as s:
            set_planned_supply(s, "plan-test", quantities)

    def promised(self, sku: str, production_day: date) -> int:
        with self.db() as s:
            value = s.scalar(
                select(Supply.promised)
                .join(Supply.item)
                .where(Supply.production_day == production_day)
                .where(Supply.item.has(sku=sku))
            )
            return int(value or 0)


def snapshot(session_or_factory: Session | sessionmaker[Session]) -> dict[str, object]:
    """Everything a refused call must leave as it was."""

    def take(s: Session) -> dict[str, object]:
        return {
            "ledger": s.scalar(select(func.count()).select_from(LedgerEntry)),
            "lots": sorted(s.execute(select(Lot.code, Lot.on_hand)).all()),
            "claims": sorted(
                (c.id, c.status.value, c.kind.value, c.quantity) for c in s.scalars(select(Claim))
            ),
            "claim_lots": s.scalar(select(func.count()).select_from(ClaimLot)),
            "reservations": sorted((r.ref, r.status.value) for r in s.scalars(select(Reservation))),
            "supply": sorted(
                s.execute(
                    select(Supply.id, Supply.planned, Supply.actual, Supply.promised, Supply.closed)
                ).all()
            ),
            "outbox": s.scalar(select(func.count()).select_from(OutboxEvent)),
        }

    if isinstance(session_or_factory, Session):
        return take(session_or_factory)
    with session_or_factory() as s:
        return take(s)


@pytest.fixture
def floor(db: sessionmaker[Session]) -> Iterator[Floor]:
    with transaction(db) as s:
        create_product(s, CLASSIC, "杨村糕干", "Yangcun gaogan", 1250, 250, 2, 7)
        create_product(s, OSMANTHUS, "桂花糕干", "Osmanthus gaogan", 1680, 250, 2, 7)
        create_raw_material(s, "RICE", ItemKind.RICE, "新米", "New rice")
        create_raw_material(s, "SUGAR", ItemKind.SUGAR, "绵白糖", "Soft white sugar")
        create_raw_material(s, "BOX", ItemKind.PACKAGING, "礼盒", "Gift box")
    yield Floor(db)
