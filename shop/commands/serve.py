"""`gaogan serve`: the embedded default, web and scheduler in one process.

For a newcomer and a small shop: SQLite under instance/, the schema brought up to date, the
demo data on first start, the scheduler (leader lock, jobs, outbox relay) in a background
thread and a threaded HTTP server on localhost. Production runs gunicorn and a separate
`gaogan scheduler` instead (see the Dockerfile).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from types import FrameType

import click
from werkzeug.serving import make_server

from inventory.db import transaction, utcnow
from inventory.rules import local_day
from inventory.settings import with_serving_address
from scheduling.pickup.slots import SlotRules
from scheduling.scheduler.runner import scheduler_running
from shop.app import create_app
from shop.cli import CliState, pass_state
from shop.demo import DEMO_PASSWORD, demo_loaded, load_demo
from shop.schema import upgrade

log = logging.getLogger("gaogan.serve")


def register(cli: click.Group) -> None:
    @cli.command("serve")
    @click.option("--host", default="127.0.0.1", show_default=True)
    @click.option("--port", default=5000, show_default=True, type=int)
    @click.option(
        "--demo/--no-demo",
        default=True,
        show_default=True,
        help="Load the demo data into an empty database.",
    )
    @click.option(
        "--scheduler/--no-scheduler",
        default=True,
        show_default=True,
        help="Run the scheduler in this process.",
    )
    @pass_state
    def serve(state: CliState, host: str, port: int, demo: bool, scheduler: bool) -> None:
        """Run web and scheduler in one process (the embedded default)."""
        runtime = state.runtime
        if runtime.settings.production:
            click.echo(
                "note: production deployments run gunicorn and `gaogan scheduler` "
                "separately (see the Dockerfile)",
                err=True,
            )
        upgrade(runtime.engine)
        if demo:
            with transaction(runtime.sessions) as session:
                if not demo_loaded(session):
                    load_demo(
                        session,
                        local_day(utcnow()),
                        harvest_month=runtime.settings.harvest_month,
                        rules=SlotRules.from_settings(runtime.settings),
                    )
                    click.echo(
                        "demo data loaded: manager@demo.gaogan / customer@demo.gaogan / "
                        "distributor@demo.gaogan, "
                        f"password {DEMO_PASSWORD}",
                        err=True,
                    )
        # Before the app (and its mail consumers) read the settings: links in mails follow
        # the port this server really listens on unless GAOGAN_PUBLIC_URL says otherwise.
        runtime.settings = with_serving_address(runtime.settings, host, port)
        app = create_app(runtime=runtime)
        # Two lines per relay run every few seconds would drown the lines that matter; job
        # outcomes are logged by the scheduler itself and shown by `gaogan scheduler status`.
        logging.getLogger("apscheduler.executors.default").setLevel(logging.WARNING)
        server = make_server(host, port, app, threaded=True)

        def _stop(signum: int, _frame: FrameType | None) -> None:
            log.info("stopping on signal %s", signal.Signals(signum).name)
            # shutdown() waits for serve_forever to return, so it must not run on its thread.
            threading.Thread(target=server.shutdown, daemon=True).start()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)
        click.echo(
            f"gaogan serving on http://{host}:{port}/ (scheduler {'on' if scheduler else 'off'});"
            " Ctrl-C stops it",
            err=True,
        )
        with contextlib.ExitStack() as stack:
            if scheduler:
                stack.enter_context(scheduler_running(runtime))
            try:
                server.serve_forever()
            finally:
                server.server_close()
