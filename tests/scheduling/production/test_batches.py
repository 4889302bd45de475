from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from inventory.errors import OldCropRice
from inventory.materials import verify_ledger
from inventory.models import Claim, ClaimLot, ClaimStatus, OutboxEvent, Reservation
from inventory.settings import Settings
from scheduling.production.batches import (
    BatchStateError,
    Demand,
    InvalidBatch,
    allocate_by_priority,
    complete_batch,
    get_batch,
    start_batch,
)
from scheduling.production.models import BatchMaterial, BatchStatus
from scheduling.production.trace import trace_batch, trace_lot
from scheduling.refs import register_ref_provider, unregister_ref_provider
from shop.cli import cli
from tests.support.production_floor import CLASSIC, DAY, OSMANTHUS, Plant, build_plant, local

T0 = datetime(2027, 1, 1, tzinfo=UTC)


def test_priority_serves_orders_first_then_bookings_by_slot_and_never_half() -> None:
    demands = [
        Demand("booking:2", {"A": 10}, T0 + timedelta(hours=2)),
        Demand("order:9", {"A": 10}, T0 + timedelta(hours=5)),
        Demand("booking:1", {"A": 10}, T0 + timedelta(hours=1)),
        Demand("order:3", {"A": 10}, T0),
    ]
    served, unserved = allocate_by_priority(demands, {"A": 35})
    assert served == ["order:3", "order:9", "booking:1"]
    assert unserved == ["booking:2"]


def test_a_reservation_that_does_not_fit_leaves_its_stock_to_smaller_ones_behind_it() -> None:
    demands = [
        Demand("order:1", {"A": 8, "B": 5}, T0),
        Demand("order:2", {"A": 2}, T0 + timedelta(minutes=1)),
    ]
    served, unserved = allocate_by_priority(demands, {"A": 10, "B": 4})
    assert (served, unserved) == (["order:2"], ["order:1"])


@pytest.fixture
def plant(db: sessionmaker[Session]) -> Iterator[Plant]:
    built = build_plant(db)
    register_ref_provider("booking", built.provider)
    yield built
    unregister_ref_provider("booking")


def events(db: sessionmaker[Session], event_type: str) -> list[dict[str, object]]:
    with db() as session:
        return [
            dict(p)
            for p in session.scalars(
                select(OutboxEvent.payload)
                .where(OutboxEvent.type == event_type)
                .order_by(OutboxEvent.id)
            )
        ]


def take_day_orders(plant: Plant) -> None:
    plant.order("order:1", {CLASSIC: 20, OSMANTHUS: 10})
    plant.order("order:2", {CLASSIC: 30})
    plant.booking("booking:1", {CLASSIC: 25, OSMANTHUS: 20}, local(DAY, 6, 0))
    plant.booking("booking:2", {CLASSIC: 25}, local(DAY, 6, 30))


def test_starting_a_batch_consumes_new_crop_rice_and_sugar_and_records_the_lots(
    plant: Plant, db: sessionmaker[Session]
) -> None:
    batch = plant.batch({CLASSIC: 100, OSMANTHUS: 40})
    with transaction(db) as session:
        start_batch(session, batch.ref, now=local(DAY, 4, 0))
    with db() as session:
        started = get_batch(session, batch.ref)
        used = trace_batch(session, batch.ref).materials
    assert started.status is BatchStatus.STARTED
    assert {m.lot: m.grams for m in used} == {"R2026-A": 40_000, "R2026-B": 20_000, "S-01": 8_000}
    assert all(m.crop_year == 2026 for m in used if m.kind == "rice")
    assert events(db, "batch.started")[0]["batch_ref"] == batch.ref
    with db() as session:
        assert verify_ledger(session) == []


