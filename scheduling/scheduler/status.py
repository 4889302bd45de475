"""What the scheduler is doing, for `gaogan scheduler status` and the manager page."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import utcnow
from inventory.rules import LOCAL_ZONE
from inventory.settings import Settings
from scheduling.scheduler.jobs import JobRegistry
from scheduling.scheduler.leader import LeaderInfo, probe_leader
from scheduling.scheduler.models import JobRun, JobState, RunStatus


def format_local(moment: datetime | None) -> str:
    return "-" if moment is None else moment.astimezone(LOCAL_ZONE).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class JobStatus:
    name: str
    trigger: str
    description: str
    last_run: datetime | None  # the scheduled time of the last run (its start for interval jobs)
    last_finished_at: datetime | None
    last_status: str
    last_error: str | None
    failures: int  # every failed attempt so far
    running: bool
    next_run: datetime | None

    @property
    def last_run_local(self) -> str:
        return format_local(self.last_run)

    @property
    def next_run_local(self) -> str:
        return format_local(self.next_run)


@dataclass(frozen=True)
class SchedulerReport:
    leader: LeaderInfo
    jobs: list[JobStatus]


def recent_runs(session: Session, job: str | None = None, limit: int = 50) -> list[JobRun]:
    query = select(JobRun).order_by(JobRun.scheduled_for.desc(), JobRun.id.desc()).limit(limit)
    if job:
        query = query.where(JobRun.job == job)
    return list(session.scalars(query))


def job_statuses(
    sessions: sessionmaker[Session],
    settings: Settings,
    engine: Engine,
    jobs: JobRegistry,
    *,
    now: datetime | None = None,
) -> SchedulerReport:
    now = now or utcnow()
    with sessions() as session:
        states = {s.job: s for s in session.scalars(select(JobState))}
        running = set(session.scalars(select(JobRun.job).where(JobRun.status == RunStatus.RUNNING)))
    rows = []
    for spec in jobs.all():
        state = states.get(spec.name)
        rows.append(
            JobStatus(
                name=spec.name,
                trigger=spec.describe_trigger(),
                description=spec.description,
                last_run=(state.last_scheduled_for if state else None),
                last_finished_at=state.last_finished_at if state else None,
                last_status="running"
                if spec.name in running
                else (state.last_status if state else ""),
                last_error=state.last_error if state and state.last_status == "failed" else None,
                failures=state.total_failures if state else 0,
                running=spec.name in running,
                next_run=spec.next_fire_time(now),
            )
        )
    return SchedulerReport(leader=probe_leader(settings, engine), jobs=rows)
