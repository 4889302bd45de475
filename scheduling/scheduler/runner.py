"""The scheduler: runs registered jobs on the leader, each scheduled time at most once.

How a scheduled (cron) run is made exactly-once, whatever restarts and outages happen:

1. Claim. Insert JobRun(job, scheduled_for, status='running', token) and commit. The UNIQUE
   (job, scheduled_for) constraint lets only one process, and one thread, win; everyone else
   sees the row and leaves it alone.
2. Effect. Run the job with `ctx.session` open in a new transaction; in that same transaction
   mark the run 'done', but only if the row still carries our token. Effect and record commit
   together or not at all; a job that only writes through `ctx.session` runs exactly once.
3. Failure. An exception rolls the effect back and marks the run 'failed' (with the error); it
   is retried after `retry_delay`, up to `max_attempts`, while still within the grace period.
4. Crash. A process that dies between 1 and 2 leaves 'running' with a started_at. A new leader
   takes such a run over at once when it was started by another process before this one became
   leader (the old runner cannot be leading any more); otherwise after the job's `timeout`.
   Taking over changes the token, so a stale runner that wakes up cannot mark it done.

Catch-up. Every check ("sweep") looks, for each cron job, at its latest fire time within the
grace period and runs it if it has no record yet. So a scheduler stopped over 04:00 and back at
04:20 starts the 04:00 batch once, and one back the next day does not see yesterday's 04:00 at
all (it is older than the grace period, and anyway already recorded).

Drivers. In production APScheduler (BackgroundScheduler, Asia/Shanghai) fires each cron job at
its time and each interval job at its interval, and a sweep job re-checks the leader lock and
catches up. With a simulated clock the sweep alone drives everything through `tick(now)`: the
same claim/effect path, without waiting for wall-clock time.
"""

from __future__ import annotations

import logging
import threading
import traceback
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from inventory.events import publish
from inventory.rules import LOCAL_ZONE
from inventory.runtime import Runtime
from inventory.settings import Settings
from scheduling.scheduler.clock import Clock, SystemClock
from scheduling.scheduler.jobs import JobContext, JobRegistry, JobSpec, registry
from scheduling.scheduler.leader import Leader, instance_name, make_leader
from scheduling.scheduler.models import JobRun, JobState, RunStatus

log = logging.getLogger("gaogan.scheduler")

DEFAULT_LEADER_CHECK_SECONDS = 15.0


class Outcome(StrEnum):
    DONE = "done"  # this call ran the job and recorded it
    FAILED = "failed"  # this call ran the job, it raised, the failure is recorded
    ALREADY_DONE = "already_done"  # someone ran it before
    BUSY = "busy"  # another attempt holds the claim
    BACKING_OFF = "backing_off"  # failed recently; retried later
    GAVE_UP = "gave_up"  # failed max_attempts times
    LOST = "lost"  # taken over while running: our effect was rolled back
    NOT_LEADER = "not_leader"


class LostClaim(RuntimeError):
    """The run record no longer carries our token: another process took the run over."""


@dataclass(frozen=True)
class RunReport:
    job: str
    scheduled_for: datetime | None
    outcome: Outcome


def _summary(result: object) -> str:
    if result is None:
        return ""
    if isinstance(result, list | tuple | set | frozenset):
        return f"{len(result)} item(s)"
    return str(result)[:500]


