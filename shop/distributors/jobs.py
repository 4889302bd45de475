"""The distributor area's scheduled jobs, registered from its init_app."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from inventory.rules import local_day
from inventory.settings import Settings
from scheduling.pickup.slots import SlotRules
from scheduling.scheduler.jobs import JobContext, JobRegistry, registry
from shop.distributors import pickup, standing, webhooks

STANDING_BOOKINGS = "distributors.standing_bookings"
NO_SHOWS = "distributors.no_shows"
WEBHOOKS = "distributors.webhooks"
NO_SHOW_EVERY_MINUTES = 5
WEBHOOK_EVERY_SECONDS = 5


def _last_hour_before(moment: time) -> int:
    """The last whole hour strictly before `moment` (19 for a 20:00 cut-off)."""
    return (moment.hour - 1) % 24 if moment.minute == 0 else moment.hour


def no_show_hours(settings: Settings) -> str:
    """The cron hours of the no-show sweep: from the first slot until the last slot's end plus
    the grace period has passed."""
    window_end = datetime.combine(datetime.min, settings.pickup_window_end)
    last = window_end + timedelta(minutes=settings.no_show_grace_minutes + NO_SHOW_EVERY_MINUTES)
    return f"{settings.pickup_window_start.hour}-{min(last.hour, 23)}"


def _standing(ctx: JobContext) -> list[str]:
    rules = SlotRules.from_settings(ctx.settings)
    return standing.generate_standing_bookings(
        ctx.session,
        local_day(ctx.scheduled_for),
        ctx.settings.standing_days_ahead,
        rules=rules,
        now=ctx.now(),
    )


def _no_shows(ctx: JobContext) -> list[str]:
    return pickup.sweep_no_shows(
        ctx.session,
        ctx.now(),
        grace_minutes=ctx.settings.no_show_grace_minutes,
        rules=SlotRules.from_settings(ctx.settings),
    )


def register_distributor_jobs(
    settings: Settings,
    *,
    jobs: JobRegistry = registry,
    send: webhooks.Sender = webhooks.http_post,
) -> None:
    """Standing orders become bookings, no-shows are swept, webhooks go out.

    The first two write only through the run's session (exactly once per scheduled time);
    webhook delivery leases rows in its own short transactions and is idempotent by itself.
    """
    jobs.register(
        STANDING_BOOKINGS,
        _standing,
        # Hourly until the last run before the booking cut-off, so tomorrow's standing
        # bookings are in before the cut-off plans tomorrow's batches.
        {"trigger": "cron", "hour": f"0-{_last_hour_before(settings.booking_cutoff)}", "minute": 0},
        grace=timedelta(hours=1),
        description="turn standing orders into bookings for the coming days",
    )
    jobs.register(
        NO_SHOWS,
        _no_shows,
        {
            "trigger": "cron",
            "hour": no_show_hours(settings),
            "minute": f"*/{NO_SHOW_EVERY_MINUTES}",
        },
        # After an outage the latest missed sweep runs once; the sweep covers every slot
        # that ended, so nothing older is needed.
        grace=timedelta(hours=1),
        description="release the goods of bookings nobody collected in time",
    )
    jobs.register(
        WEBHOOKS,
        lambda ctx: webhooks.deliver_webhooks(ctx.sessions, ctx.settings, now=ctx.now(), send=send),
        {"trigger": "interval", "seconds": WEBHOOK_EVERY_SECONDS},
        grace=timedelta(seconds=WEBHOOK_EVERY_SECONDS),
        description="send due webhook deliveries to distributors",
    )
