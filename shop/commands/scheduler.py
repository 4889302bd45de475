"""`gaogan scheduler`: the one scheduling process of a deployment, and its status."""

from __future__ import annotations

import logging
import signal
import threading
from pathlib import Path
from types import FrameType

import click

from inventory.runtime import Runtime
from scheduling.scheduler.clock import Clock, FileClock, SystemClock
from scheduling.scheduler.jobs import registry
from scheduling.scheduler.runner import build_scheduler, run_forever
from scheduling.scheduler.status import job_statuses
from shop.cli import CliState, pass_state
from shop.commands.words import say, table

log = logging.getLogger("gaogan.scheduler")


def _wire(runtime: Runtime) -> None:
    """Build the app once so that every area registers its jobs and event subscribers."""
    from shop.app import create_app

    create_app(runtime=runtime)


def register(cli: click.Group) -> None:
    @cli.group("scheduler", invoke_without_command=True)
    @click.option(
        "--leader-check",
        type=float,
        default=15.0,
        show_default=True,
        help="Seconds between leader-lock checks (and catch-up sweeps).",
    )
    @click.option(
        "--clock-file",
        type=click.Path(path_type=Path, dir_okay=False),
        hidden=True,
        help="Rehearsal: read the simulated time from this file instead of the wall clock.",
    )
    @click.option("--tick", type=float, default=1.0, hidden=True, help="Rehearsal tick seconds.")
    @click.pass_context
    @pass_state
    def scheduler(
        state: CliState,
        ctx: click.Context,
        leader_check: float,
        clock_file: Path | None,
        tick: float,
    ) -> None:
        """Run the scheduler in the foreground (one leader per deployment; SIGTERM stops it)."""
        if ctx.invoked_subcommand is not None:
            return
        runtime = state.runtime
        _wire(runtime)
        clock_file = clock_file or runtime.settings.clock_file
        clock: Clock = FileClock(clock_file) if clock_file else SystemClock()
        process = build_scheduler(
            runtime,
            clock=clock if clock_file else None,
            leader_check_seconds=leader_check,
            tick_seconds=tick,
        )
        # One line per sweep every few seconds would drown the job lines that matter.
        logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
        stop = threading.Event()

        def _stop(signum: int, _frame: FrameType | None) -> None:
            log.info("stopping on signal %s", signal.Signals(signum).name)
            stop.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        click.echo(
            say(
                "cli.scheduler.started",
                instance=process.service.instance,
                jobs=len(registry.all()),
                every=f"{leader_check:g}",
            ),
            err=True,
        )
        run_forever(process, stop)

    @scheduler.command("status")
    @pass_state
    def status(state: CliState) -> None:
        """Jobs, their last and next runs (Asia/Shanghai) and failures."""
        runtime = state.runtime
        _wire(runtime)
        report = job_statuses(runtime.sessions, runtime.settings, runtime.engine, registry)
        leader = report.leader
        if leader.held:
            holder = f" ({leader.holder})" if leader.holder else ""
            click.echo(say("cli.scheduler.leader_running", holder=holder))
        else:
            click.echo(say("cli.scheduler.leader_none"))
        header = tuple(
            say(f"cli.scheduler.col.{c}")
            for c in ("job", "trigger", "last_run", "status", "next_run", "failures")
        )
        rows = [
            (
                s.name,
                s.trigger,
                s.last_run_local,
                say(f"cli.run.{s.last_status}") if s.last_status else "-",
                s.next_run_local,
                str(s.failures),
            )
            for s in report.jobs
        ]
        click.echo(table(header, rows))
        for s in report.jobs:
            if s.last_error:
                click.echo(f"! {s.name}: {s.last_error.splitlines()[-1]}", err=True)
