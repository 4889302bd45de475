"""Tables of the season planner: calendar overrides, capacity (mills, cabinets, shifts, staff)
with per-day overrides, recipes, sales history, plans and their lines.

A *capacity profile* is the manager's model of the plant. The live one has `is_main`; a
what-if scenario is a copy (`based_on_id`) the manager edits and plans against side by side.
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inventory.db import Base, UTCDateTime, enum_column, utcnow


class OfficialStatus(enum.StrEnum):
    NORMAL = "normal"
    HOLIDAY = "holiday"
    WORKDAY = "workday"  # make-up workday (调休上班)


class CalendarEntry(Base):
    """The manager's word on one day, overriding the `holidays` library.

    `official` None keeps the library's status; `production` None derives it (no production on
    official holidays), True/False forces it (work through a holiday, close a day)."""

    __tablename__ = "plan_calendar_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    official: Mapped[OfficialStatus | None] = mapped_column(
        enum_column(OfficialStatus, "official_status", length=16)
    )
    production: Mapped[bool | None] = mapped_column(default=None)
    name: Mapped[str] = mapped_column(String(80), default="")
    note: Mapped[str] = mapped_column(String(200), default="")


class CalendarYear(Base):
    """The manager confirms a year's official arrangement has been entered (silences the
    warning for years the library does not know yet)."""

    __tablename__ = "plan_calendar_years"

    year: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    official_entered: Mapped[bool] = mapped_column(default=False)


class CapacityProfile(Base):
    __tablename__ = "plan_capacity_profiles"
    __table_args__ = (
        CheckConstraint("mills >= 0 AND mill_kg_per_hour > 0 AND mill_hours >= 0", name="mills"),
        CheckConstraint(
            "cabinets >= 0 AND trays_per_cycle > 0 AND cycle_minutes > 0", name="cabinets"
        ),
        CheckConstraint("shift_hours >= 0 AND extra_shift_hours >= 0", name="shifts"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    is_main: Mapped[bool] = mapped_column(default=False)
    based_on_id: Mapped[int | None] = mapped_column(ForeignKey("plan_capacity_profiles.id"))
    note: Mapped[str] = mapped_column(Text, default="")
    # Stone mills: one yields 15-20 kg of flour an hour.
    mills: Mapped[int] = mapped_column(Integer, default=4)
    mill_kg_per_hour: Mapped[int] = mapped_column(Integer, default=18)
    mill_hours: Mapped[float] = mapped_column(Float, default=10.0)
    cabinets: Mapped[int] = mapped_column(Integer, default=3)
    trays_per_cycle: Mapped[int] = mapped_column(Integer, default=12)
    cycle_minutes: Mapped[int] = mapped_column(Integer, default=40)
    shift_start: Mapped[time] = mapped_column(Time, default=time(4, 0))
    shift_hours: Mapped[float] = mapped_column(Float, default=10.0)
    # Length of the optional extra shift on days the manager switches it on.
    extra_shift_hours: Mapped[float] = mapped_column(Float, default=4.0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    staff: Mapped[list[StaffMember]] = relationship(
        back_populates="profile", order_by="StaffMember.id", cascade="all, delete-orphan"
    )
    days: Mapped[list[CapacityDay]] = relationship(
        back_populates="profile", order_by="CapacityDay.day", cascade="all, delete-orphan"
    )


class CapacityDay(Base):
    """Per-day overrides of a profile's defaults; NULL keeps the default."""

    __tablename__ = "plan_capacity_days"
    __table_args__ = (UniqueConstraint("profile_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("plan_capacity_profiles.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    mills: Mapped[int | None] = mapped_column(Integer)
    mill_hours: Mapped[float | None] = mapped_column(Float)
    cabinets: Mapped[int | None] = mapped_column(Integer)
    shift_hours: Mapped[float | None] = mapped_column(Float)
    extra_shift: Mapped[bool] = mapped_column(default=False)
    extra_staff: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)

    profile: Mapped[CapacityProfile] = relationship(back_populates="days")


class StaffKind(enum.StrEnum):
    CORE = "core"
    APPRENTICE = "apprentice"


class StaffMember(Base):
    """One person on the roster: which steps they may do, at what speed, on which weekdays."""

    __tablename__ = "plan_staff"

    id: Mapped[int] = mapped_column(primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("plan_capacity_profiles.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[StaffKind] = mapped_column(enum_column(StaffKind, "staff_kind", length=16))
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    # An apprentice's moulds take longer; 100 = a core member's pace.
    productivity_pct: Mapped[int] = mapped_column(Integer, default=100)
    weekdays: Mapped[list[int]] = mapped_column(JSON, default=lambda: [0, 1, 2, 3, 4, 5, 6])
    # Days off in the season (ISO dates), on top of the weekly pattern.
    days_off: Mapped[list[str]] = mapped_column(JSON, default=list)

    profile: Mapped[CapacityProfile] = relationship(back_populates="staff")


class Recipe(Base):
    """Per product: rice and sugar per finished piece, labour minutes per piece per step,
    pieces per steaming tray and the share lost in sieving and steaming."""

    __tablename__ = "plan_recipes"
    __table_args__ = (
        CheckConstraint("rice_g >= 0 AND sugar_g >= 0", name="materials"),
        CheckConstraint("units_per_tray >= 1", name="tray"),
        CheckConstraint("loss_fraction >= 0 AND loss_fraction < 1", name="loss"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), unique=True)
    rice_g: Mapped[int] = mapped_column(Integer)
    sugar_g: Mapped[int] = mapped_column(Integer)
    units_per_tray: Mapped[int] = mapped_column(Integer)
    loss_fraction: Mapped[float] = mapped_column(Float, default=0.0)
    labour_minutes: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)


class SalesHistory(Base):
    """Pieces sold per product per day in past seasons: the forecast's ground."""

    __tablename__ = "plan_sales_history"
    __table_args__ = (UniqueConstraint("item_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    quantity: Mapped[int] = mapped_column(Integer)


class PlanStatus(enum.StrEnum):
    DRAFT = "draft"
    PUBLISHED = "published"
    SUPERSEDED = "superseded"


class Plan(Base):
    __tablename__ = "plan_plans"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(60), unique=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("plan_capacity_profiles.id"), index=True)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    status: Mapped[PlanStatus] = mapped_column(enum_column(PlanStatus, "plan_status", length=16))
    growth_pct: Mapped[int] = mapped_column(Integer, default=100)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    solver_status: Mapped[str] = mapped_column(String(40), default="")
    solve_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    # Totals in pieces: demand, served, unmet (weighted tiers are in `summary`).
    demand_total: Mapped[int] = mapped_column(Integer, default=0)
    unmet_total: Mapped[int] = mapped_column(Integer, default=0)
    waste_total: Mapped[int] = mapped_column(Integer, default=0)
    overtime_hours: Mapped[float] = mapped_column(Float, default=0.0)
    summary: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    warnings: Mapped[list[str]] = mapped_column(JSON, default=list)

    profile: Mapped[CapacityProfile] = relationship()
    lines: Mapped[list[PlanLine]] = relationship(
        back_populates="plan", order_by="(PlanLine.day, PlanLine.item_id)", cascade="all"
    )
    days: Mapped[list[PlanDay]] = relationship(
        back_populates="plan", order_by="PlanDay.day", cascade="all"
    )


class PlanLine(Base):
    """What to make of one product on one production day, and what it serves."""

    __tablename__ = "plan_lines"
    __table_args__ = (UniqueConstraint("plan_id", "item_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan_plans.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    day: Mapped[date] = mapped_column(Date)
    trays: Mapped[int] = mapped_column(Integer, default=0)
    quantity: Mapped[int] = mapped_column(Integer, default=0)
    demand: Mapped[int] = mapped_column(Integer, default=0)  # demand on this day (all tiers)
    sold: Mapped[int] = mapped_column(Integer, default=0)  # demand on this day that is served
    waste: Mapped[int] = mapped_column(Integer, default=0)  # made this day, never sold

    plan: Mapped[Plan] = relationship(back_populates="lines")


class PlanDay(Base):
    """One day of a plan: unmet demand (a day to close to new orders) and how full each
    resource is."""

    __tablename__ = "plan_days"
    __table_args__ = (UniqueConstraint("plan_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan_plans.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    production: Mapped[bool] = mapped_column(default=True)
    demand: Mapped[int] = mapped_column(Integer, default=0)
    unmet: Mapped[int] = mapped_column(Integer, default=0)
    unmet_by_tier: Mapped[list[int]] = mapped_column(JSON, default=list)
    capacity_units: Mapped[int] = mapped_column(Integer, default=0)
    utilisation: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    overtime_hours: Mapped[float] = mapped_column(Float, default=0.0)
    rice_g: Mapped[int] = mapped_column(Integer, default=0)
    sugar_g: Mapped[int] = mapped_column(Integer, default=0)

    plan: Mapped[Plan] = relationship(back_populates="days")


class PlanRunStatus(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class PlanRun(Base):
    """One plan being made in the background for the console or the API (`plan_runs.py`).

    The solver's progress lives here, not in the process that solves, so any web worker can
    answer "how far is it". `active_key` is the date range while the run is queued or running
    and NULL afterwards: its unique constraint is the guard that two managers pressing "plan"
    for the same range at once start one solve, not two."""

    __tablename__ = "plan_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    status: Mapped[PlanRunStatus] = mapped_column(
        enum_column(PlanRunStatus, "plan_run_status", length=16), default=PlanRunStatus.QUEUED
    )
    active_key: Mapped[str | None] = mapped_column(String(40), unique=True)
    start: Mapped[date] = mapped_column(Date)
    end: Mapped[date] = mapped_column(Date)
    # What to plan: profile ids, growth, materials, time limit, gap, whether baselines and
    # a comparison are wanted (a PlanRequest and its options, as JSON).
    request: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    requested_by: Mapped[int | None] = mapped_column(Integer)
    # Progress: the running stage (a planner stage name, "prepare", "bound" or "saving"),
    # the share of the whole run done, the profile being planned (of how many), and what
    # HiGHS reports in the running stage.
    stage: Mapped[str] = mapped_column(String(40), default="queued")
    fraction: Mapped[float] = mapped_column(Float, default=0.0)
    profile_index: Mapped[int] = mapped_column(Integer, default=0)
    profile_count: Mapped[int] = mapped_column(Integer, default=1)
    gap: Mapped[float | None] = mapped_column(Float)
    best_value: Mapped[float | None] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Written every second or so while the run is alive: a run whose heartbeat stops was
    # lost with its process (a restart) and is reported as failed, freeing its range.
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    worker: Mapped[str] = mapped_column(String(80), default="")
    plan_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # Why it failed: a message key and its details (worded in the reader's language), and
    # the English text for the log.
    error_key: Mapped[str | None] = mapped_column(String(80))
    error_params: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    error: Mapped[str] = mapped_column(Text, default="")
