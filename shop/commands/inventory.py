"""`gaogan inventory ...`: checks and corrections of the stock ledger."""

from __future__ import annotations

import sys

import click

from inventory.db import transaction
from inventory.errors import DomainError
from inventory.ledger import adjust_lot
from inventory.materials import verify_ledger
from inventory.models import Lot
from shop.cli import CliState, pass_state
from shop.commands.words import refusal, say


def register(cli: click.Group) -> None:
    cli.add_command(inventory)


@click.group()
def inventory() -> None:
    """Stock ledger, lots and supply."""


@inventory.command("verify")
@pass_state
def verify(state: CliState) -> None:
    """Prove every lot's on-hand figure equals the sum of its ledger entries."""
    with transaction(state.runtime.sessions) as session:
        problems = verify_ledger(session)
    if problems:
        for problem in problems:
            click.echo(problem)
        click.echo(say("cli.inventory.mismatch", count=len(problems)), err=True)
        sys.exit(1)
    click.echo(say("cli.inventory.balanced"))


@inventory.command("adjust")
@click.option("--lot", "lot_code", required=True, help="Lot code, e.g. RICE-2026-001.")
@click.option("--quantity", type=int, required=True, help="Signed change in the item's unit.")
@click.option("--reason", required=True, help="Why: stock-take, spillage, found ...")
@click.option("--reference", default="stocktake", show_default=True)
@pass_state
def adjust(state: CliState, lot_code: str, quantity: int, reason: str, reference: str) -> None:
    """Correct a lot's stock with an adjustment entry (the ledger is never rewritten)."""
    try:
        with transaction(state.runtime.sessions) as session:
            entry = adjust_lot(session, lot_code, quantity, reason=reason, reference=reference)
            on_hand = session.get_one(Lot, entry.lot_id).on_hand
    except DomainError as exc:
        raise refusal(exc) from exc
    click.echo(
        say("cli.inventory.adjusted", lot=lot_code, change=f"{quantity:+d}", on_hand=on_hand)
    )
