"""The batch sheet of a production day: what the 04:00 shift makes and needs, on one page.

Built at the evening cut-off from the day's planned supply, the recipes, the day's capacity
and roster and the soak standard, then frozen (stored) so that the sheet the shift prints is
the one the soak was started from. The builder is a plain function of plain values; the
planning area supplies recipes, capacity and roster through a `DayInputs` provider.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.events import publish
from inventory.models import Item, Supply
from inventory.rules import LOCAL_ZONE
from inventory.settings import Settings
from inventory.supply import set_day_closed
from scheduling.production.batches import batch_ref_for, create_batch
from scheduling.production.models import Batch, DaySheet
from scheduling.production.process_standard import SoakRecommendation, recommend_for_day


class RecipeLike(Protocol):
    """What the sheet needs of a recipe (scheduling.planning.recipes.Recipe has these)."""

    @property
    def rice_g(self) -> int: ...
    @property
    def sugar_g(self) -> int: ...
    @property
    def units_per_tray(self) -> int: ...
    @property
    def loss_fraction(self) -> float: ...
    @property
    def labour_minutes(self) -> Mapping[str, float]: ...


@dataclass(frozen=True)
class Capacity:
    mills: int
    mill_kg_per_hour: float
    cabinets: int
    trays_per_cycle: int
    cycle_minutes: int


@dataclass(frozen=True)
class Worker:
    name: str
    steps: tuple[str, ...]  # the hand steps this person may do ("mould", "stack", ...)


@dataclass(frozen=True)
class DayInputs:
    """What the planning area knows about a production day."""

    recipes: Mapping[str, RecipeLike]
    capacity: Capacity
    workers: Sequence[Worker]
    rice_sku: str
    sugar_sku: str
    air_temp_c: float = 0.0  # the forecast for the night of the soak
    rice_moisture_pct: float = 14.0
    waves: Mapping[int, Mapping[str, int]] | None = None  # default: everything in wave 1
    first_out: timedelta = timedelta(hours=2)  # 04:00 start, first gaogan out at 06:00


@dataclass(frozen=True)
class SheetLine:
    wave: int
    sku: str
    pieces: int
    rice_g: int
    sugar_g: int
    trays: int


@dataclass(frozen=True)
class StepAssignment:
    step: str
    minutes: float
    workers: list[str]
    hours_each: float


@dataclass(frozen=True)
class Sheet:
    production_day: date
    lines: list[SheetLine]
    rice_g: int
    flour_g: int
    sugar_g: int
    soak_minutes: int
    water_temp_c: float
    soak_start: datetime
    soak_basis: str
    mill_hours: list[float]  # per mill, balanced
    cabinet_cycles: list[int]  # per cabinet
    steps: list[StepAssignment]
    warnings: list[str] = field(default_factory=list)

    def wave_totals(self) -> dict[int, dict[str, int]]:
        totals: dict[int, dict[str, int]] = {}
        for line in self.lines:
            totals.setdefault(line.wave, {})[line.sku] = line.pieces
        return totals

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["production_day"] = self.production_day.isoformat()
        data["soak_start"] = self.soak_start.isoformat()
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Sheet:
        return cls(
            production_day=date.fromisoformat(data["production_day"]),
            lines=[SheetLine(**line) for line in data["lines"]],
            rice_g=data["rice_g"],
            flour_g=data["flour_g"],
            sugar_g=data["sugar_g"],
            soak_minutes=data["soak_minutes"],
            water_temp_c=data["water_temp_c"],
            soak_start=datetime.fromisoformat(data["soak_start"]),
            soak_basis=data["soak_basis"],
            mill_hours=list(data["mill_hours"]),
            cabinet_cycles=list(data["cabinet_cycles"]),
            steps=[StepAssignment(**s) for s in data["steps"]],
            warnings=list(data["warnings"]),
        )


def _spread(total: int, parts: int) -> list[int]:
    base, extra = divmod(total, parts)
    return [base + (1 if i < extra else 0) for i in range(parts)]


def build_sheet(
    production_day: date,
    waves: Mapping[int, Mapping[str, int]],
    inputs: DayInputs,
    soak: SoakRecommendation,
    production_start: time,
    *,
    shift_hours: float = 10.0,
) -> Sheet:
    """Quantities, materials, soak, mill and cabinet load, and who does which hand step."""
    lines: list[SheetLine] = []
    warnings: list[str] = []
    labour: dict[str, float] = {}
    gross_rice = 0.0
    trays_total = 0
    for wave in sorted(waves):
        for sku, pieces in sorted(waves[wave].items()):
            if pieces <= 0:
                continue
            recipe = inputs.recipes.get(sku)
            if recipe is None:
                warnings.append(f"no recipe for {sku}: its materials are not on this sheet")
                lines.append(SheetLine(wave, sku, pieces, 0, 0, 0))
                continue
            keep = 1.0 - recipe.loss_fraction
            rice = math.ceil(pieces * recipe.rice_g / keep)
            sugar = math.ceil(pieces * recipe.sugar_g / keep)
            trays = math.ceil(pieces / recipe.units_per_tray)
            gross_rice += rice
            trays_total += trays
            for step, minutes in recipe.labour_minutes.items():
                labour[step] = labour.get(step, 0.0) + minutes * pieces
            lines.append(SheetLine(wave, sku, pieces, rice, sugar, trays))
    rice_g = sum(line.rice_g for line in lines)
    sugar_g = sum(line.sugar_g for line in lines)
    cap = inputs.capacity
    mills = max(cap.mills, 1)
    total_mill_hours = (gross_rice / 1000.0) / cap.mill_kg_per_hour if cap.mill_kg_per_hour else 0.0
    mill_hours = [round(total_mill_hours / mills, 2)] * mills
    if total_mill_hours / mills > shift_hours:
        warnings.append(
            f"milling needs {total_mill_hours / mills:.1f} h per mill, more than the "
            f"{shift_hours:g} h shift"
        )
    cycles = math.ceil(trays_total / cap.trays_per_cycle) if cap.trays_per_cycle else 0
    cabinet_cycles = _spread(cycles, max(cap.cabinets, 1))
    if cabinet_cycles and max(cabinet_cycles) * cap.cycle_minutes > shift_hours * 60:
        warnings.append(f"{cycles} steaming cycles do not fit the shift on {cap.cabinets} cabinets")
    steps: list[StepAssignment] = []
    for step in sorted(labour):
        able = sorted(w.name for w in inputs.workers if step in w.steps)
        if not able:
            warnings.append(f"nobody on the roster can do {step}")
        hours_each = labour[step] / 60.0 / len(able) if able else labour[step] / 60.0
        if able and hours_each > shift_hours:
            warnings.append(f"{step} needs {hours_each:.1f} h from each of {len(able)} people")
        steps.append(StepAssignment(step, round(labour[step], 1), able, round(hours_each, 2)))
    return Sheet(
        production_day=production_day,
        lines=lines,
        rice_g=rice_g,
        flour_g=round(gross_rice),
        sugar_g=sugar_g,
        soak_minutes=soak.minutes,
        water_temp_c=soak.water_temp_c,
        soak_start=soak.soak_start(production_day, production_start),
        soak_basis=soak.basis,
        mill_hours=mill_hours,
        cabinet_cycles=cabinet_cycles,
        steps=steps,
        warnings=warnings,
    )


def sheet_csv(sheet: Sheet) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["production_day", sheet.production_day.isoformat()])
    writer.writerow(
        ["soak_start", sheet.soak_start.astimezone(LOCAL_ZONE).strftime("%Y-%m-%d %H:%M")]
    )
    writer.writerow(["soak_minutes", sheet.soak_minutes])
    writer.writerow(["water_temp_c", sheet.water_temp_c])
    writer.writerow(["rice_kg", f"{sheet.rice_g / 1000:.1f}"])
    writer.writerow(["flour_kg", f"{sheet.flour_g / 1000:.1f}"])
    writer.writerow(["sugar_kg", f"{sheet.sugar_g / 1000:.1f}"])
    writer.writerow([])
    writer.writerow(["wave", "sku", "pieces", "rice_g", "sugar_g", "trays"])
    for line in sheet.lines:
        writer.writerow([line.wave, line.sku, line.pieces, line.rice_g, line.sugar_g, line.trays])
    writer.writerow([])
    writer.writerow(["mill", "hours"])
    for number, hours in enumerate(sheet.mill_hours, start=1):
        writer.writerow([number, hours])
    writer.writerow(["cabinet", "cycles"])
    for number, cycles in enumerate(sheet.cabinet_cycles, start=1):
        writer.writerow([number, cycles])
    writer.writerow(["step", "minutes", "workers", "hours_each"])
    for step in sheet.steps:
        writer.writerow([step.step, step.minutes, " ".join(step.workers), step.hours_each])
    for warning in sheet.warnings:
        writer.writerow(["warning", warning])
    return out.getvalue()


# -- the evening cut-off ----------------------------------------------------------------

InputsProvider = Callable[[Session, date], DayInputs]


def planned_quantities(session: Session, production_day: date) -> dict[str, int]:
    rows = session.execute(
        select(Item.sku, Supply.planned)
        .join(Supply, Supply.item_id == Item.id)
        .where(Supply.production_day == production_day, Supply.planned > 0)
        .order_by(Item.sku)
    ).all()
    return {sku: planned for sku, planned in rows}


def cut_off(
    session: Session,
    settings: Settings,
    production_day: date,
    inputs: DayInputs,
) -> Sheet | None:
    """Close the day to new orders, plan its batches and freeze its batch sheet.

    Idempotent: a day already cut off keeps its sheet and batches. None when nothing is
    planned for the day (no batch, no sheet; the day is still closed).
    """
    existing = session.scalar(select(DaySheet).where(DaySheet.production_day == production_day))
    if existing is not None:
        return Sheet.from_json(existing.data)
    set_day_closed(session, production_day, True)
    planned = planned_quantities(session, production_day)
    if not planned:
        return None
    waves = {w: dict(q) for w, q in inputs.waves.items()} if inputs.waves else {1: planned}
    soak = recommend_for_day(
        session,
        settings,
        production_day,
        air_temp_c=inputs.air_temp_c,
        rice_moisture_pct=inputs.rice_moisture_pct,
    )
    sheet = build_sheet(production_day, waves, inputs, soak, settings.production_start)
    start = datetime.combine(production_day, settings.production_start, LOCAL_ZONE)
    for wave, quantities in sorted(waves.items()):
        wave_lines = [line for line in sheet.lines if line.wave == wave]
        if session.scalar(select(Batch.id).where(Batch.ref == batch_ref_for(production_day, wave))):
            continue
        wave_start = start + (wave - 1) * inputs.first_out
        create_batch(
            session,
            production_day,
            {sku: q for sku, q in quantities.items() if q > 0},
            wave=wave,
            planned_start=wave_start,
            planned_end=wave_start + inputs.first_out,
            rice_sku=inputs.rice_sku,
            rice_g=sum(line.rice_g for line in wave_lines),
            sugar_sku=inputs.sugar_sku,
            sugar_g=sum(line.sugar_g for line in wave_lines),
            soak_minutes=sheet.soak_minutes,
            water_temp_c=sheet.water_temp_c,
        )
    session.add(DaySheet(production_day=production_day, data=sheet.to_json()))
    session.flush()
    publish(
        session,
        "day.cut_off",
        {
            "production_day": production_day.isoformat(),
            "planned": planned,
            "soak_start": sheet.soak_start.isoformat(),
            "soak_minutes": sheet.soak_minutes,
            "rice_g": sheet.rice_g,
            "sugar_g": sheet.sugar_g,
            "warnings": sheet.warnings,
        },
        key=f"day:{production_day.isoformat()}",
    )
    return sheet


def get_sheet(session: Session, production_day: date) -> Sheet | None:
    row = session.scalar(select(DaySheet).where(DaySheet.production_day == production_day))
    return Sheet.from_json(row.data) if row else None