def test_a_batch_that_would_need_old_crop_rice_is_refused_and_changes_nothing(
    db: sessionmaker[Session],
) -> None:
    plant = build_plant(db, new_crop_rice=False)
    batch = plant.batch({CLASSIC: 100})
    with pytest.raises(OldCropRice), transaction(db) as session:
        start_batch(session, batch.ref, now=local(DAY, 4, 0))
    with db() as session:
        assert get_batch(session, batch.ref).status is BatchStatus.PLANNED
        assert session.scalar(select(func.count()).select_from(BatchMaterial)) == 0
    assert events(db, "batch.started") == []


def test_a_completed_batch_makes_every_order_and_booking_ready_on_lots_and_traces_to_them(
    plant: Plant, db: sessionmaker[Session]
) -> None:
    take_day_orders(plant)
    batch = plant.batch({CLASSIC: 100, OSMANTHUS: 40})
    with transaction(db) as session:
        start_batch(session, batch.ref, now=local(DAY, 4, 0))
    with transaction(db) as session:
        done = complete_batch(
            session,
            batch.ref,
            {CLASSIC: 100, OSMANTHUS: 40},
            made_at=local(DAY, 6, 0),
            completed_by="manager",
        )
    refs = ["booking:1", "booking:2", "order:1", "order:2"]
    assert done.ready == refs and done.unserved == []
    assert sorted(str(e["ref"]) for e in events(db, "order.ready")) == refs
    with db() as session:
        for claim in session.scalars(select(Claim).where(Claim.status == ClaimStatus.ACTIVE)):
            on_lots = sum(cl.quantity for cl in claim.lots)
            assert on_lots == claim.quantity
        assert verify_ledger(session) == []
        traced = trace_batch(session, batch.ref)
        rice = trace_lot(session, "R2026-A")
        product = trace_lot(session, f"{batch.ref}-{CLASSIC}")
    assert traced.refs == refs
    assert traced.distributors == ["经销商1", "经销商2"]
    assert {lot.lot for lot in traced.lots} == {
        f"{batch.ref}-{CLASSIC}",
        f"{batch.ref}-{OSMANTHUS}",
    }
    assert [b for b, _, _ in rice.used_by] == [batch.ref]
    assert rice.batches[0].refs == refs
    assert product.made_by_batch == batch.ref
    assert events(db, "batch.completed")[0]["actual"] == {CLASSIC: 100, OSMANTHUS: 40}


def test_a_batch_ten_percent_short_leaves_the_lowest_priority_unserved_released_and_told(
    plant: Plant, db: sessionmaker[Session]
) -> None:
    take_day_orders(plant)
    batch = plant.batch({CLASSIC: 100, OSMANTHUS: 40})
    with transaction(db) as session:
        start_batch(session, batch.ref, now=local(DAY, 4, 0))
    with transaction(db) as session:
        done = complete_batch(
            session,
            batch.ref,
            {CLASSIC: 90, OSMANTHUS: 40},
            made_at=local(DAY, 6, 0),
            completed_by="manager",
        )
    # Orders first; of the bookings the later slot (06:30) loses.
    assert done.unserved == ["booking:2"]
    assert done.ready == ["booking:1", "order:1", "order:2"]
    unserved = events(db, "order.unserved")
    assert [(e["ref"], e["short"]) for e in unserved] == [
        ("booking:2", [{"sku": CLASSIC, "quantity": 25}])
    ]
    with db() as session:
        statuses = dict(session.execute(select(Reservation.ref, Reservation.status)).all())
        assert statuses["booking:2"].value == "released"
        # Nobody is half-served: every live claim is fully on lots.
        for claim in session.scalars(select(Claim).where(Claim.status == ClaimStatus.ACTIVE)):
            assert sum(cl.quantity for cl in claim.lots) == claim.quantity
        assert session.scalar(select(func.sum(ClaimLot.quantity))) == 75 + 30
        assert verify_ledger(session) == []
        assert "booking:2" not in trace_batch(session, batch.ref).refs