class SchedulerService:
    """Leader-gated, record-guarded job execution; no threads of its own."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        leader: Leader,
        *,
        jobs: JobRegistry = registry,
        clock: Clock | None = None,
        instance: str | None = None,
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.leader = leader
        self.jobs = jobs
        self.clock = clock or SystemClock()
        self.instance = instance or f"{instance_name()}:{uuid.uuid4().hex[:6]}"
        self.leader_since: datetime | None = None
        self._settled: dict[str, datetime] = {}  # cron job -> last fire time known finished
        self._interval_last: dict[str, datetime] = {}
        self._lock = threading.Lock()

    # -- leadership --------------------------------------------------------------------

    @property
    def is_leader(self) -> bool:
        return self.leader_since is not None

    def check_leadership(self) -> bool:
        held = self.leader.check()
        with self._lock:
            if held and self.leader_since is None:
                self.leader_since = self.clock.now()
                self._settled.clear()
                log.info("%s is now the leader", self.instance)
            elif not held and self.leader_since is not None:
                self.leader_since = None
                log.warning("%s is no longer the leader", self.instance)
        return held

    def sweep(self, *, include_interval: bool) -> list[RunReport]:
        """Re-check the lock, then run whatever is due (catch-up included)."""
        if not self.check_leadership():
            return []
        return self.tick(self.clock.now(), include_interval=include_interval)

    # -- what is due -------------------------------------------------------------------

    def tick(self, now: datetime, *, include_interval: bool = True) -> list[RunReport]:
        if not self.is_leader:
            return []
        reports: list[RunReport] = []
        for spec in self.jobs.all():
            if spec.is_interval:
                if include_interval:
                    last = self._interval_last.get(spec.name)
                    if last is None or now - last >= spec.interval:
                        reports.append(self.run_interval(spec.name))
                continue
            report = self.run_due(spec.name, now)
            if report is not None:
                reports.append(report)
        return reports

    def run_due(self, name: str, now: datetime | None = None) -> RunReport | None:
        """Run the latest fire time of a cron job within its grace period, if not yet run."""
        spec = self.jobs.get(name)
        now = now or self.clock.now()
        due = spec.latest_due(now)
        if due is None or self._settled.get(name) == due:
            return None
        outcome = self.run_once(spec, due)
        if outcome in {Outcome.DONE, Outcome.ALREADY_DONE, Outcome.GAVE_UP}:
            self._settled[name] = due
        return RunReport(name, due, outcome)

    def fire(self, name: str) -> None:
        """APScheduler's callback for one job."""
        if not self.is_leader:
            return
        spec = self.jobs.get(name)
        if spec.is_interval:
            self.run_interval(name)
        else:
            self.run_due(name)

    # -- cron runs: claim, effect, record ----------------------------------------------

    def run_once(self, spec: JobSpec, scheduled_for: datetime) -> Outcome:
        if not self.is_leader:
            return Outcome.NOT_LEADER
        claimed = self._claim(spec, scheduled_for)
        if isinstance(claimed, Outcome):
            return claimed
        run_id, token = claimed
        log.info("job %s for %s started", spec.name, scheduled_for.isoformat())
        try:
            with transaction(self.sessions) as session:
                ctx = JobContext(
                    name=spec.name,
                    sessions=self.sessions,
                    settings=self.settings,
                    scheduled_for=scheduled_for,
                    clock=self.clock,
                    session=session,
                )
                result = spec.func(ctx)
                finished = self.clock.now()
                marked = session.execute(
                    update(JobRun)
                    .where(
                        JobRun.id == run_id,
                        JobRun.token == token,
                        JobRun.status == RunStatus.RUNNING,
                    )
                    .values(status=RunStatus.DONE, finished_at=finished, result=_summary(result))
                )
                if marked.rowcount != 1:  # type: ignore[attr-defined]
                    raise LostClaim(f"{spec.name} at {scheduled_for} was taken over")
                publish(
                    session,
                    "job.run.done",
                    {
                        "job": spec.name,
                        "scheduled_for": scheduled_for.isoformat(),
                        "finished_at": finished.isoformat(),
                        "result": _summary(result),
                        "runner": self.instance,
                    },
                    key=f"job:{spec.name}",
                )
                self._record_state(session, spec.name, scheduled_for, "done", None)
        except LostClaim:
            log.warning("job %s was taken over while running; effect rolled back", spec.name)
            return Outcome.LOST
        except Exception as exc:
            log.exception("job %s for %s failed", spec.name, scheduled_for.isoformat())
            self._mark_failed(spec, run_id, token, scheduled_for, exc)
            return Outcome.FAILED
        log.info("job %s for %s done", spec.name, scheduled_for.isoformat())
        return Outcome.DONE

    def _claim(self, spec: JobSpec, scheduled_for: datetime) -> tuple[int, str] | Outcome:
        token = uuid.uuid4().hex
        now = self.clock.now()
        try:
            with transaction(self.sessions) as session:
                row = JobRun(
                    job=spec.name,
                    scheduled_for=scheduled_for,
                    status=RunStatus.RUNNING,
                    token=token,
                    attempts=1,
                    runner=self.instance,
                    started_at=now,
                    result="",
                )
                session.add(row)
                session.flush()
                return row.id, token
        except IntegrityError:
            pass  # the run record exists: another process (or an earlier start) claimed it
        with transaction(self.sessions) as session:
            existing = session.scalars(
                select(JobRun).where(JobRun.job == spec.name, JobRun.scheduled_for == scheduled_for)
            ).one()
            if existing.status is RunStatus.DONE:
                return Outcome.ALREADY_DONE
            if existing.status is RunStatus.RUNNING:
                orphaned = (
                    existing.runner != self.instance
                    and self.leader_since is not None
                    and existing.started_at < self.leader_since
                )
                stale = now - existing.started_at >= spec.timeout
                if not (orphaned or stale):
                    return Outcome.BUSY
                log.warning(
                    "taking over run of %s for %s abandoned by %s",
                    spec.name,
                    scheduled_for.isoformat(),
                    existing.runner,
                )
            else:  # FAILED
                if existing.attempts >= spec.max_attempts:
                    return Outcome.GAVE_UP
                if existing.finished_at and now < existing.finished_at + spec.retry_delay:
                    return Outcome.BACKING_OFF
            taken = session.execute(
                update(JobRun)
                .where(JobRun.id == existing.id, JobRun.token == existing.token)
                .values(
                    status=RunStatus.RUNNING,
                    token=token,
                    attempts=existing.attempts + 1,
                    runner=self.instance,
                    started_at=now,
                    finished_at=None,
                    error=None,
                )
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                return Outcome.BUSY
            return existing.id, token

    def _mark_failed(
        self, spec: JobSpec, run_id: int, token: str, scheduled_for: datetime, exc: BaseException
    ) -> None:
        error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:2000]
        try:
            with transaction(self.sessions) as session:
                marked = session.execute(
                    update(JobRun)
                    .where(JobRun.id == run_id, JobRun.token == token)
                    .values(status=RunStatus.FAILED, finished_at=self.clock.now(), error=error)
                )
                if marked.rowcount != 1:  # type: ignore[attr-defined]
                    return
                publish(
                    session,
                    "job.run.failed",
                    {
                        "job": spec.name,
                        "scheduled_for": scheduled_for.isoformat(),
                        "error": error,
                        "runner": self.instance,
                    },
                    key=f"job:{spec.name}",
                )
                self._record_state(session, spec.name, scheduled_for, "failed", error)
        except Exception:  # the database is gone too; the 'running' row will be taken over
            log.exception("could not record a job failure", extra={"job": spec.name})

    # -- interval runs -----------------------------------------------------------------

    def run_interval(self, name: str) -> RunReport:
        spec = self.jobs.get(name)
        if not self.is_leader:
            return RunReport(name, None, Outcome.NOT_LEADER)
        now = self.clock.now()
        self._interval_last[name] = now
        error: str | None = None
        try:
            with transaction(self.sessions) as session:
                ctx = JobContext(
                    name=name,
                    sessions=self.sessions,
                    settings=self.settings,
                    scheduled_for=now,
                    clock=self.clock,
                    session=session,
                )
                spec.func(ctx)
        except Exception as exc:
            log.exception("interval job %s failed", name)
            error = "".join(traceback.format_exception_only(type(exc), exc)).strip()[:2000]
        try:
            with transaction(self.sessions) as session:
                self._record_state(
                    session, name, now, "failed" if error else "done", error, started=now
                )
        except Exception:
            log.exception("could not record an interval job's state", extra={"job": name})
        return RunReport(name, now, Outcome.FAILED if error else Outcome.DONE)

    # -- the per-job summary -----------------------------------------------------------

    def _record_state(
        self,
        session: Session,
        name: str,
        scheduled_for: datetime,
        status: str,
        error: str | None,
        *,
        started: datetime | None = None,
    ) -> None:
        now = self.clock.now()
        failed = 1 if status == "failed" else 0
        values: dict[str, Any] = {
            "job": name,
            "last_scheduled_for": scheduled_for,
            "last_started_at": started or scheduled_for,
            "last_finished_at": now,
            "last_status": status,
            "last_error": error,
            "consecutive_failures": failed,
            "total_failures": failed,
            "runner": self.instance,
            "updated_at": now,
        }
        insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
        statement = insert(JobState).values(**values)
        changes: dict[str, Any] = {k: statement.excluded[k] for k in values if k != "job"}
        changes["consecutive_failures"] = (
            (JobState.consecutive_failures + 1)
            if failed
            else statement.excluded.consecutive_failures
        )
        changes["total_failures"] = JobState.total_failures + failed
        session.execute(statement.on_conflict_do_update(index_elements=["job"], set_=changes))


