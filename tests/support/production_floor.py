"""A small plant for batch tests: two products, new- and old-crop rice, sugar, orders and
distributor bookings for one production day."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session, sessionmaker

from inventory.catalog import create_product, create_raw_material
from inventory.db import transaction
from inventory.materials import receive_material
from inventory.models import ItemKind
from inventory.reservations import Line, reserve
from inventory.supply import set_planned_supply
from scheduling.production.batches import create_batch
from scheduling.production.models import Batch
from scheduling.refs import RefInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2027, 1, 20)
CLASSIC = "GG-CLASSIC"
OSMANTHUS = "GG-OSMANTHUS"
ORDER_TIME = datetime(2027, 1, 19, 4, 0, tzinfo=UTC)  # noon in Tianjin the day before


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=SHANGHAI)


@dataclass
class Plant:
    db: sessionmaker[Session]
    slots: dict[str, datetime]

    def order(self, ref: str, lines: Mapping[str, int], *, day: date = DAY) -> None:
        with transaction(self.db) as session:
            reserve(
                session,
                ref,
                [Line(sku, day, q) for sku, q in lines.items()],
                hold_until=None,
                now=ORDER_TIME,
            )

    def booking(self, ref: str, lines: Mapping[str, int], slot: datetime) -> None:
        self.order(ref, lines)
        self.slots[ref] = slot

    def batch(
        self,
        planned: Mapping[str, int],
        *,
        wave: int = 1,
        rice_g: int = 60_000,
        sugar_g: int = 8_000,
        start: tuple[int, int] = (4, 0),
        end: tuple[int, int] = (6, 0),
    ) -> Batch:
        with transaction(self.db) as session:
            return create_batch(
                session,
                DAY,
                planned,
                wave=wave,
                planned_start=local(DAY, *start),
                planned_end=local(DAY, *end),
                rice_sku="RICE",
                rice_g=rice_g,
                sugar_sku="SUGAR",
                sugar_g=sugar_g,
            )

    def provider(self, session: Session, refs: Sequence[str]) -> dict[str, RefInfo]:
        """Stands in for the distributor area: bookings belong to distributors with slots."""
        return {
            ref: RefInfo(
                "distributor", int(ref.split(":")[1]), f"经销商{ref.split(':')[1]}", self.slots[ref]
            )
            for ref in refs
            if ref in self.slots
        }


def build_plant(db: sessionmaker[Session], *, new_crop_rice: bool = True) -> Plant:
    with transaction(db) as s:
        create_product(s, CLASSIC, "杨村糕干", "Yangcun gaogan", 1250, 250, 2, 7)
        create_product(s, OSMANTHUS, "桂花糕干", "Osmanthus gaogan", 1680, 250, 2, 7)
        create_raw_material(s, "RICE", ItemKind.RICE, "新米", "New rice")
        create_raw_material(s, "SUGAR", ItemKind.SUGAR, "绵白糖", "Soft white sugar")
        receive_material(
            s,
            "RICE",
            80_000,
            lot_code="R2025-OLD",
            received_at=datetime(2025, 11, 2, tzinfo=UTC),
            crop_year=2025,
            supplier="宝坻米厂",
        )
        if new_crop_rice:
            for code, grams in (("R2026-A", 40_000), ("R2026-B", 50_000)):
                receive_material(
                    s,
                    "RICE",
                    grams,
                    lot_code=code,
                    received_at=datetime(2026, 11, 3, tzinfo=UTC) + timedelta(days=len(code)),
                    crop_year=2026,
                    supplier="宝坻米厂",
                )
        receive_material(
            s,
            "SUGAR",
            20_000,
            lot_code="S-01",
            received_at=datetime(2026, 12, 1, tzinfo=UTC),
            best_before=date(2027, 12, 1),
            supplier="天津糖业",
        )
        set_planned_supply(s, "plan-test", {(CLASSIC, DAY): 100, (OSMANTHUS, DAY): 40})
    return Plant(db, {})
