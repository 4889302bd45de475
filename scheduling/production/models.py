"""Tables of production: soak records and the manager's soak standard, batches and the
material lots each batch consumed (the traceability links)."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from inventory.db import Base, UTCDateTime, enum_column, utcnow


class SoakResult(enum.StrEnum):
    GOOD = "good"
    UNDER = "under"  # rice still hard at the core: soak was too short
    OVER = "over"  # rice sour or mushy: soak was too long


class SoakRecord(Base):
    """One day's soak as the makers wrote it down since 2004."""

    __tablename__ = "soak_records"
    __table_args__ = (
        CheckConstraint("soak_minutes > 0", name="soak_minutes_positive"),
        CheckConstraint(
            "rice_moisture_pct >= 0 AND rice_moisture_pct <= 100", name="moisture_percent"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    production_day: Mapped[date] = mapped_column(Date, index=True)
    batch_ref: Mapped[str | None] = mapped_column(String(60), index=True)
    soak_minutes: Mapped[int] = mapped_column(Integer)
    water_temp_c: Mapped[float] = mapped_column(Float)
    air_temp_c: Mapped[float] = mapped_column(Float)
    rice_moisture_pct: Mapped[float] = mapped_column(Float)
    result: Mapped[SoakResult] = mapped_column(enum_column(SoakResult, "soak_result", length=16))
    rice_lot_code: Mapped[str | None] = mapped_column(String(60))
    notes: Mapped[str] = mapped_column(Text, default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SoakOverride(Base):
    """The manager's word for a season, which wins over the fitted rule until cleared."""

    __tablename__ = "soak_overrides"
    __table_args__ = (
        UniqueConstraint("season"),
        CheckConstraint("soak_minutes > 0", name="soak_minutes_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    season: Mapped[str] = mapped_column(String(12))
    soak_minutes: Mapped[int] = mapped_column(Integer)
    water_temp_c: Mapped[float | None] = mapped_column(Float)
    reason: Mapped[str] = mapped_column(Text, default="")
    set_by: Mapped[str] = mapped_column(String(120), default="")
    set_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BatchStatus(enum.StrEnum):
    PLANNED = "planned"
    STARTED = "started"
    COMPLETED = "completed"


class Batch(Base):
    """One wave of one production day: what it should make, what it used, what it made.

    `ref` ("20270120-1") names the batch everywhere: the product lots it makes are coded
    f"{ref}-{sku}" and carry it as `Lot.batch_ref`; its ledger entries use "batch:{ref}".
    """

    __tablename__ = "batches"
    __table_args__ = (
        UniqueConstraint("production_day", "wave"),
        CheckConstraint("wave >= 1", name="wave_positive"),
        CheckConstraint("rice_g >= 0 AND sugar_g >= 0", name="materials_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(40), unique=True)
    production_day: Mapped[date] = mapped_column(Date, index=True)
    wave: Mapped[int] = mapped_column(Integer, default=1)
    status: Mapped[BatchStatus] = mapped_column(enum_column(BatchStatus, "batch_status", length=16))
    planned_start: Mapped[datetime] = mapped_column(UTCDateTime)
    # When nobody records the output, the batch is completed as planned at this time.
    planned_end: Mapped[datetime] = mapped_column(UTCDateTime)
    planned: Mapped[dict[str, int]] = mapped_column(JSON)  # sku -> pieces
    actual: Mapped[dict[str, int] | None] = mapped_column(JSON)
    rice_sku: Mapped[str] = mapped_column(String(40))
    rice_g: Mapped[int] = mapped_column(Integer)
    sugar_sku: Mapped[str] = mapped_column(String(40))
    sugar_g: Mapped[int] = mapped_column(Integer)
    soak_minutes: Mapped[int | None] = mapped_column(Integer)
    water_temp_c: Mapped[float | None] = mapped_column(Float)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BatchMaterial(Base):
    """A raw-material lot a batch consumed: the link a recall follows back to the rice."""

    __tablename__ = "batch_materials"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("batches.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    quantity: Mapped[int] = mapped_column(Integer)  # grams taken from the lot
    ledger_entry_id: Mapped[int | None] = mapped_column(ForeignKey("stock_ledger.id"))


class DaySheet(Base):
    """The batch sheet frozen at the evening cut-off (JSON of scheduling.production.batch_sheet.Sheet)."""

    __tablename__ = "day_sheets"

    id: Mapped[int] = mapped_column(primary_key=True)
    production_day: Mapped[date] = mapped_column(Date, unique=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
