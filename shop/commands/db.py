"""`gaogan db ...`: schema migrations."""

from __future__ import annotations

import click

from shop.cli import CliState, pass_state
from shop.schema import current_revision, upgrade


def register(cli: click.Group) -> None:
    @cli.group()
    def db() -> None:
        """Database schema (Alembic migrations)."""

    @db.command("upgrade")
    @click.option("--revision", default="head", show_default=True)
    @pass_state
    def db_upgrade(state: CliState, revision: str) -> None:
        """Bring the database schema up to date."""
        engine = state.runtime.engine
        upgrade(engine, revision)
        click.echo(f"database at revision {current_revision(engine)}")

    @db.command("current")
    @pass_state
    def db_current(state: CliState) -> None:
        """Show the schema revision of the database."""
        click.echo(current_revision(state.runtime.engine) or "empty (run gaogan db upgrade)")
