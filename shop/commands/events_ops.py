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
        click.echo(f"pending   {stats.pending}")
        click.echo(f"done      {stats.done}")
        click.echo(f"dead      {stats.dead}")
        click.echo(f"inbox     {stats.inbox}")
        click.echo(f"relay lag {stats.relay_lag_seconds(now):.1f} s (oldest pending event)")
        if settings.broker == "none":
            click.echo("broker    none (GAOGAN_BROKER); events stay in this application")
        else:
            click.echo(
                f"broker    {settings.broker} {settings.nats_url}: {stats.unforwarded} waiting, "
                f"lag {stats.broker_lag_seconds(now):.1f} s"
            )
        click.echo(f"retention {settings.retention_days} day(s) (GAOGAN_RETENTION_DAYS)")

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
        click.echo(str(pruned))
