"""The jobs the scheduling package itself runs, registered from the composition root."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from inventory.materials import expire_lots
from inventory.relay import relay_once
from inventory.reservations import expire_holds
from inventory.settings import Settings
from scheduling.batch_sheet import InputsProvider, cut_off
from scheduling.batches import complete_due_batches, local_day, start_due_batches
from scheduling.jobs import JobContext, JobRegistry, JobSpec, registry
from scheduling.scheduler.housekeeping import register_housekeeping_jobs

OUTBOX_RELAY = "outbox.relay"
BATCH_START = "production.batch_start"
BATCH_COMPLETE = "production.batch_complete"
EXPIRE_LOTS = "inventory.expire_lots"
EXPIRE_HOLDS = "inventory.expire_holds"
CUT_OFF = "production.cut_off"
# More than one batch per run when there is a backlog, but bounded so one run cannot starve
# the other jobs of the scheduler's threads.
RELAY_BATCHES_PER_RUN = 20

RelayOnce = Callable[[sessionmaker[Session], Settings], Any]


def register_outbox_relay(
    relay_once: RelayOnce, settings: Settings, *, jobs: JobRegistry = registry
) -> JobSpec:
    """Run the outbox relay on the leader every `relay_interval_seconds`.

    `relay_once(sessions, settings)` delivers one batch in its own transaction and returns
    stats with a `claimed` count; it is idempotent (SKIP LOCKED claims, inbox per consumer),
    so it needs no run record.
    """

    def relay(ctx: JobContext) -> int:
        claimed_total = 0
        for _ in range(RELAY_BATCHES_PER_RUN):
            stats = relay_once(ctx.sessions, ctx.settings)
            claimed = int(getattr(stats, "claimed", 0))
            claimed_total += claimed
            if claimed < ctx.settings.relay_batch_size:
                break
        return claimed_total

    return jobs.register(
        OUTBOX_RELAY,
        relay,
        {"trigger": "interval", "seconds": settings.relay_interval_seconds},
        description="deliver pending outbox events to their subscribers",
    )


def register_production_jobs(settings: Settings, *, jobs: JobRegistry = registry) -> None:
    """Batch start and default completion, lots past best-before, expired holds.

    Every one writes only through `ctx.session`, so its effect and its run record commit
    together: exactly once per scheduled time.
    """
    jobs.register(
        BATCH_START,
        lambda ctx: start_due_batches(
            ctx.session,
            due=ctx.scheduled_for,
            now=ctx.now(),
            harvest_month=ctx.settings.harvest_month,
        ),
        # Every quarter hour from the production start on: 04:00 starts the first wave,
        # later checks start the peak's later waves when their time comes.
        {"trigger": "cron", "minute": "*/15"},
        description="start today's planned batches whose start time has come",
    )
    jobs.register(
        BATCH_COMPLETE,
        lambda ctx: complete_due_batches(ctx.session, due=ctx.scheduled_for),
        {"trigger": "cron", "minute": "*/15"},
        description="complete as planned the batches nobody recorded by their end time",
    )
    jobs.register(
        EXPIRE_LOTS,
        lambda ctx: expire_lots(ctx.session, local_day(ctx.scheduled_for)),
        {"trigger": "cron", "hour": 0, "minute": 30},
        description="lots past their best-before become waste",
    )
    jobs.register(
        EXPIRE_HOLDS,
        lambda ctx: expire_holds(ctx.session, now=ctx.now()),
        {"trigger": "cron", "minute": "*/5"},
        description="free the stock of checkouts that were never paid",
    )


def register_cutoff_job(
    settings: Settings,
    inputs: InputsProvider,
    *,
    jobs: JobRegistry = registry,
    grace: timedelta | None = None,
) -> JobSpec:
    """The evening cut-off: close tomorrow to new orders, plan its batches, freeze its sheet.

    `inputs(session, production_day)` gives the recipes, capacity and roster (the planning
    area's); the lead wires it, e.g. `register_cutoff_job(settings, planning_day_inputs)`.
    """

    def run(ctx: JobContext) -> object:
        day = local_day(ctx.scheduled_for) + timedelta(days=1)
        return cut_off(ctx.session, ctx.settings, day, inputs(ctx.session, day))

    return jobs.register(
        CUT_OFF,
        run,
        {
            "trigger": "cron",
            "hour": settings.order_cutoff.hour,
            "minute": settings.order_cutoff.minute,
        },
        grace=grace,
        description="close tomorrow to new orders, plan its batches, freeze the batch sheet",
    )


def register_builtin_jobs(settings: Settings, *, jobs: JobRegistry = registry) -> None:
    """Every job the scheduling and inventory packages bring; the app factory calls this."""
    register_outbox_relay(relay_once, settings, jobs=jobs)
    register_production_jobs(settings, jobs=jobs)
    register_housekeeping_jobs(settings, jobs=jobs)
