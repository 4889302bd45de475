"""The scheduler's own job: the outbox relay, run on the leader."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from inventory.settings import Settings
from scheduling.scheduler.jobs import JobContext, JobRegistry, JobSpec, registry

OUTBOX_RELAY = "outbox.relay"
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
