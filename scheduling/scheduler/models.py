"""Tables of the scheduler: one run record per (job, scheduled time) and a per-job summary.

The UNIQUE (job, scheduled_for) constraint is what makes every scheduled job run at most once
per scheduled time, whatever the number of scheduler processes, restarts or outages.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from inventory.db import Base, UTCDateTime, enum_column, utcnow


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class JobRun(Base):
    """The claim and the outcome of one run of a scheduled job.

    Inserted and committed with status 'running' before the job's effect runs, so a second
    scheduler (or a second thread) inserting the same (job, scheduled_for) fails on the
    constraint and does nothing. `token` changes on every attempt: the effect's transaction
    marks the run done only if the token is still its own (a fencing token), so a run taken
    over by another process cannot also commit the effect of the one it replaced.
    """

    __tablename__ = "job_runs"
    __table_args__ = (
        UniqueConstraint("job", "scheduled_for"),
        Index("ix_job_runs_job_status", "job", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(80))
    scheduled_for: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[RunStatus] = mapped_column(enum_column(RunStatus, "job_run_status", length=16))
    token: Mapped[str] = mapped_column(String(32))
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    runner: Mapped[str] = mapped_column(String(120))  # host:pid:instance of the last attempt
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    result: Mapped[str] = mapped_column(Text, default="")
    error: Mapped[str | None] = mapped_column(Text)


class JobState(Base):
    """The latest outcome of each job, interval jobs included (which keep no run records:
    the outbox relay runs every few seconds and is idempotent by itself)."""

    __tablename__ = "scheduler_job_state"

    job: Mapped[str] = mapped_column(String(80), primary_key=True)
    last_scheduled_for: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[str] = mapped_column(String(16), default="")
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    total_failures: Mapped[int] = mapped_column(Integer, default=0)
    runner: Mapped[str] = mapped_column(String(120), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
