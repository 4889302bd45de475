"""`gaogan trace` (recalls) and `gaogan batch ...` (start, record output, list)."""

from __future__ import annotations

from datetime import datetime

import click

from inventory.db import transaction
from inventory.errors import DomainError
from scheduling.production.batch_sheet import get_sheet, sheet_csv
from scheduling.production.batches import complete_batch, start_batch
from scheduling.production.models import Batch
from scheduling.production.trace import BatchTrace, trace_batch, trace_lot
from scheduling.scheduler.clock import clock_for
from scheduling.scheduler.status import format_local
from shop.cli import CliState, pass_state
from shop.commands.words import Failure, refusal, say


def _echo_batch(trace: BatchTrace, indent: str = "") -> None:
    click.echo(
        indent
        + say(
            "cli.trace.batch",
            ref=trace.batch_ref,
            day=trace.production_day,
            wave=trace.wave,
            status=trace.status,
            started=format_local(trace.started_at),
            completed=format_local(trace.completed_at),
        )
    )
    click.echo(f"{indent}  {say('cli.trace.materials')}")
    for m in trace.materials:
        crop = " " + say("cli.trace.crop", year=m.crop_year) if m.crop_year else ""
        supplier = " " + say("cli.trace.supplier", supplier=m.supplier) if m.supplier else ""
        click.echo(f"{indent}    {m.lot}  {m.sku}  {m.grams} g{crop}{supplier}")
    click.echo(f"{indent}  {say('cli.trace.product_lots')}")
    for lot in trace.lots:
        click.echo(
            f"{indent}    {lot.lot}  {lot.sku}  "
            + say("cli.trace.lot_stock", on_hand=lot.on_hand, best_before=lot.best_before)
        )
    click.echo(f"{indent}  {say('cli.trace.received_by', count=len(trace.refs))}")
    for r in trace.recipients:
        owner = f"{r.owner_kind} {r.owner_name or r.owner_id or ''}".strip()
        click.echo(
            f"{indent}    {r.ref}  {owner}  "
            + say(
                "cli.trace.recipient",
                sku=r.sku,
                quantity=r.quantity,
                lot=r.lot,
                handed_out=r.handed_out,
                status=r.status,
            )
        )
    if trace.distributors:
        click.echo(
            f"{indent}  " + say("cli.trace.distributors", names=", ".join(trace.distributors))
        )


def _owners() -> None:
    """Name each reservation's owner and rank bookings by pickup slot, as the web app does
    (the CLI does not build the app, so it registers the owners' providers itself, unless
    one is already there: an embedding process or a test may have its own)."""
    from scheduling.refs import has_ref_provider
    from shop.distributors.owners import PREFIX, register_booking_owners

    if not has_ref_provider(PREFIX):
        register_booking_owners()


def _parse_outputs(pairs: tuple[str, ...]) -> dict[str, int]:
    outputs: dict[str, int] = {}
    for pair in pairs:
        sku, sep, quantity = pair.partition("=")
        if not sep or not quantity.strip().isdigit():
            raise click.BadParameter(say("cli.batch.bad_output", pair=repr(pair)))
        outputs[sku.strip()] = int(quantity)
    return outputs