class SchedulerProcess:
    """APScheduler around a SchedulerService: the `gaogan scheduler` process (or a thread of
    `gaogan serve`).

    With `simulated=True` (a clock that is not the wall clock) only the sweep runs, every
    `tick_seconds`, and drives every job through `tick(clock.now())`.
    """

    def __init__(
        self,
        service: SchedulerService,
        *,
        leader_check_seconds: float = DEFAULT_LEADER_CHECK_SECONDS,
        simulated: bool = False,
        tick_seconds: float = 1.0,
    ) -> None:
        self.service = service
        self.simulated = simulated
        self.leader_check_seconds = leader_check_seconds
        self.tick_seconds = tick_seconds
        self.scheduler = BackgroundScheduler(
            timezone=LOCAL_ZONE,
            executors={"default": ThreadPoolExecutor(max_workers=4)},
            job_defaults={"coalesce": True, "max_instances": 1},
        )

    def _sweep(self) -> None:
        try:
            self.service.sweep(include_interval=self.simulated)
        except Exception:  # the next sweep retries; the process stays up
            log.exception("scheduler sweep failed")

    def start(self) -> None:
        every = self.tick_seconds if self.simulated else self.leader_check_seconds
        self.scheduler.add_job(
            self._sweep,
            IntervalTrigger(seconds=every, timezone=LOCAL_ZONE),
            id="scheduler.sweep",
            name="leader check and catch-up",
            next_run_time=datetime.now(LOCAL_ZONE),
            misfire_grace_time=max(1, int(every * 2)),
        )
        if not self.simulated:
            for spec in self.service.jobs.all():
                self.scheduler.add_job(
                    self.service.fire,
                    spec.apscheduler_trigger(),
                    args=[spec.name],
                    id=spec.name,
                    name=spec.name,
                    # Explicit: APScheduler's default of 1 s would silently drop a 04:00 run
                    # delayed by a busy pool; the run record keeps a late run single.
                    misfire_grace_time=max(1, int(spec.grace.total_seconds())),
                    coalesce=True,
                    max_instances=1,
                )
        self.scheduler.start()
        log.info(
            "scheduler started",
            extra={"jobs": [s.name for s in self.service.jobs.all()], "simulated": self.simulated},
        )

    def shutdown(self) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)
        self.service.leader.release()
        log.info("scheduler stopped")


