from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time, timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from inventory.errors import DayClosed
from inventory.reservations import Line, reserve
from inventory.settings import Settings
from scheduling.production.batch_sheet import (
    Capacity,
    DayInputs,
    Worker,
    build_sheet,
    cut_off,
    sheet_csv,
)
from scheduling.production.jobs import CUT_OFF, register_cutoff_job
from scheduling.production.models import Batch, BatchStatus
from scheduling.production.process_standard import recommend
from scheduling.scheduler.clock import ManualClock
from scheduling.scheduler.jobs import JobRegistry
from scheduling.scheduler.leader import FileLeader, Leader, PostgresLeader
from scheduling.scheduler.runner import SchedulerService
from shop.cli import cli
from shop.models import Role
from tests.shop.production.test_production_pages import client_as
from tests.support.production_floor import CLASSIC, DAY, ORDER_TIME, OSMANTHUS, build_plant, local


@dataclass(frozen=True)
class R:
    rice_g: int
    sugar_g: int
    units_per_tray: int
    loss_fraction: float = 0.0
    labour_minutes: Mapping[str, float] = field(default_factory=dict)


RECIPES = {
    CLASSIC: R(200, 50, 20, 0.2, {"mould": 0.5, "stack": 0.25}),
    OSMANTHUS: R(180, 60, 20, 0.1, {"mould": 0.6, "stack": 0.25}),
}
CAPACITY = Capacity(mills=4, mill_kg_per_hour=18, cabinets=3, trays_per_cycle=12, cycle_minutes=40)
WORKERS = [
    Worker("张师傅", ("mould", "stack")),
    Worker("李师傅", ("mould",)),
    Worker("王阿姨", ("stack",)),
]
INPUTS = DayInputs(RECIPES, CAPACITY, WORKERS, rice_sku="RICE", sugar_sku="SUGAR", air_temp_c=-5)
SOAK = recommend(
    [],
    season="winter",
    air_temp_c=-5,
    rice_moisture_pct=14,
    default_minutes=300,
    default_water_temp_c=45,
)


def test_the_sheet_adds_up_materials_mill_hours_cabinet_cycles_and_hand_work() -> None:
    sheet = build_sheet(DAY, {1: {CLASSIC: 400}, 2: {OSMANTHUS: 180}}, INPUTS, SOAK, time(4, 0))
    assert [(line.wave, line.sku, line.pieces) for line in sheet.lines] == [
        (1, CLASSIC, 400),
        (2, OSMANTHUS, 180),
    ]
    assert sheet.lines[0].rice_g == 100_000  # 400 x 200 g / (1 - 0.2)
    assert sheet.lines[1].sugar_g == 12_000  # 180 x 60 g / 0.9
    assert sheet.rice_g == 136_000
    assert sheet.mill_hours == [round(136 / 18 / 4, 2)] * 4
    assert sheet.cabinet_cycles == [1, 1, 1]  # 20 + 9 trays, 12 per cycle
    steps = {s.step: s for s in sheet.steps}
    assert steps["mould"].workers == ["张师傅", "李师傅"] and steps["mould"].minutes == 308.0
    assert steps["stack"].workers == ["张师傅", "王阿姨"]
    assert sheet.soak_start == local(DAY - timedelta(days=1), 23, 0)
    assert sheet.warnings == []


def test_the_sheet_warns_when_the_mills_or_the_roster_cannot_do_the_day() -> None:
    nobody_stacks = DayInputs(RECIPES, CAPACITY, [Worker("李师傅", ("mould",))], "RICE", "SUGAR")
    sheet = build_sheet(DAY, {1: {CLASSIC: 4000, "GG-NEW": 5}}, nobody_stacks, SOAK, time(4, 0))
    text = " ".join(sheet.warnings)
    assert "milling needs" in text and "nobody on the roster can do stack" in text
    assert "no recipe for GG-NEW" in text


def test_the_csv_carries_every_figure_of_the_sheet() -> None:
    sheet = build_sheet(DAY, {1: {CLASSIC: 400}}, INPUTS, SOAK, time(4, 0))
    rows = list(csv.reader(io.StringIO(sheet_csv(sheet))))
    assert ["soak_start", "2027-01-19 23:00"] in rows
    assert ["1", CLASSIC, "400", "100000", "25000", "20"] in rows
    assert ["mould", "200.0", "张师傅 李师傅", "1.67"] in rows


def test_the_cut_off_closes_the_day_plans_its_batch_and_freezes_the_sheet_once(
    db: sessionmaker[Session], settings: Settings
) -> None:
    plant = build_plant(db)
    plant.order("order:1", {CLASSIC: 30})
    with transaction(db) as session:
        sheet = cut_off(session, settings, DAY, INPUTS)
    assert sheet is not None and sheet.rice_g == 100 * 250 + 40 * 200
    with transaction(db) as session:
        again = cut_off(session, settings, DAY, INPUTS)
        assert again == sheet
        batches = session.scalars(select(Batch)).all()
        assert [(b.ref, b.status, b.planned) for b in batches] == [
            ("20270120-1", BatchStatus.PLANNED, {CLASSIC: 100, OSMANTHUS: 40})
        ]
        assert batches[0].planned_start == local(DAY, 4, 0)
        assert batches[0].soak_minutes == sheet.soak_minutes
    with pytest.raises(DayClosed), transaction(db) as session:
        reserve(session, "order:2", [Line(CLASSIC, DAY, 1)], hold_until=None, now=ORDER_TIME)

    client = client_as(settings, db, Role.MANAGER)
    page = client.get(f"/manager/batches/sheet?day={DAY.isoformat()}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "生产单" in html and "张师傅" in html
    as_csv = client.get(f"/manager/batches/sheet?day={DAY.isoformat()}&format=csv")
    assert as_csv.mimetype == "text/csv" and "GG-CLASSIC,100" in as_csv.get_data(as_text=True)
    assert client.get("/manager/batches/sheet?day=2027-03-01").status_code == 404
    env = {
        "GAOGAN_ENV": "test",
        "GAOGAN_INSTANCE": str(settings.instance_path),
        "DATABASE_URL": settings.database_url,
        "SECRET_KEY": settings.secret_key,
    }
    printed = CliRunner().invoke(cli, ["batch", "sheet", "--day", DAY.isoformat()], env=env)
    assert printed.exit_code == 0 and "rice_kg,33.0" in printed.output


def test_the_cut_off_job_runs_at_eight_the_evening_before_exactly_once(
    db: sessionmaker[Session], settings: Settings, tmp_path: Path
) -> None:
    build_plant(db)
    jobs = JobRegistry()
    register_cutoff_job(settings, lambda session, day: INPUTS, jobs=jobs)
    clock = ManualClock(local(DAY - timedelta(days=1), 19, 50))
    leader: Leader = (
        FileLeader(tmp_path / "lock")
        if settings.is_sqlite
        else PostgresLeader(settings.database_url)
    )
    svc = SchedulerService(db, settings, leader, jobs=jobs, clock=clock)
    try:
        assert svc.sweep(include_interval=True) == []
        for _ in range(6):
            clock.advance(timedelta(minutes=5))
            svc.sweep(include_interval=True)
        with db() as session:
            assert session.scalar(select(Batch.ref)) == "20270120-1"
            assert jobs.get(CUT_OFF).next_fire_time(clock.now()) == local(DAY, 20, 0)
    finally:
        leader.release()
