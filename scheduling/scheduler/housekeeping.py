"""Operations jobs: forward events to the broker, prune what the system no longer needs.

Registered from `register_builtin_jobs` like every other built-in job, so they run on the
scheduler leader only.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from inventory.db import utcnow
from inventory.housekeeping import delete_in_batches, prune_events
from inventory.nats_broker import forward_once
from inventory.settings import Settings
from scheduling.scheduler.jobs import JobContext, JobRegistry, JobSpec, registry
from scheduling.scheduler.models import JobRun, RunStatus

BROKER_FORWARD = "outbox.forward"
PRUNE = "housekeeping.prune"
# A bounded run, like the relay's, so a long backlog cannot hog one of the scheduler's threads.
FORWARD_BATCHES_PER_RUN = 20


def register_broker_forwarder(settings: Settings, *, jobs: JobRegistry = registry) -> JobSpec:
    """Forward outbox events to NATS JetStream every `relay_interval_seconds`.

    An interval job keeps no run record; the forwarder is idempotent by itself (the outbox
    `forwarded_at` column, JetStream's de-duplication by message id). A broker outage is not a
    failure of the job: the run reports it and the next run carries on where this one stopped.
    """

    def forward(ctx: JobContext) -> str:
        # The registry outlives one app: a process whose settings have no broker never
        # forwards, even if another app in it registered the job.
        if ctx.settings.broker != "nats":
            return "no broker configured"
        return str(forward_once(ctx.sessions, ctx.settings, max_batches=FORWARD_BATCHES_PER_RUN))

    return jobs.register(
        BROKER_FORWARD,
        forward,
        {"trigger": "interval", "seconds": settings.relay_interval_seconds},
        description="forward outbox events to the message broker (NATS JetStream)",
    )


def prune(ctx: JobContext) -> str:
    """Delete done events, their inbox records and finished job runs past the retention.

    Events and inbox records are stamped by the wall clock (`utcnow`), job runs by the
    scheduler's clock: each is aged by its own. They differ only in a rehearsal on a clock
    file, where the scheduler's clock runs days ahead; aging events by it would delete the
    events of the rehearsal itself.
    """
    now = ctx.now()
    settings = ctx.settings
    retention = timedelta(days=settings.retention_days)
    before = utcnow() - retention
    pruned = prune_events(
        ctx.sessions,
        before=before,
        batch_size=settings.prune_batch_size,
        require_forwarded=settings.broker != "none",
    )
    # A run record is what keeps a cron run single within its grace period: never prune one
    # that a catch-up could still look at, whatever the retention says.
    longest_grace = max((spec.grace for spec in registry.all()), default=timedelta(0))
    runs_before = min(now - retention, now - longest_grace - timedelta(days=1))
    runs = delete_in_batches(
        ctx.sessions,
        JobRun.__table__.c.id,
        select(JobRun.id).where(
            JobRun.status.in_([RunStatus.DONE, RunStatus.FAILED]),
            JobRun.finished_at < runs_before,
        ),
        batch_size=settings.prune_batch_size,
    )
    return f"{pruned}, {runs} job run(s) pruned"


def register_housekeeping_jobs(settings: Settings, *, jobs: JobRegistry = registry) -> None:
    # Deletes go in their own short transactions (ctx.sessions), not in the run's session:
    # deleting is idempotent, so a retried run after a crash does no harm.
    jobs.register(
        PRUNE,
        prune,
        # 02:30 Shanghai: after the evening cut-off's planning, before the 04:00 batch.
        {"trigger": "cron", "hour": 2, "minute": 30},
        description="prune done outbox/inbox rows and old job runs past the retention",
    )
    if settings.broker == "nats":
        register_broker_forwarder(settings, jobs=jobs)
