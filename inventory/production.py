"""Finished product: a batch's output becomes lots, allocations get their lots, goods go out."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import NamedTuple

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from inventory.catalog import get_products
from inventory.db import utcnow
from inventory.errors import (
    DuplicateReference,
    InsufficientStock,
    InvalidInput,
    ReservationStateError,
)
from inventory.events import publish
from inventory.ledger import check_text, post
from inventory.locks import lock_reservation, lock_supply_rows
from inventory.lots import (
    assign,
    assign_on_lots,
    covered,
    lock_lots,
    lot_stock,
    write_assignments,
)
from inventory.models import (
    Claim,
    ClaimStatus,
    Item,
    LedgerEntry,
    LedgerKind,
    Lot,
    Reservation,
    ReservationStatus,
    Supply,
)
from inventory.reservations import get_reservation
from inventory.rules import check_quantity


class Shortfall(NamedTuple):
    """Part of an allocation the output so far cannot cover."""

    ref: str
    sku: str
    short_quantity: int


@dataclass(frozen=True)
class ProductionResult:
    batch_ref: str
    production_day: date
    lots: list[Lot] = field(default_factory=list)
    shortfalls: list[Shortfall] = field(default_factory=list)


def receive_production(
    session: Session,
    production_day: date,
    outputs: Mapping[str, int],
    *,
    batch_ref: str,
    made_at: datetime,
) -> ProductionResult:
    """Book a batch's output: one lot per product, 'production' entries, supply.actual, and
    allocations on that day's supply assigned to lots first-expiring-first.

    Several batches a day add up. Allocations the output so far cannot cover are returned as
    shortfalls and announced (`stock.shortfall`) so the shop can tell those customers.
    """
    if not isinstance(production_day, date) or isinstance(production_day, datetime):
        raise InvalidInput(f"production_day must be a date, got {production_day!r}")
    check_text(batch_ref, "batch_ref", 40)
    if not isinstance(made_at, datetime) or made_at.tzinfo is None:
        raise InvalidInput(f"made_at must be an aware datetime, got {made_at!r}")
    if not outputs:
        raise InvalidInput("a batch needs the output of at least one product")
    for sku, quantity in outputs.items():
        check_quantity(quantity, what=f"output of {sku}", allow_zero=True)
    products = get_products(session, outputs)
    codes = [f"{batch_ref}-{sku}" for sku in sorted(outputs)]
    taken = list(session.scalars(select(Lot.code).where(Lot.code.in_(codes))))
    if taken:
        raise DuplicateReference(
            f"batch {batch_ref!r} was already received (lots {', '.join(sorted(taken))})",
            batch_ref=batch_ref,
        )

    item_ids = [item.id for item in products.values()]
    rows = {
        item_id: row
        for (item_id, _day), row in lock_supply_rows(session, item_ids, [production_day]).items()
    }

    new_lots: list[Lot] = []
    for sku in sorted(outputs):
        item = products[sku]
        quantity = outputs[sku]
        row = rows.get(item.id)
        if row is None:
            row = Supply(
                item_id=item.id,
                production_day=production_day,
                planned=0,
                promised=0,
                closed=False,
            )
            session.add(row)
            rows[item.id] = row
        row.actual = (row.actual or 0) + quantity
        if quantity == 0:
            continue
        assert item.best_before_days is not None  # guaranteed by the items CHECK constraint
        lot = Lot(
            code=f"{batch_ref}-{sku}",
            item_id=item.id,
            item=item,
            received_at=made_at,
            best_before=production_day + timedelta(days=item.best_before_days - 1),
            production_day=production_day,
            batch_ref=batch_ref,
            on_hand=0,
        )
        session.add(lot)
        new_lots.append(lot)
    session.flush()
    for lot in new_lots:
        post(
            session,
            lot,
            LedgerKind.PRODUCTION,
            outputs[lot.item.sku],
            reason=f"batch {batch_ref}",
            reference=f"batch:{batch_ref}",
            occurred_at=made_at,
        )

    claims, short = assign_on_lots(session, [row.id for row in rows.values()])

    shortfalls = _shortfalls(session, claims, short, products)
    for lot in new_lots:
        publish(
            session,
            "lot.produced",
            {
                "lot": lot.code,
                "sku": lot.item.sku,
                "quantity": lot.on_hand,
                "production_day": production_day.isoformat(),
                "batch_ref": batch_ref,
                "best_before": lot.best_before.isoformat() if lot.best_before else None,
            },
            key=f"lot:{lot.code}",
        )
    if shortfalls:
        publish(
            session,
            "stock.shortfall",
            {
                "cause": "production",
                "batch_ref": batch_ref,
                "production_day": production_day.isoformat(),
                "shortfalls": [
                    {"ref": s.ref, "sku": s.sku, "short": s.short_quantity} for s in shortfalls
                ],
                "refs": sorted({s.ref for s in shortfalls}),
                "skus": sorted({s.sku for s in shortfalls}),
            },
            key=f"batch:{batch_ref}",
        )
    return ProductionResult(batch_ref, production_day, new_lots, shortfalls)


def _shortfalls(
    session: Session,
    claims: Sequence[Claim],
    short: Mapping[int, int],
    products: Mapping[str, Item],
) -> list[Shortfall]:
    if not short:
        return []
    refs = dict(
        session.execute(
            select(Claim.id, Reservation.ref)
            .join(Reservation, Reservation.id == Claim.reservation_id)
            .where(Claim.id.in_(sorted(short)))
        ).all()
    )
    sku_of = {item.id: sku for sku, item in products.items()}
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for claim in claims:
        if claim.id in short:
            totals[(refs[claim.id], sku_of[claim.item_id])] += short[claim.id]
    return [Shortfall(ref, sku, quantity) for (ref, sku), quantity in sorted(totals.items())]


def hand_out(session: Session, ref: str, *, reference: str) -> list[LedgerEntry]:
    """Hand a confirmed reservation's goods to the buyer: 'handout' entries from its lots.

    An allocation not yet on a lot (confirmed after the batch came in) takes one FEFO now.
    All or nothing; a reservation already handed out gives [] (at-least-once callers).
    """
    check_text(reference, "reference", 80)
    reservation = get_reservation(session, ref)
    # Locked first, so a second hand-out at the same time waits and then sees 'fulfilled'.
    status, _expires = lock_reservation(session, reservation.id)
    if status is ReservationStatus.FULFILLED:
        return []
    if status is not ReservationStatus.CONFIRMED:
        raise ReservationStateError(
            f"reservation {ref!r} is {status.value}; only a confirmed one is handed out",
            ref=ref,
            status=status.value,
        )
    claims = [c for c in reservation.claims if c.status is ClaimStatus.ACTIVE]
    days_by_item: dict[date, set[int]] = defaultdict(set)
    for claim in claims:
        days_by_item[claim.supply.production_day].add(claim.item_id)
    lots: list[Lot] = []
    for day, item_ids in sorted(days_by_item.items()):
        lots += lock_lots(session, item_ids, day)
    lot_by_id = {lot.id: lot for lot in lots}
    done = covered(session, [c.id for c in claims])
    # Stock per (item, production day): a claim only takes lots of the day it was promised.
    assignments: list[tuple[int, int, int]] = []
    short: dict[int, int] = {}
    for day in sorted(days_by_item):
        day_lots = [lot for lot in lots if lot.production_day == day]
        day_claims = [c for c in claims if c.supply.production_day == day]
        got, missing = assign(day_claims, done, lot_stock(session, day_lots))
        assignments += got
        short.update(missing)
    if short:
        total = sum(short.values())
        raise InsufficientStock(
            f"{total} piece(s) of reservation {ref!r} have not been made yet",
            ref=ref,
            missing=total,
        )
    write_assignments(session, assignments)
    for claim in claims:
        session.expire(claim, ["lots"])
    now = utcnow()
    entries: list[LedgerEntry] = []
    for claim in claims:
        for claim_lot in claim.lots:
            rest = claim_lot.quantity - claim_lot.handed_out
            if rest <= 0:
                continue
            lot = lot_by_id.get(claim_lot.lot_id, claim_lot.lot)
            entries.append(
                post(
                    session,
                    lot,
                    LedgerKind.HANDOUT,
                    rest,
                    reason=f"handed out for {ref}",
                    reference=reference,
                    occurred_at=now,
                )
            )
            claim_lot.handed_out = claim_lot.quantity
        claim.status = ClaimStatus.FULFILLED
    moved = session.execute(
        update(Reservation)
        .where(Reservation.id == reservation.id, Reservation.status == ReservationStatus.CONFIRMED)
        .values(status=ReservationStatus.FULFILLED, updated_at=now)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if not moved:
        raise ReservationStateError(f"reservation {ref!r} changed while being handed out", ref=ref)
    session.expire(reservation, ["status", "updated_at"])
    publish(
        session,
        "stock.handed_out",
        {
            "ref": ref,
            "reference": reference,
            "lots": sorted({lot_by_id[e.lot_id].code for e in entries if e.lot_id in lot_by_id}),
            "quantity": -sum(e.quantity for e in entries),
        },
        key=ref,
    )
    session.flush()
    return entries
