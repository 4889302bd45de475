"""`gaogan distributors ...`: accounts, price lists, slots and the pickup jobs by hand."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation

import click
from sqlalchemy import select

from inventory.db import transaction, utcnow
from inventory.errors import DomainError
from inventory.rules import LOCAL_ZONE
from scheduling.pickup import slots as slot_rules
from scheduling.pickup.slots import SlotRules
from shop.cli import CliState, pass_state
from shop.commands.words import refusal
from shop.distributors import accounts, common, pickup, prices, standing, webhooks
from shop.distributors.models import Distributor


def _fen(yuan: str) -> int:
    try:
        value = Decimal(yuan) * 100
    except InvalidOperation as exc:
        raise click.BadParameter(f"{yuan!r} is not an amount in yuan, e.g. 86.50") from exc
    if value != value.to_integral_value() or value < 0:
        raise click.BadParameter("an amount in yuan with at most two decimals, not negative")
    return int(value)


def _distributor_id(session: object, code: str) -> int:
    from sqlalchemy.orm import Session

    assert isinstance(session, Session)
    found = session.scalar(select(Distributor.id).where(Distributor.code == code.upper()))
    if found is None:
        raise click.ClickException(f"no distributor with code {code}")
    return int(found)


def register(cli: click.Group) -> None:
    @cli.group("distributors")
    def group() -> None:
        """Distributor accounts, price lists, pickup slots and jobs."""

    @group.command("add")
    @click.argument("code")
    @click.argument("company")
    @click.option("--region", default="", help="天津 / 北京 / 河北")
    @click.option("--webhook-url", default="")
    @click.option("--contact", "contact_name", default="", help="contact person")
    @click.option("--phone", default="")
    @pass_state
    def add(
        state: CliState,
        code: str,
        company: str,
        region: str,
        webhook_url: str,
        contact_name: str,
        phone: str,
    ) -> None:
        """Create a distributor account (payment on account)."""
        contacts = [{"name": contact_name, "phone": phone}] if contact_name else []
        try:
            with transaction(state.runtime.sessions) as session:
                d = accounts.create_distributor(
                    session,
                    code=code,
                    company=company,
                    region=region,
                    webhook_url=webhook_url,
                    contacts=contacts,
                )
                click.echo(f"distributor {d.code} (id {d.id}) created")
                click.echo(f"webhook secret: {d.webhook_secret}")
        except DomainError as exc:
            raise refusal(exc) from exc

    @group.command("user")
    @click.argument("code")
    @click.argument("email")
    @click.argument("name")
    @click.password_option()
    @pass_state
    def user(state: CliState, code: str, email: str, name: str, password: str) -> None:
        """Create a portal sign-in for a distributor's staff."""
        from shop.auth import create_user
        from shop.models import Role

        try:
            with transaction(state.runtime.sessions) as session:
                distributor_id = _distributor_id(session, code)
                create_user(
                    session,
                    email=email,
                    name=name,
                    password=password,
                    role=Role.DISTRIBUTOR,
                    distributor_id=distributor_id,
                )
        except DomainError as exc:
            raise refusal(exc) from exc
        click.echo(f"user {email} can sign in for {code.upper()}")

    @group.command("case-pack")
    @click.argument("sku")
    @click.argument("pieces", type=int)
    @pass_state
    def case_pack(state: CliState, sku: str, pieces: int) -> None:
        """Set how many pieces one case of a product holds."""
        try:
            with transaction(state.runtime.sessions) as session:
                prices.set_case_pack(session, sku, pieces)
        except DomainError as exc:
            raise refusal(exc) from exc
        click.echo(f"{sku}: {pieces} pieces per case")

    @group.command("price")
    @click.argument("code")
    @click.argument("sku")
    @click.argument("case_price_yuan")
    @pass_state
    def price(state: CliState, code: str, sku: str, case_price_yuan: str) -> None:
        """Put a product on a distributor's price list (price per case, yuan)."""
        fen = _fen(case_price_yuan)
        try:
            with transaction(state.runtime.sessions) as session:
                prices.set_price(session, _distributor_id(session, code), sku, fen)
        except DomainError as exc:
            raise refusal(exc) from exc
        click.echo(f"{code.upper()} {sku}: ¥{fen / 100:.2f} per case")

    @group.command("slots")
    @click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
    @pass_state
    def slots(state: CliState, day: datetime) -> None:
        """Show (creating if needed) the pickup slots of a production day."""
        rules = SlotRules.from_settings(state.runtime.settings)
        with transaction(state.runtime.sessions) as session:
            rows = common.day_slots(session, day.date(), rules)
            if not rows:
                click.echo(f"{day.date()}: closed, no pickup slots")
            for s in rows:
                label = slot_rules.local_slot_label(s.starts_at, s.ends_at)
                click.echo(f"{s.id:>6}  {label}  {s.booked}/{s.capacity}")

    @group.command("slot-capacity")
    @click.argument("day", type=click.DateTime(formats=["%Y-%m-%d"]))
    @click.argument("start", metavar="HH:MM")
    @click.argument("capacity", type=int)
    @pass_state
    def slot_capacity(state: CliState, day: datetime, start: str, capacity: int) -> None:
        """Set the loading bays of one slot (e.g. a bay out of use); never below its bookings."""
        try:
            at = datetime.strptime(start, "%H:%M").time()
        except ValueError as exc:
            raise click.BadParameter("start must be HH:MM, e.g. 06:15") from exc
        rules = SlotRules.from_settings(state.runtime.settings)
        try:
            with transaction(state.runtime.sessions) as session:
                common.day_slots(session, day.date(), rules)
                slot = slot_rules.slot_at(session, day.date(), at)
                if slot is None:
                    raise click.ClickException(f"no pickup slot at {start} on {day.date()}")
                slot_rules.set_capacity(session, slot.id, capacity)
        except DomainError as exc:
            raise refusal(exc) from exc
        click.echo(f"{day.date()} {start}: {capacity} loading bays")

    @group.command("generate-standing")
    @click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
    @click.option(
        "--days", "days_ahead", type=int, default=None, help="days ahead (default: setting)"
    )
    @pass_state
    def generate(state: CliState, today: datetime | None, days_ahead: int | None) -> None:
        """Turn standing orders into bookings for the coming days (skips closed days)."""
        settings = state.runtime.settings
        start: date = today.date() if today else utcnow().astimezone(LOCAL_ZONE).date()
        with transaction(state.runtime.sessions) as session:
            refs = standing.generate_standing_bookings(
                session,
                start,
                days_ahead or settings.standing_days_ahead,
                rules=SlotRules.from_settings(settings),
            )
        click.echo(f"{len(refs)} bookings made: {' '.join(refs)}")

    @group.command("no-shows")
    @pass_state
    def no_shows(state: CliState) -> None:
        """Mark bookings not checked in by slot end + grace as no-shows; release their goods."""
        settings = state.runtime.settings
        with transaction(state.runtime.sessions) as session:
            refs = pickup.sweep_no_shows(
                session,
                utcnow(),
                grace_minutes=settings.no_show_grace_minutes,
                rules=SlotRules.from_settings(settings),
            )
        click.echo(f"{len(refs)} no-shows: {' '.join(refs)}")

    @group.command("deliver-webhooks")
    @click.option("--rounds", type=int, default=1, help="delivery rounds to run")
    @pass_state
    def deliver(state: CliState, rounds: int) -> None:
        """Send due webhook deliveries to distributors' URLs."""
        with click.progressbar(range(rounds), label="delivering") as bar:
            totals = webhooks.DeliveryStats()
            for _ in bar:
                stats = webhooks.deliver_webhooks(state.runtime.sessions, state.runtime.settings)
                totals.sent += stats.sent
                totals.delivered += stats.delivered
                totals.failed += stats.failed
                totals.dead += stats.dead
        click.echo(
            f"sent {totals.sent}, delivered {totals.delivered}, "
            f"will retry {totals.failed}, dead {totals.dead}"
        )
