"""The stock ledger: every movement of stock is one appended entry.

`lots.on_hand` is a cache of the ledger sum per lot, changed only by `post()` in the same
transaction as the entry it reflects; `verify_ledger()` proves the two agree. Entries are
never updated or deleted (inventory.models refuses it in the ORM, and PostgreSQL refuses it
with a trigger); a correction is a new 'adjustment' entry.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inventory.db import utcnow
from inventory.errors import InsufficientStock, InvalidInput, UnknownLot
from inventory.events import publish
from inventory.models import LedgerEntry, LedgerKind, Lot
from inventory.rules import MAX_MATERIAL_QUANTITY, check_quantity

_SIGN = {
    LedgerKind.RECEIPT: 1,
    LedgerKind.PRODUCTION: 1,
    LedgerKind.CONSUMPTION: -1,
    LedgerKind.HANDOUT: -1,
    LedgerKind.WASTE: -1,
}


def check_text(value: object, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise InvalidInput(f"{what} must be 1-{limit} characters, got {value!r}")
    return value


def post(
    session: Session,
    lot: Lot,
    kind: LedgerKind,
    quantity: int,
    *,
    reason: str,
    reference: str,
    occurred_at: datetime | None = None,
) -> LedgerEntry:
    """Append one entry and move the lot's cached balance with it.

    `quantity` is signed for adjustments and a magnitude for every other kind (the kind
    gives the sign). A balance may never go below zero.
    """
    if kind is LedgerKind.ADJUSTMENT:
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity == 0:
            raise InvalidInput(f"an adjustment must be a non-zero whole number, got {quantity!r}")
        if abs(quantity) > MAX_MATERIAL_QUANTITY:
            raise InvalidInput(f"an adjustment of {quantity} is beyond belief")
        signed = quantity
    else:
        signed = _SIGN[kind] * check_quantity(quantity, maximum=MAX_MATERIAL_QUANTITY)
    check_text(reason, "reason", 200)
    check_text(reference, "reference", 80)
    if lot.on_hand + signed < 0:
        raise InsufficientStock(
            f"lot {lot.code} has {lot.on_hand} on hand; cannot take {-signed}",
            lot=lot.code,
            on_hand=lot.on_hand,
            requested=-signed,
        )
    entry = LedgerEntry(
        lot_id=lot.id,
        item_id=lot.item_id,
        kind=kind,
        quantity=signed,
        reason=reason,
        reference=reference,
        occurred_at=occurred_at or utcnow(),
    )
    session.add(entry)
    lot.on_hand += signed
    return entry


def adjust_lot(
    session: Session, lot_code: str, quantity: int, *, reason: str, reference: str
) -> LedgerEntry:
    """A stock-take correction: a signed adjustment entry on one lot."""
    lot = session.scalars(
        select(Lot).where(Lot.code == lot_code).with_for_update(of=Lot, key_share=True)
    ).one_or_none()
    if lot is None:
        raise UnknownLot(f"no lot {lot_code!r}", lot=lot_code)
    entry = post(session, lot, LedgerKind.ADJUSTMENT, quantity, reason=reason, reference=reference)
    session.flush()
    publish(
        session,
        "lot.adjusted",
        {
            "lot": lot.code,
            "sku": lot.item.sku,
            "quantity": entry.quantity,
            "on_hand": lot.on_hand,
            "reason": reason,
            "reference": reference,
        },
        key=f"lot:{lot.code}",
    )
    return entry


def verify_ledger(session: Session) -> list[str]:
    """Every lot whose cached on_hand differs from its ledger sum; [] means balanced."""
    sums = (
        select(LedgerEntry.lot_id, func.sum(LedgerEntry.quantity).label("total"))
        .group_by(LedgerEntry.lot_id)
        .subquery()
    )
    rows = session.execute(
        select(Lot.code, Lot.on_hand, func.coalesce(sums.c.total, 0))
        .outerjoin(sums, sums.c.lot_id == Lot.id)
        .where(Lot.on_hand != func.coalesce(sums.c.total, 0))
        .order_by(Lot.code)
    ).all()
    return [
        f"lot {code}: on_hand {on_hand} but the ledger sums to {total}"
        for code, on_hand, total in rows
    ]
