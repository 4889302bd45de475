"""The production console's page queries. The views run them with `shop.runtime.read` (a
short session closed before the template renders), so each hands back loaded rows or plain
values. Writes (starting and completing a batch, soak records and overrides) are the domain's
own use cases in `scheduling.production`, run with `shop.runtime.run`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.models import Item
from inventory.runtime import Runtime
from inventory.settings import Settings
from scheduling.production.batches import get_batch
from scheduling.production.models import Batch, SoakOverride, SoakRecord
from scheduling.production.process_standard import SoakRecommendation, recommend_for_day
from scheduling.scheduler.jobs import registry
from scheduling.scheduler.status import SchedulerReport, job_statuses


def batches_around(session: Session, day: date) -> list[Batch]:
    """The batches of the day before, the day and the day after, in production order."""
    return list(
        session.scalars(
            select(Batch)
            .where(Batch.production_day >= day - timedelta(days=1))
            .where(Batch.production_day <= day + timedelta(days=1))
            .order_by(Batch.production_day, Batch.wave)
        )
    )


def batch_with_items(session: Session, ref: str) -> tuple[Batch, dict[str, Item]]:
    """A batch and the products it plans, by SKU (for their names on the page)."""
    batch = get_batch(session, ref)
    items = {
        item.sku: item
        for item in session.scalars(select(Item).where(Item.sku.in_(sorted(batch.planned))))
    }
    return batch, items


def planned_output(session: Session, ref: str) -> dict[str, int]:
    """What a batch plans to make, per SKU: the fields of its output form."""
    return dict(get_batch(session, ref).planned)


@dataclass(frozen=True)
class SoakPage:
    recommendation: SoakRecommendation
    overrides: dict[str, SoakOverride]
    records: list[SoakRecord]


def soak_page(
    session: Session, settings: Settings, day: date, *, air_temp_c: float, rice_moisture_pct: float
) -> SoakPage:
    """The day's soak recommendation, the manager's overrides and the last 30 records."""
    recommendation = recommend_for_day(
        session, settings, day, air_temp_c=air_temp_c, rice_moisture_pct=rice_moisture_pct
    )
    overrides = {o.season: o for o in session.scalars(select(SoakOverride))}
    records = list(
        session.scalars(select(SoakRecord).order_by(SoakRecord.production_day.desc()).limit(30))
    )
    return SoakPage(recommendation, overrides, records)


def scheduler_report(runtime: Runtime) -> SchedulerReport:
    """Every registered job's state and who leads. It needs the session factory and the engine
    (not one session) because it also probes the database lock the leader holds."""
    return job_statuses(runtime.sessions, runtime.settings, runtime.engine, registry)
