"""The planning area's jobs: the nightly re-plan at 02:00 and the 20:00 cut-off fed by its
recipes, main capacity profile and roster, driven by the scheduler over a simulated night."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inventory.catalog import create_product, create_raw_material
from inventory.db import transaction
from inventory.materials import receive_material
from inventory.models import Item, OutboxEvent, Supply
from inventory.reservations import Line, reserve
from inventory.settings import Settings
from inventory.supply import set_planned_supply
from scheduling.planning.calendar import set_calendar_entry
from scheduling.planning.capacity import main_profile, set_capacity_day
from scheduling.planning.demo_history import seed_recipes
from scheduling.planning.jobs import REPLAN, planning_day_inputs, register_planning_jobs
from scheduling.planning.models import Plan, PlanStatus
from scheduling.production.batch_sheet import Sheet
from scheduling.production.jobs import CUT_OFF
from scheduling.production.models import Batch, DaySheet
from scheduling.scheduler.jobs import registry
from shop.app import create_app
from tests.support.wiring import SimulatedScheduler, local

DAY = date(2027, 3, 13)  # a Saturday: the day after is a Sunday, apprentices' day off
CLASSIC, OSMANTHUS = "GG-CLASSIC", "GG-OSMANTHUS"


def _plant(db: sessionmaker[Session]) -> None:
    with transaction(db) as s:
        create_product(s, CLASSIC, "杨村糕干", "Yangcun gaogan", 1200, 250, 2, 7)
        create_product(s, OSMANTHUS, "桂花糕干", "Osmanthus gaogan", 1500, 250, 2, 7)
        create_raw_material(s, "RICE", "rice", "新米", "New-crop rice")
        create_raw_material(s, "SUGAR", "sugar", "绵白糖", "Sugar")
        received = local(DAY - timedelta(days=3), 9)
        receive_material(
            s, "RICE", 3_000_000, lot_code="RICE-1", received_at=received, crop_year=2026
        )
        receive_material(s, "SUGAR", 1_000_000, lot_code="SUGAR-1", received_at=received)
        seed_recipes(s)


@pytest.fixture
def scheduler(
    db: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> Iterator[SimulatedScheduler]:
    made = SimulatedScheduler(db, settings, tmp_path, local(DAY, 1, 0))
    register_planning_jobs(settings, jobs=made.jobs)
    yield made
    made.close()


def test_create_app_registers_the_replan_and_the_cut_off(settings: Settings) -> None:
    create_app(settings)
    names = {spec.name for spec in registry.all()}
    assert {REPLAN, CUT_OFF} <= names
    assert registry.get(REPLAN).trigger == {"trigger": "cron", "hour": 2, "minute": 0}
    assert registry.get(CUT_OFF).grace == timedelta(hours=4)


def test_the_nightly_replan_publishes_once_at_two_and_reports_a_day_below_its_promises(
    db: sessionmaker[Session], scheduler: SimulatedScheduler
) -> None:
    _plant(db)
    promised_day = DAY + timedelta(days=3)
    with transaction(db) as s:
        set_planned_supply(
            s,
            "before",
            {(CLASSIC, promised_day): 100, (OSMANTHUS, promised_day + timedelta(1)): 50},
        )
        reserve(
            s,
            "order:1",
            [Line(CLASSIC, promised_day, 40)],
            hold_until=None,
            window_days=1,
            now=local(DAY, 0, 30),
        )
        # The steaming cabinets are repaired that day: nothing can be made.
        set_calendar_entry(s, promised_day, production=False, note="蒸柜检修")
    scheduler.run_until(local(DAY, 1, 55))
    with db() as s:
        assert s.scalars(select(Plan)).all() == []
    scheduler.run_until(local(DAY, 5, 0))
    assert scheduler.runs(REPLAN) == [local(DAY, 2, 0)]
    with db() as s:
        plan = s.scalars(select(Plan)).one()
        assert plan.status is PlanStatus.PUBLISHED
        assert (plan.start, plan.end) == (DAY + timedelta(days=1), DAY + timedelta(days=14))
        assert plan.summary["publish_conflicts"] == [
            {"sku": CLASSIC, "day": promised_day.isoformat(), "planned": 0, "promised": 40}
        ]
        shortfalls = [
            e.payload
            for e in s.scalars(select(OutboxEvent).where(OutboxEvent.type == "stock.shortfall"))
        ]
        assert [(r["day"], r["short"]) for p in shortfalls for r in p["rows"]] == [
            (promised_day.isoformat(), 40)
        ]
        classic = s.scalars(select(Item.id).where(Item.sku == CLASSIC)).one()
        supply = s.scalars(
            select(Supply).where(Supply.item_id == classic, Supply.production_day == promised_day)
        ).one()
        assert (supply.planned, supply.promised, supply.plan_ref) == (0, 40, plan.ref)
        # Nobody wants osmanthus: the re-plan makes none, and the old 50 are not promised on.
        osmanthus = s.scalars(select(Item.id).where(Item.sku == OSMANTHUS)).one()
        old = s.scalars(
            select(Supply).where(
                Supply.item_id == osmanthus, Supply.production_day == promised_day + timedelta(1)
            )
        ).one()
        assert (old.planned, old.plan_ref) == (0, plan.ref)


def test_the_cut_off_at_eight_plans_tomorrows_batches_with_tomorrows_roster(
    db: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    _plant(db)
    tomorrow = DAY + timedelta(days=1)
    with transaction(db) as s:
        set_planned_supply(s, "plan-1", {(CLASSIC, tomorrow): 480, (OSMANTHUS, tomorrow): 240})
        set_capacity_day(s, main_profile(s), tomorrow, cabinets=2, extra_staff={"core": 1})
    scheduler = SimulatedScheduler(db, settings, tmp_path, local(DAY, 19, 0))
    register_planning_jobs(settings, jobs=scheduler.jobs)
    try:
        scheduler.run_until(local(DAY, 19, 55))
        with db() as s:
            assert s.scalars(select(DaySheet)).all() == []
        scheduler.run_until(local(DAY, 23, 0))
    finally:
        scheduler.close()
    assert scheduler.runs(CUT_OFF) == [local(DAY, 20, 0)]
    with db() as s:
        inputs = planning_day_inputs(s, tomorrow)
        names = {w.name for w in inputs.workers}
        assert len(names) == 7 and not any(n.startswith("学徒") for n in names)
        assert inputs.capacity.cabinets == 2
        assert (inputs.rice_sku, inputs.sugar_sku) == ("RICE", "SUGAR")
        sheet = Sheet.from_json(s.scalars(select(DaySheet.data)).one())
        assert sheet.production_day == tomorrow
        assert {line.sku: line.pieces for line in sheet.lines} == {CLASSIC: 480, OSMANTHUS: 240}
        assert len(sheet.cabinet_cycles) == 2
        assert {w for step in sheet.steps for w in step.workers} <= names
        assert len(s.scalars(select(Batch)).all()) == 1
        rows = s.scalars(select(Supply).where(Supply.production_day == tomorrow)).all()
        assert rows and all(r.closed for r in rows)