def build_scheduler(
    runtime: Runtime,
    *,
    jobs: JobRegistry = registry,
    clock: Clock | None = None,
    leader: Leader | None = None,
    leader_check_seconds: float = DEFAULT_LEADER_CHECK_SECONDS,
    tick_seconds: float = 1.0,
) -> SchedulerProcess:
    """The scheduler for one process; `gaogan serve` calls this and `.start()`s it."""
    service = SchedulerService(
        runtime.sessions,
        runtime.settings,
        leader or make_leader(runtime.settings),
        jobs=jobs,
        clock=clock,
    )
    return SchedulerProcess(
        service,
        leader_check_seconds=leader_check_seconds,
        simulated=clock is not None and not isinstance(clock, SystemClock),
        tick_seconds=tick_seconds,
    )


@contextmanager
def scheduler_running(runtime: Runtime, **options: Any) -> Iterator[SchedulerProcess]:
    """The scheduler as threads of the current process, for `gaogan serve`:

        with scheduler_running(runtime):
            serve_http_until_stopped()

    Safe next to a separate `gaogan scheduler`: only the lock holder runs jobs.
    """
    process = build_scheduler(runtime, **options)
    process.start()
    try:
        yield process
    finally:
        process.shutdown()


def run_forever(process: SchedulerProcess, stop: threading.Event) -> None:
    """Run until `stop` is set (SIGTERM/SIGINT in the CLI); finish running jobs, free the lock."""
    process.start()
    try:
        stop.wait()
    finally:
        process.shutdown()
