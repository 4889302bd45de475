"""`gaogan demo`: load the demo catalogue, stock and accounts into an empty database."""

from __future__ import annotations

import click

from inventory.db import transaction, utcnow
from inventory.rules import local_day
from scheduling.pickup.slots import SlotRules
from shop.cli import CliState, pass_state
from shop.demo import DEMO_PASSWORD, demo_loaded, load_demo
from shop.schema import upgrade


def register(cli: click.Group) -> None:
    @cli.command("demo")
    @click.option("--days", default=28, show_default=True, help="Days of planned supply.")
    @pass_state
    def demo(state: CliState, days: int) -> None:
        """Load demo data (products, lots, supply, recipes, sales history, distributors,
        accounts) if the database is empty."""
        runtime = state.runtime
        upgrade(runtime.engine)
        with transaction(runtime.sessions) as session:
            if demo_loaded(session):
                click.echo("the database already has a catalogue; demo data not loaded")
                return
            load_demo(
                session,
                local_day(utcnow()),
                days=days,
                harvest_month=runtime.settings.harvest_month,
                rules=SlotRules.from_settings(runtime.settings),
            )
        click.echo(
            "demo data loaded: manager@demo.gaogan, customer@demo.gaogan and "
            "distributor@demo.gaogan, "
            f"password {DEMO_PASSWORD}"
        )
