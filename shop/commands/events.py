"""`gaogan events ...`: look at the outbox, re-queue dead events, run the relay.

gaogan events list [--status pending|done|dead] [--type T] [--limit N]
gaogan events retry EVENT_ID | --all-dead
gaogan events relay [--once]
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Sequence
from types import FrameType

import click

from inventory.db import transaction
from inventory.errors import DomainError
from inventory.models import OutboxEvent, OutboxStatus
from inventory.outbox import list_events, requeue, requeue_dead
from inventory.relay import RelayStats, relay_once, run_relay
from shop.cli import CliState, pass_state
from shop.commands.words import refusal, say
from shop.i18n import local_datetime

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
COLUMNS = (
    "id",
    "type",
    "key",
    "status",
    "tries",
    "occurred (Shanghai)",
    "next try (Shanghai)",
    "error",
)


def format_table(rows: Sequence[OutboxEvent]) -> str:
    """A plain-text table a person can read in a terminal; times in Asia/Shanghai."""
    cells = [
        (
            str(row.id),
            row.type,
            row.key or "-",
            row.status.value,
            str(row.attempts),
            local_datetime(row.occurred_at, TIME_FORMAT),
            local_datetime(row.next_attempt_at, TIME_FORMAT)
            if row.status is OutboxStatus.PENDING
            else "-",
            _one_line(row.last_error or "-", 60),
        )
        for row in rows
    ]
    widths = [max(len(c[i]) for c in [COLUMNS, *cells]) for i in range(len(COLUMNS))]

    def render(line: Sequence[str]) -> str:
        return "  ".join(text.ljust(w) for text, w in zip(line, widths, strict=True)).rstrip()

    return "\n".join([render(COLUMNS), render(["-" * w for w in widths]), *map(render, cells)])


def describe(stats: RelayStats) -> str:
    return (
        f"claimed {stats.claimed}, delivered {stats.delivered}, failed {stats.failed}, "
        f"dead {stats.dead}, held back {stats.held_back}"
    )


def _one_line(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def register(cli: click.Group) -> None:
    @cli.group("events")
    def events() -> None:
        """The event outbox: list events, re-queue dead ones, run the relay."""

    @events.command("list")
    @click.option(
        "--status",
        type=click.Choice([s.value for s in OutboxStatus]),
        help="Only events in this state.",
    )
    @click.option("--type", "event_type", help="Only events of this type, e.g. stock.reserved.")
    @click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
    @pass_state
    def list_command(
        state: CliState, status: str | None, event_type: str | None, limit: int
    ) -> None:
        """Show the newest events first."""
        with transaction(state.runtime.sessions) as session:
            rows = list_events(
                session,
                status=OutboxStatus(status) if status else None,
                event_type=event_type,
                limit=limit,
            )
            if not rows:
                click.echo(say("cli.events.none"))
                return
            click.echo(format_table(rows))

    @events.command("retry")
    @click.argument("event_ref", required=False)
    @click.option("--all-dead", is_flag=True, help="Re-queue every dead event.")
    @pass_state
    def retry_command(state: CliState, event_ref: str | None, all_dead: bool) -> None:
        """Re-queue a dead event (by event id or row id), or every dead one, for delivery now."""
        if bool(event_ref) == all_dead:
            raise click.UsageError(say("cli.events.retry_usage"))
        try:
            with transaction(state.runtime.sessions) as session:
                if all_dead:
                    count = requeue_dead(session)
                    click.echo(
                        say("cli.events.requeued_dead", count=count, s="s" if count != 1 else "")
                    )
                    return
                assert event_ref is not None
                row = requeue(session, event_ref)
                click.echo(
                    say("cli.events.requeued", id=row.id, event_id=row.event_id, type=row.type)
                )
        except DomainError as exc:
            raise refusal(exc) from exc

    @events.command("relay")
    @click.option("--once", is_flag=True, help="Deliver one batch and exit.")
    @pass_state
    def relay_command(state: CliState, once: bool) -> None:
        """Deliver events to their subscribers in the foreground until stopped (Ctrl-C, SIGTERM).

        The subscribers are those the application wires up, so the app is built first.
        """
        # Subscribers register in the packages' init_app functions; a relay without them
        # would mark every event done with nobody told.
        from shop.app import create_app

        runtime = state.runtime
        create_app(runtime=runtime)
        settings = runtime.settings
        if once:
            stats = relay_once(runtime.sessions, settings)
            click.echo(describe(stats))
            return

        stop = threading.Event()

        def _stop(signum: int, _frame: FrameType | None) -> None:
            click.echo(f"Stopping after the current batch ({signal.Signals(signum).name}).")
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        click.echo(
            f"Relaying events (batch {settings.relay_batch_size}, "
            f"every {settings.relay_interval_seconds} s when idle); Ctrl-C stops."
        )
        total = run_relay(
            runtime.sessions,
            settings,
            stop,
            on_batch=lambda stats: click.echo(describe(stats)),
        )
        click.echo(f"Stopped. In all: {describe(total)}.")
