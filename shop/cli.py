"""The `gaogan` command line: one Click group; each area adds its commands from its own module
under `shop/commands/` through a `register(cli)` function listed in COMMAND_MODULES."""

from __future__ import annotations

import importlib

import click

from inventory.runtime import Runtime
from inventory.settings import Settings, SettingsError, cli_language

COMMAND_MODULES: list[str] = [
    "shop.commands.db",
    "shop.commands.events",
    "shop.commands.events_ops",
    "shop.commands.inventory",
    "shop.commands.plan",
    "shop.commands.users",
    "shop.commands.demo",
    "shop.commands.serve",
    "shop.commands.distributors",
    "shop.commands.scheduler",
    "shop.commands.production",
    "shop.commands.orders",
    "shop.commands.bench",
]


class CliState:
    """Lazily built runtime so `gaogan --help` works without a database."""

    def __init__(self) -> None:
        self._runtime: Runtime | None = None

    @property
    def runtime(self) -> Runtime:
        if self._runtime is None:
            self._runtime = Runtime.from_settings(Settings.from_env())
        return self._runtime


pass_state = click.make_pass_decorator(CliState, ensure=True)


@click.group()
@click.pass_context
def cli(ctx: click.Context) -> None:
    """gaogan: orders, pickups and 04:00 production for Yangcun gaogan."""
    ctx.ensure_object(CliState)
    try:
        cli_language()  # a bad GAOGAN_LANG is named before any command runs
    except SettingsError as exc:
        raise click.UsageError(str(exc)) from exc


for _name in COMMAND_MODULES:
    importlib.import_module(_name).register(cli)


def main() -> None:
    cli()