def test_an_earlier_wave_does_not_declare_shortfalls_a_later_wave_of_the_day_may_cover(
    plant: Plant, db: sessionmaker[Session]
) -> None:
    take_day_orders(plant)
    first = plant.batch({CLASSIC: 60, OSMANTHUS: 40}, rice_g=30_000)
    second = plant.batch({CLASSIC: 40}, wave=2, rice_g=20_000, start=(6, 0), end=(8, 0))
    with transaction(db) as session:
        start_batch(session, first.ref, now=local(DAY, 4, 0))
    with transaction(db) as session:
        complete_batch(
            session,
            first.ref,
            {CLASSIC: 60, OSMANTHUS: 40},
            made_at=local(DAY, 6, 0),
            completed_by="m",
        )
    assert events(db, "order.unserved") == []
    with transaction(db) as session:
        start_batch(session, second.ref, now=local(DAY, 6, 0))
    with transaction(db) as session:
        done = complete_batch(
            session, second.ref, {CLASSIC: 40}, made_at=local(DAY, 8, 0), completed_by="m"
        )
    assert done.unserved == []
    ready = sorted(str(e["ref"]) for e in events(db, "order.ready"))
    assert ready == ["booking:1", "booking:2", "order:1", "order:2"]  # each exactly once


def test_completing_twice_or_before_the_start_is_refused(
    plant: Plant, db: sessionmaker[Session]
) -> None:
    batch = plant.batch({CLASSIC: 100})
    with pytest.raises(BatchStateError), transaction(db) as session:
        complete_batch(session, batch.ref, {CLASSIC: 100}, made_at=local(DAY, 6), completed_by="m")
    with transaction(db) as session:
        start_batch(session, batch.ref, now=local(DAY, 4))
    with pytest.raises(InvalidBatch), transaction(db) as session:
        complete_batch(session, batch.ref, {CLASSIC: -1}, made_at=local(DAY, 6), completed_by="m")
    with transaction(db) as session:
        complete_batch(session, batch.ref, {CLASSIC: 100}, made_at=local(DAY, 6), completed_by="m")
    with pytest.raises(BatchStateError), transaction(db) as session:
        complete_batch(session, batch.ref, {CLASSIC: 100}, made_at=local(DAY, 6), completed_by="m")
    with pytest.raises(BatchStateError), transaction(db) as session:
        start_batch(session, batch.ref, now=local(DAY, 7))


def env_of(settings: Settings) -> dict[str, str]:
    return {
        "GAOGAN_ENV": "test",
        "GAOGAN_INSTANCE": str(settings.instance_path),
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
    }


def test_gaogan_trace_lists_a_batchs_rice_lots_orders_and_distributors(
    plant: Plant, db: sessionmaker[Session], settings: Settings
) -> None:
    take_day_orders(plant)
    batch = plant.batch({CLASSIC: 100, OSMANTHUS: 40})
    runner = CliRunner()
    assert runner.invoke(cli, ["batch", "start", batch.ref], env=env_of(settings)).exit_code == 0
    result = runner.invoke(
        cli,
        ["batch", "complete", batch.ref, f"{CLASSIC}=100", f"{OSMANTHUS}=40"],
        env=env_of(settings),
    )
    assert result.exit_code == 0, result.output
    assert "4 ready, 0 unserved" in result.output

    traced = runner.invoke(cli, ["trace", batch.ref], env=env_of(settings))
    assert traced.exit_code == 0, traced.output
    for expected in ("R2026-A", "S-01", "order:1", "order:2", "booking:1", "经销商2", "crop 2026"):
        assert expected in traced.output
    by_lot = runner.invoke(cli, ["trace", "--lot", "R2026-B"], env=env_of(settings))
    assert by_lot.exit_code == 0 and f"used by batch {batch.ref}" in by_lot.output
    missing = runner.invoke(cli, ["trace", "--lot", "NOPE"], env=env_of(settings))
    assert missing.exit_code == 1 and "no lot 'NOPE'" in missing.output
    assert runner.invoke(cli, ["trace"], env=env_of(settings)).exit_code == 2
