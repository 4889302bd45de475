"""`gaogan users ...`: accounts that cannot sign themselves up (managers, distributor staff)."""

from __future__ import annotations

import click
from sqlalchemy import select

from inventory.db import transaction
from inventory.errors import DomainError
from shop.auth import create_user
from shop.cli import CliState, pass_state
from shop.commands.words import refusal
from shop.models import Role, User


def register(cli: click.Group) -> None:
    @cli.group()
    def users() -> None:
        """Sign-in accounts."""

    @users.command("create")
    @click.option("--email", required=True)
    @click.option("--name", required=True)
    @click.option(
        "--role", type=click.Choice([r.value for r in Role]), default="manager", show_default=True
    )
    @click.option("--mobile", default="")
    @click.password_option(help="At least 8 characters; asked for when not given.")
    @pass_state
    def create(
        state: CliState, email: str, name: str, role: str, mobile: str, password: str
    ) -> None:
        """Create an account (a manager by default)."""
        try:
            with transaction(state.runtime.sessions) as db:
                user = create_user(
                    db, email=email, name=name, password=password, role=Role(role), mobile=mobile
                )
                click.echo(f"created {user.role.value} {user.email} (id {user.id})")
        except DomainError as exc:
            raise refusal(exc) from exc

    @users.command("list")
    @pass_state
    def list_users(state: CliState) -> None:
        """List accounts."""
        with state.runtime.sessions() as db:
            for user in db.scalars(select(User).order_by(User.id)):
                status = "" if user.active else " (disabled)"
                click.echo(f"{user.id:>5}  {user.role.value:<12} {user.email}  {user.name}{status}")
