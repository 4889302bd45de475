"""`gaogan orders ...`: the storefront's operations from the command line."""

from __future__ import annotations

from pathlib import Path

import click

from inventory.db import transaction, utcnow
from inventory.errors import DomainError
from scheduling.scheduler.clock import clock_for
from shop.cli import CliState, pass_state
from shop.commands.words import fulfilment_word, pad, refusal, say, status_word
from shop.orders import flows, payment_records, services
from shop.orders.models import OrderStatus


def register(cli: click.Group) -> None:
    @cli.group()
    def orders() -> None:
        """Customer orders: expiry sweep, staff moves, pickup points, mails."""

    @orders.command("expire")
    @pass_state
    def expire(state: CliState) -> None:
        """Expire unpaid orders whose stock hold has lapsed (the scheduler runs this too)."""
        with transaction(state.runtime.sessions) as db:
            expired = services.expire_unpaid_orders(db, utcnow())
        click.echo(say("cli.orders.expired", count=len(expired)) + (": " if expired else ""))
        for public_id in expired:
            click.echo(f"  {public_id}")

    @orders.command("refunds")
    @pass_state
    def refunds(state: CliState) -> None:
        """Refund cancelled orders whose payment went through (the scheduler runs this too)."""
        runtime = state.runtime
        refunded = flows.issue_due_refunds(runtime.sessions, runtime.settings)
        with runtime.sessions() as db:
            left = payment_records.refunds_due(db)
        click.echo(say("cli.orders.refunded", count=len(refunded)) + (": " if refunded else ""))
        for public_id in refunded:
            click.echo(f"  {public_id}")
        if left:
            click.echo(say("cli.orders.refunds_due", count=len(left)))

    @orders.command("show")
    @click.argument("public_id")
    @pass_state
    def show(state: CliState, public_id: str) -> None:
        """One order, as staff see it."""
        try:
            with state.runtime.sessions() as db:
                order = services.get_order(db, public_id)
                click.echo(
                    say(
                        "cli.orders.show",
                        id=order.public_id,
                        status=status_word(order.status.value),
                        day=order.day.isoformat(),
                        fulfilment=fulfilment_word(order.fulfilment.value),
                        total=f"¥{order.total_fen / 100:.2f}",
                    )
                )
                click.echo(f"  {order.contact_name}  {order.contact_mobile}  {order.contact_email}")
                for line in order.lines:
                    click.echo(f"  {line.sku:<16} x{line.quantity}")
        except DomainError as exc:
            raise refusal(exc) from exc

    @orders.command("advance")
    @click.argument("public_id")
    @click.argument("status", type=click.Choice(["ready", "collected", "delivered"]))
    @click.option(
        "--override-reason",
        default=None,
        help="Why it may move before its pickup/delivery day (recorded on the event).",
    )
    @click.option("--by", "by", default="cli", show_default=True, help="Who made the move.")
    @pass_state
    def advance(
        state: CliState, public_id: str, status: str, override_reason: str | None, by: str
    ) -> None:
        """Mark an order ready, collected or delivered (the customer is mailed when ready)."""
        try:
            with transaction(state.runtime.sessions) as db:
                order = services.get_order(db, public_id)
                services.advance_order(
                    db,
                    order,
                    OrderStatus(status),
                    clock_for(state.runtime.settings).now(),
                    override_reason=override_reason,
                    by=by,
                )
        except DomainError as exc:
            raise refusal(exc) from exc
        click.echo(say("cli.orders.now", id=public_id, status=status_word(status)))

    @orders.command("cancel")
    @click.argument("public_id")
    @click.option("--reason", default="cancelled by staff", show_default=True)
    @pass_state
    def cancel(state: CliState, public_id: str, reason: str) -> None:
        """Cancel before the cut-off; a paid order is refunded."""
        try:
            status = flows.cancel(state.runtime, public_id, reason=reason)
        except DomainError as exc:
            raise refusal(exc) from exc
        click.echo(say("cli.orders.now", id=public_id, status=status_word(status)))

    @orders.command("setup-locations")
    @pass_state
    def setup_locations(state: CliState) -> None:
        """Create the default pickup points and delivery zones if there are none."""
        with transaction(state.runtime.sessions) as db:
            services.ensure_locations(db)
            points = services.pickup_points(db)
            zones = services.delivery_zones(db)
        for p in points:
            click.echo(f"{pad(say('cli.orders.pickup_point'), 8)} {p.code:<10} {p.name_zh}")
        for z in zones:
            click.echo(
                f"{pad(say('cli.orders.delivery_zone'), 8)} {z.code:<10} {z.name_zh}  "
                f"¥{z.fee_fen / 100:.2f}  {say('cli.days', count=z.transit_days)}"
            )

    @orders.command("mails")
    @pass_state
    def mails(state: CliState) -> None:
        """The mails written to the local mail folder (when no SMTP server is set)."""
        from shop.orders.notifications import mails_in

        folder = Path(state.runtime.settings.mail_dir)
        found = mails_in(folder) if folder.exists() else []
        click.echo(say("cli.orders.mails", count=len(found), folder=folder))
        for mail in found:
            click.echo(
                "  "
                + say("cli.orders.mail", file=mail["file"], to=mail["to"], subject=mail["subject"])
            )
