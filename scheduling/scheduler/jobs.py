"""The job registry: what runs when, and what a job is handed when it runs.

Areas register plain functions of a `JobContext`:

    register_job("orders.expire_unpaid",
                 lambda ctx: expire_unpaid_orders(ctx.session, ctx.now()),
                 {"trigger": "interval", "minutes": 5})

Triggers are APScheduler 3 cron or interval keyword arguments, read in Asia/Shanghai.

Cron jobs ("the 04:00 batch start") run at most once per scheduled time: each run is a
`JobRun` row unique on (job, scheduled_for). A job that writes only through `ctx.session`
runs exactly once: that session's transaction also marks the run done, so the effect and the
record commit together or not at all. A job that opens its own transactions through
`ctx.sessions` must make those effects idempotent itself (they may be retried after a crash),
and must not use `ctx.session` before them: on SQLite the run's open write transaction would
block its own later ones.

Interval jobs (the outbox relay) keep no run record: they run every few seconds on the
leader and must be idempotent by themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy.orm import Session, sessionmaker

from inventory.rules import LOCAL_ZONE
from inventory.settings import Settings
from scheduling.scheduler.clock import Clock

# A daily job missed by an outage shorter than this still runs (once) when the scheduler
# returns; after longer, the moment has passed (yesterday's batch is not started today).
DEFAULT_CRON_GRACE = timedelta(hours=2)
# A run left 'running' this long by a process that vanished may be taken over.
DEFAULT_RUN_TIMEOUT = timedelta(minutes=30)
DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_RETRY_DELAY = timedelta(minutes=5)


class JobConfigError(ValueError):
    """A job was registered with a trigger the scheduler cannot run."""


@dataclass
class JobContext:
    name: str
    sessions: sessionmaker[Session]
    settings: Settings
    scheduled_for: datetime
    clock: Clock
    # The run's own transaction: commits together with the run record (exactly once).
    session: Session

    def now(self) -> datetime:
        return self.clock.now()

    @property
    def local_scheduled_for(self) -> datetime:
        return self.scheduled_for.astimezone(LOCAL_ZONE)


JobFunc = Callable[[JobContext], object]


@dataclass(frozen=True)
class JobSpec:
    name: str
    func: JobFunc
    trigger: Mapping[str, Any]
    grace: timedelta
    timeout: timedelta = DEFAULT_RUN_TIMEOUT
    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    retry_delay: timedelta = DEFAULT_RETRY_DELAY
    description: str = ""
    _built: BaseTrigger = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_built", build_trigger(self.trigger))

    @property
    def kind(self) -> str:
        return str(self.trigger["trigger"])

    @property
    def is_interval(self) -> bool:
        return self.kind == "interval"

    @property
    def interval(self) -> timedelta:
        built = self._built
        assert isinstance(built, IntervalTrigger)
        interval: timedelta = built.interval
        return interval

    def apscheduler_trigger(self) -> BaseTrigger:
        return build_trigger(self.trigger)

    def fire_times(self, start: datetime, end: datetime) -> Iterator[datetime]:
        """Fire times t with start <= t <= end (cron jobs), as aware datetimes."""
        trigger = self._built
        moment: datetime | None = trigger.get_next_fire_time(None, start.astimezone(LOCAL_ZONE))
        while moment is not None and moment <= end:
            yield moment
            moment = trigger.get_next_fire_time(moment, moment)

    def latest_due(self, now: datetime) -> datetime | None:
        """The most recent fire time not older than the grace period, if any."""
        latest = None
        for moment in self.fire_times(now - self.grace, now):
            latest = moment
        return latest

    def next_fire_time(self, now: datetime) -> datetime | None:
        moment: datetime | None = self._built.get_next_fire_time(
            None, now.astimezone(LOCAL_ZONE) + timedelta(microseconds=1)
        )
        return moment

    def describe_trigger(self) -> str:
        parts = [f"{k}={v}" for k, v in self.trigger.items() if k != "trigger"]
        return f"{self.kind}({', '.join(parts)})"


def build_trigger(trigger: Mapping[str, Any]) -> BaseTrigger:
    kwargs = dict(trigger)
    kind = kwargs.pop("trigger", None)
    kwargs.setdefault("timezone", LOCAL_ZONE)
    try:
        if kind == "cron":
            return CronTrigger(**kwargs)
        if kind == "interval":
            return IntervalTrigger(**kwargs)
    except (TypeError, ValueError) as exc:
        raise JobConfigError(f"bad {kind} trigger {dict(trigger)!r}: {exc}") from exc
    raise JobConfigError(f"trigger must be 'cron' or 'interval', got {kind!r}")


class JobRegistry:
    def __init__(self) -> None:
        self._jobs: dict[str, JobSpec] = {}

    def register(
        self,
        name: str,
        func: JobFunc,
        trigger: Mapping[str, Any],
        *,
        grace: timedelta | None = None,
        timeout: timedelta = DEFAULT_RUN_TIMEOUT,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        retry_delay: timedelta = DEFAULT_RETRY_DELAY,
        description: str = "",
    ) -> JobSpec:
        if not name or len(name) > 80:
            raise JobConfigError("a job name is 1-80 characters")
        kind = trigger.get("trigger")
        if grace is None:
            grace = DEFAULT_CRON_GRACE
            if kind == "interval":
                built = build_trigger(trigger)
                assert isinstance(built, IntervalTrigger)
                grace = built.interval
        spec = JobSpec(
            name=name,
            func=func,
            trigger=dict(trigger),
            grace=grace,
            timeout=timeout,
            max_attempts=max_attempts,
            retry_delay=retry_delay,
            description=description,
        )
        # Registering a name again replaces it: create_app may run twice in one process.
        self._jobs[name] = spec
        return spec

    def get(self, name: str) -> JobSpec:
        return self._jobs[name]

    def all(self) -> list[JobSpec]:
        return [self._jobs[name] for name in sorted(self._jobs)]

    def remove(self, name: str) -> None:
        self._jobs.pop(name, None)

    def clear(self) -> None:
        self._jobs.clear()

    def __contains__(self, name: object) -> bool:
        return name in self._jobs


registry = JobRegistry()


def register_job(
    name: str,
    func: JobFunc,
    trigger: Mapping[str, Any],
    *,
    grace: timedelta | None = None,
    timeout: timedelta = DEFAULT_RUN_TIMEOUT,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    description: str = "",
) -> JobSpec:
    """Register a job on the process-wide registry the scheduler runs."""
    return registry.register(
        name,
        func,
        trigger,
        grace=grace,
        timeout=timeout,
        max_attempts=max_attempts,
        description=description,
    )
