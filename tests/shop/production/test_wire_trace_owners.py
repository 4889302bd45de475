"""Bookings in the trace and in a shortfall: the distributor area tells scheduling who holds
"booking:<id>" and when they collect."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inventory.catalog import create_raw_material
from inventory.db import transaction
from inventory.materials import receive_material
from inventory.models import ItemKind, Reservation
from inventory.reservations import Line, reserve
from inventory.settings import Settings
from scheduling.pickup.slots import SlotRules, slot_at
from scheduling.production.batches import complete_batch, create_batch, start_batch
from scheduling.production.trace import trace_batch
from scheduling.refs import ref_infos, unregister_ref_provider
from shop.app import create_app
from shop.cli import cli
from shop.distributors import bookings, common
from tests.support.distributors import CLASSIC, make_distributor, setup_products
from tests.support.wiring import local

DAY = date(2027, 1, 20)
RULES = SlotRules()


def _plant(db: sessionmaker[Session]) -> None:
    setup_products(db, [DAY], cases_per_day=10)  # 100 pieces of each product planned
    with transaction(db) as s:
        create_raw_material(s, "RICE", ItemKind.RICE, "新米", "New rice")
        create_raw_material(s, "SUGAR", ItemKind.SUGAR, "绵白糖", "Sugar")
        received = datetime(2026, 11, 3, tzinfo=UTC)
        receive_material(s, "RICE", 100_000, lot_code="R2026", received_at=received, crop_year=2026)
        receive_material(s, "SUGAR", 20_000, lot_code="S-01", received_at=received)


def _book(db: sessionmaker[Session], code: str, at: time, cases: int) -> str:
    distributor = make_distributor(db, code)
    with transaction(db) as s:
        common.day_slots(s, DAY, RULES)
        slot = slot_at(s, DAY, at)
        assert slot is not None
        booking = bookings.create_booking(
            s,
            RULES,
            distributor_id=distributor,
            day=DAY,
            slot_id=slot.id,
            lines={CLASSIC: cases},
            now=local(DAY - timedelta(days=2), 12),
        )
        return booking.ref


def test_a_ten_percent_short_batch_leaves_the_latest_pickup_slot_unserved_and_traces_companies(
    db: sessionmaker[Session], settings: Settings
) -> None:
    create_app(settings)  # the distributor area registers its owner provider
    _plant(db)
    # Booked in this order on purpose: by booking time the 06:30 booking would come first.
    late = _book(db, "TJ30", time(6, 30), 3)
    early = _book(db, "TJ00", time(6, 0), 3)
    middle = _book(db, "TJ15", time(6, 15), 3)
    with transaction(db) as s:
        reserve(s, "order:1", [Line(CLASSIC, DAY, 10)], hold_until=None, now=local(DAY, 0))
        infos = ref_infos(s, [late, early, "order:1"])
        assert infos[late].owner_name == "TJ30 副食商行"
        assert infos[late].slot_at == local(DAY, 6, 30)
        assert "order:1" not in infos
        batch = create_batch(
            s,
            DAY,
            {CLASSIC: 100},
            wave=1,
            planned_start=local(DAY, 4),
            planned_end=local(DAY, 6),
            rice_sku="RICE",
            rice_g=60_000,
            sugar_sku="SUGAR",
            sugar_g=8_000,
        )
        batch_ref = batch.ref
    with transaction(db) as s:
        start_batch(s, batch_ref, now=local(DAY, 4))
    with transaction(db) as s:
        done = complete_batch(
            s, batch_ref, {CLASSIC: 90}, made_at=local(DAY, 6), completed_by="manager"
        )
    assert done.unserved == [late]
    assert sorted(done.ready) == sorted([early, middle, "order:1"])
    with db() as s:
        status = s.scalars(select(Reservation.status).where(Reservation.ref == late)).one()
        assert status.value == "released"
        traced = trace_batch(s, batch_ref)
        assert traced.distributors == ["TJ00 副食商行", "TJ15 副食商行"]
        owners = {r.ref: (r.owner_kind, r.owner_name) for r in traced.recipients}
        assert owners[early] == ("distributor", "TJ00 副食商行")

    # `gaogan trace` builds no app: it registers the owners itself.
    unregister_ref_provider("booking")
    env = {
        "GAOGAN_INSTANCE": str(settings.instance_path),
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
    }
    result = CliRunner().invoke(cli, ["trace", batch_ref], env=env)
    assert result.exit_code == 0, result.output
    assert "distributor TJ00 副食商行" in result.output
    assert "distributors: TJ00 副食商行, TJ15 副食商行" in result.output
