"""`gaogan events stats` and `gaogan events prune`: the outbox as an operator sees it.

gaogan events stats                 backlog, dead events, relay and broker lag, inbox size
gaogan events prune [--days N]      what the nightly housekeeping job does, now
"""

from __future__ import annotations

from datetime import timedelta

import click

from inventory.db import utcnow
from inventory.housekeeping import prune_events
from inventory.outbox_stats import event_stats
from shop.cli import CliState, pass_state
from shop.commands.words import say, width


def register(cli: click.Group) -> None:
    events = cli.commands["events"]
    assert isinstance(events, click.Group)

    @events.command("stats")
    @pass_state
    def stats_command(state: CliState) -> None:
        """Pending, done and dead events, how far the relay and the broker are behind."""
        runtime = state.runtime
        now = utcnow()
        with runtime.sessions() as session:
            stats = event_stats(session)
        settings = runtime.settings
        lines = [
            (say("cli.events.pending"), str(stats.pending)),
            (say("cli.events.done"), str(stats.done)),
            (say("cli.events.dead"), str(stats.dead)),
            (say("cli.events.inbox"), str(stats.inbox)),
            (
                say("cli.events.relay_lag"),
                say("cli.events.relay_lag_value", seconds=f"{stats.relay_lag_seconds(now):.1f}"),
            ),
            (
                say("cli.events.broker"),
                say("cli.events.broker_none")
                if settings.broker == "none"
                else say(
                    "cli.events.broker_value",
                    broker=settings.broker,
                    url=settings.nats_url,
                    waiting=stats.unforwarded,
                    seconds=f"{stats.broker_lag_seconds(now):.1f}",
                ),
            ),
            (
                say("cli.events.retention"),
                say("cli.events.retention_value", days=settings.retention_days),
            ),
        ]
        label_width = max(width(label) for label, _ in lines)
        for label, value in lines:
            click.echo(f"{label}{' ' * (label_width - width(label))} {value}")

    @events.command("prune")
    @click.option(
        "--days",
        type=click.IntRange(min=1),
        default=None,
        help="Keep this many days instead of GAOGAN_RETENTION_DAYS.",
    )
    @pass_state
    def prune_command(state: CliState, days: int | None) -> None:
        """Delete done events and their inbox records older than the retention, in batches.

        Pending and dead events, and events the broker has not acknowledged, are kept.
        """
        runtime = state.runtime
        settings = runtime.settings
        keep = days if days is not None else settings.retention_days
        pruned = prune_events(
            runtime.sessions,
            before=utcnow() - timedelta(days=keep),
            batch_size=settings.prune_batch_size,
            require_forwarded=settings.broker != "none",
        )
        click.echo(say("cli.events.pruned", outbox=pruned.outbox, inbox=pruned.inbox))
