"""Raw materials in and out: rice and sugar deliveries, consumption by batches, waste.

Rice is only usable in the crop year of the current harvest (the new-harvest rule), so every
rice lot records its crop year and consumption refuses anything older.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from inventory.catalog import get_raw_material
from inventory.errors import (
    DuplicateReference,
    InsufficientStock,
    InvalidInput,
    OldCropRice,
)
from inventory.events import publish
from inventory.ledger import check_text, post, verify_ledger
from inventory.models import ItemKind, LedgerEntry, LedgerKind, Lot
from inventory.rules import (
    MAX_MATERIAL_QUANTITY,
    LotStock,
    check_quantity,
    current_crop_year,
    is_current_crop,
    pick_fefo,
)

__all__ = [
    "consume_material",
    "current_crop_year",
    "expire_lots",
    "receive_material",
    "verify_ledger",
]


def _check_instant(value: object, what: str) -> datetime:
    if not isinstance(value, datetime) or value.tzinfo is None:
        raise InvalidInput(f"{what} must be an aware datetime, got {value!r}")
    return value


def receive_material(
    session: Session,
    sku: str,
    quantity: int,
    *,
    lot_code: str,
    received_at: datetime,
    crop_year: int | None = None,
    supplier: str | None = None,
    best_before: date | None = None,
) -> Lot:
    """A delivery of rice, sugar or packaging becomes a lot with a 'receipt' entry."""
    item = get_raw_material(session, sku)
    check_quantity(quantity, what=f"{sku} quantity", maximum=MAX_MATERIAL_QUANTITY)
    check_text(lot_code, "lot code", 60)
    received_at = _check_instant(received_at, "received_at")
    if supplier is not None:
        check_text(supplier, "supplier", 120)
    if item.kind is ItemKind.RICE:
        if crop_year is None:
            raise InvalidInput(f"rice lot {lot_code} needs its crop year", sku=sku)
        received_year = received_at.year
        if (
            isinstance(crop_year, bool)
            or not isinstance(crop_year, int)
            or not (received_year - 5 <= crop_year <= received_year)
        ):
            raise InvalidInput(
                f"crop year {crop_year!r} is not plausible for rice received in {received_year}",
                sku=sku,
            )
    elif crop_year is not None:
        raise InvalidInput(f"only rice has a crop year; {sku} is {item.kind.value}", sku=sku)
    if best_before is not None and (
        not isinstance(best_before, date) or best_before < received_at.date()
    ):
        raise InvalidInput(f"best_before {best_before!r} is before the delivery", sku=sku)
    if session.scalar(select(Lot.id).where(Lot.code == lot_code)) is not None:
        raise DuplicateReference(f"lot {lot_code!r} already exists", lot=lot_code)
    lot = Lot(
        code=lot_code,
        item=item,
        item_id=item.id,
        received_at=received_at,
        best_before=best_before,
        crop_year=crop_year,
        supplier=supplier,
        on_hand=0,
    )
    session.add(lot)
    session.flush()
    post(
        session,
        lot,
        LedgerKind.RECEIPT,
        quantity,
        reason=f"delivery from {supplier}" if supplier else "delivery",
        reference=f"lot:{lot_code}",
        occurred_at=received_at,
    )
    publish(
        session,
        "lot.received",
        {
            "lot": lot_code,
            "sku": sku,
            "quantity": quantity,
            "crop_year": crop_year,
            "supplier": supplier,
            "best_before": best_before.isoformat() if best_before else None,
        },
        key=f"lot:{lot_code}",
    )
    session.flush()
    return lot


def consume_material(
    session: Session,
    sku: str,
    quantity: int,
    *,
    day: date,
    reference: str,
    harvest_month: int = 10,
) -> list[LedgerEntry]:
    """Take raw material for production, first expiring first; all or nothing.

    Rice must be of the current crop year on `day`. Lots past their best-before are skipped.
    """
    item = get_raw_material(session, sku)
    check_quantity(quantity, what=f"{sku} quantity", maximum=MAX_MATERIAL_QUANTITY)
    check_text(reference, "reference", 80)
    if not isinstance(day, date) or isinstance(day, datetime):
        raise InvalidInput(f"day must be a date, got {day!r}")
    if not 1 <= harvest_month <= 12:
        raise InvalidInput(f"harvest_month must be 1-12, got {harvest_month}")
    lots = list(
        session.scalars(
            select(Lot)
            .where(
                Lot.item_id == item.id,
                Lot.on_hand > 0,
                or_(Lot.best_before.is_(None), Lot.best_before >= day),
            )
            .order_by(Lot.id)
            .with_for_update(of=Lot, key_share=True)
        )
    )
    usable = lots
    if item.kind is ItemKind.RICE:
        usable = [lot for lot in lots if is_current_crop(lot.crop_year, day, harvest_month)]
    stock = [LotStock(lot.id, lot.best_before, lot.received_at, lot.on_hand) for lot in usable]
    picks = pick_fefo(quantity, stock)
    have = sum(q for _, q in picks)
    if have < quantity:
        if item.kind is ItemKind.RICE and len(usable) < len(lots):
            crop = current_crop_year(day, harvest_month)
            old = sorted(lot.code for lot in lots if lot not in usable)
            raise OldCropRice(
                f"only {have} g of {crop} crop rice on hand, {quantity} g needed; lots "
                f"{', '.join(old)} are from an older harvest and may not be used",
                sku=sku,
                crop_year=crop,
                available=have,
                requested=quantity,
                old_lots=old,
            )
        raise InsufficientStock(
            f"only {have} {item.unit} of {sku} on hand, {quantity} needed",
            sku=sku,
            available=have,
            requested=quantity,
        )
    by_id = {lot.id: lot for lot in usable}
    entries = [
        post(
            session,
            by_id[lot_id],
            LedgerKind.CONSUMPTION,
            taken,
            reason=f"consumed for {reference}",
            reference=reference,
        )
        for lot_id, taken in picks
    ]
    session.flush()
    return entries


def expire_lots(session: Session, today: date) -> list[Lot]:
    """Write off what is left of every lot past its best-before: 'waste' entries, lot.expired."""
    if not isinstance(today, date) or isinstance(today, datetime):
        raise InvalidInput(f"today must be a date, got {today!r}")
    lots = list(
        session.scalars(
            select(Lot)
            .where(Lot.best_before.is_not(None), Lot.best_before < today, Lot.on_hand > 0)
            .order_by(Lot.id)
            .with_for_update(of=Lot, key_share=True)
        )
    )
    for lot in lots:
        left = lot.on_hand
        post(
            session,
            lot,
            LedgerKind.WASTE,
            left,
            reason=f"past best-before {lot.best_before}",
            reference=f"expiry:{today.isoformat()}",
        )
        publish(
            session,
            "lot.expired",
            {
                "lot": lot.code,
                "sku": lot.item.sku,
                "quantity": left,
                "best_before": lot.best_before.isoformat() if lot.best_before else None,
                "day": today.isoformat(),
            },
            key=f"lot:{lot.code}",
        )
    session.flush()
    return lots