def register(cli: click.Group) -> None:
    @cli.command("trace")
    @click.argument("batch_ref", required=False)
    @click.option("--lot", "lot_code", help="Trace a rice, sugar or product lot instead.")
    @pass_state
    def trace(state: CliState, batch_ref: str | None, lot_code: str | None) -> None:
        """Trace a batch to its rice and sugar lots and to everyone who received it,
        or (--lot) a rice lot to every batch that used it."""
        if bool(batch_ref) == bool(lot_code):
            raise click.UsageError(say("cli.trace.usage"))
        _owners()
        try:
            with state.runtime.sessions() as session:
                if batch_ref:
                    _echo_batch(trace_batch(session, batch_ref))
                    return
                assert lot_code is not None
                found = trace_lot(session, lot_code)
                crop = "  " + say("cli.trace.crop", year=found.crop_year) if found.crop_year else ""
                click.echo(
                    say("cli.trace.lot", lot=found.lot, sku=found.sku, kind=found.kind) + crop
                )
                if found.made_by_batch:
                    click.echo("  " + say("cli.trace.made_by", ref=found.made_by_batch))
                for ref, day, grams in found.used_by:
                    click.echo("  " + say("cli.trace.used_by", ref=ref, day=day, grams=grams))
                for batch in found.batches:
                    _echo_batch(batch, indent="  ")
        except DomainError as exc:
            raise refusal(exc) from exc

    @cli.group("batch")
    def batch() -> None:
        """Production batches: list, start, record the output."""

    @batch.command("list")
    @click.option("--day", type=click.DateTime(formats=["%Y-%m-%d"]), help="Production day.")
    @pass_state
    def list_batches(state: CliState, day: datetime | None) -> None:
        from sqlalchemy import select

        with state.runtime.sessions() as session:
            query = select(Batch).order_by(Batch.production_day, Batch.wave)
            if day is not None:
                query = query.where(Batch.production_day == day.date())
            for b in session.scalars(query):
                planned = ", ".join(f"{k}={v}" for k, v in sorted(b.planned.items()))
                actual = ", ".join(f"{k}={v}" for k, v in sorted((b.actual or {}).items()))
                click.echo(
                    say(
                        "cli.batch.line",
                        ref=b.ref,
                        status=f"{b.status.value:<9}",
                        start=format_local(b.planned_start),
                        planned=planned,
                    )
                    + ("  " + say("cli.batch.actual", actual=actual) if actual else "")
                )

    @batch.command("sheet")
    @click.option("--day", type=click.DateTime(formats=["%Y-%m-%d"]), required=True)
    @pass_state
    def sheet(state: CliState, day: datetime) -> None:
        """Print a production day's batch sheet as CSV."""
        with state.runtime.sessions() as session:
            found = get_sheet(session, day.date())
        if found is None:
            raise Failure(say("cli.batch.no_sheet", day=day.date()))
        click.echo(sheet_csv(found), nl=False)

    @batch.command("start")
    @click.argument("batch_ref")
    @click.option(
        "--override-reason",
        default=None,
        help="Why it may start before its production day (recorded on batch.started).",
    )
    @pass_state
    def start(state: CliState, batch_ref: str, override_reason: str | None) -> None:
        """Start a batch now: consume its rice and sugar (new crop only)."""
        runtime = state.runtime
        try:
            with transaction(runtime.sessions) as session:
                b = start_batch(
                    session,
                    batch_ref,
                    now=clock_for(runtime.settings).now(),
                    harvest_month=runtime.settings.harvest_month,
                    override_reason=override_reason,
                )
                click.echo(say("cli.batch.started", ref=b.ref))
        except DomainError as exc:
            raise refusal(exc) from exc

    @batch.command("complete")
    @click.argument("batch_ref")
    @click.argument("outputs", nargs=-1, required=True)
    @click.option("--by", "completed_by", default="cli", show_default=True)
    @pass_state
    def complete(
        state: CliState, batch_ref: str, outputs: tuple[str, ...], completed_by: str
    ) -> None:
        """Record what a batch actually made: SKU=PIECES ..."""
        _owners()
        try:
            with transaction(state.runtime.sessions) as session:
                done = complete_batch(
                    session,
                    batch_ref,
                    _parse_outputs(outputs),
                    made_at=clock_for(state.runtime.settings).now(),
                    completed_by=completed_by,
                )
        except DomainError as exc:
            raise refusal(exc) from exc
        click.echo(
            say(
                "cli.batch.completed",
                ref=done.batch_ref,
                lots=", ".join(done.lots) or "-",
                ready=len(done.ready),
                unserved=len(done.unserved),
                reduced=len(done.reduced),
            )
        )
        for ref in done.unserved:
            click.echo("  " + say("cli.batch.unserved", ref=ref))
        for ref in done.reduced:
            click.echo("  " + say("cli.batch.part_delivered", ref=ref))
