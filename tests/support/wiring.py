"""A scheduler on a simulated clock, for driving wired jobs through a day."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inventory.settings import Settings
from scheduling.scheduler.clock import ManualClock
from scheduling.scheduler.jobs import JobRegistry
from scheduling.scheduler.leader import FileLeader, Leader, PostgresLeader
from scheduling.scheduler.models import JobRun, RunStatus
from scheduling.scheduler.runner import SchedulerService

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime.combine(day, time(hh, mm), SHANGHAI)


class SimulatedScheduler:
    """The production scheduler (leader lock, run records) on a clock the test moves."""

    def __init__(
        self, db: sessionmaker[Session], settings: Settings, tmp: Path, start: datetime
    ) -> None:
        self.db = db
        self.jobs = JobRegistry()
        self.clock = ManualClock(start)
        leader: Leader = (
            FileLeader(tmp / "scheduler.lock")
            if settings.is_sqlite
            else PostgresLeader(settings.database_url)
        )
        self.service = SchedulerService(db, settings, leader, jobs=self.jobs, clock=self.clock)

    def run_until(self, until: datetime, step: timedelta = timedelta(minutes=5)) -> None:
        """Sweep as the real scheduler does, every `step`, up to and including `until`."""
        self.service.sweep(include_interval=True)
        while self.clock.now() < until:
            self.clock.advance(min(step, until - self.clock.now()))
            self.service.sweep(include_interval=True)

    def close(self) -> None:
        self.service.leader.release()

    def runs(self, job: str) -> list[datetime]:
        """Scheduled times of the job's finished runs, in local time."""
        with self.db() as s:
            rows = s.scalars(
                select(JobRun.scheduled_for)
                .where(JobRun.job == job, JobRun.status == RunStatus.DONE)
                .order_by(JobRun.scheduled_for)
            )
            return [r.astimezone(SHANGHAI) for r in rows]
