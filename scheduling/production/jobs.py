"""The production area's scheduled jobs: the 04:00 batch start, default completion, the
evening cut-off, and the inventory sweeps (lots past best-before, unpaid holds)."""

from __future__ import annotations

from datetime import timedelta

from inventory.materials import expire_lots
from inventory.relay import relay_once
from inventory.reservations import expire_holds
from inventory.rules import local_day
from inventory.settings import Settings
from scheduling.production.batch_sheet import InputsProvider, cut_off
from scheduling.production.batches import complete_due_batches, start_due_batches
from scheduling.scheduler.builtin import register_outbox_relay
from scheduling.scheduler.jobs import JobContext, JobRegistry, JobSpec, registry

BATCH_START = "production.batch_start"
BATCH_COMPLETE = "production.batch_complete"
EXPIRE_LOTS = "inventory.expire_lots"
EXPIRE_HOLDS = "inventory.expire_holds"
CUT_OFF = "production.cut_off"


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
