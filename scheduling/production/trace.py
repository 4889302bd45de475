"""Traceability for a recall: batch -> rice and sugar lots -> batches -> orders and distributors.

Each answer is a handful of indexed joins (lots.batch_ref, claim_lots.lot_id,
batch_materials.lot_id), so it stays fast on years of history.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.errors import DomainError
from inventory.models import (
    Claim,
    ClaimLot,
    Item,
    ItemKind,
    Lot,
    Reservation,
    ReservationStatus,
)
from scheduling.production.batches import get_batch
from scheduling.production.models import Batch, BatchMaterial
from scheduling.refs import ref_infos


class LotNotFound(DomainError):
    code = "lot_not_found"
    status = 404


@dataclass(frozen=True)
class MaterialUse:
    lot: str
    sku: str
    kind: str
    grams: int
    crop_year: int | None
    supplier: str | None
    received_at: datetime


@dataclass(frozen=True)
class ProductLot:
    lot: str
    sku: str
    on_hand: int
    best_before: date | None


@dataclass(frozen=True)
class Recipient:
    ref: str
    status: str
    sku: str
    lot: str
    quantity: int
    handed_out: int
    owner_kind: str
    owner_id: int | None
    owner_name: str


@dataclass(frozen=True)
class BatchTrace:
    batch_ref: str
    production_day: date
    wave: int
    status: str
    started_at: datetime | None
    completed_at: datetime | None
    materials: list[MaterialUse]
    lots: list[ProductLot]
    recipients: list[Recipient]

    @property
    def refs(self) -> list[str]:
        return sorted({r.ref for r in self.recipients})

    @property
    def distributors(self) -> list[str]:
        return sorted(
            {
                r.owner_name or str(r.owner_id)
                for r in self.recipients
                if r.owner_kind == "distributor"
            }
        )


@dataclass(frozen=True)
class LotTrace:
    lot: str
    sku: str
    kind: str
    crop_year: int | None
    supplier: str | None
    made_by_batch: str | None  # product lots: the batch that made it
    used_by: list[tuple[str, date, int]] = field(default_factory=list)  # (batch, day, grams)
    batches: list[BatchTrace] = field(default_factory=list)


# Reservations that got, or are still to get, goods from a lot.
_RECEIVING = (ReservationStatus.CONFIRMED, ReservationStatus.FULFILLED)


def _recipients(session: Session, lot_ids: list[int]) -> list[Recipient]:
    if not lot_ids:
        return []
    rows = session.execute(
        select(Reservation.ref, Reservation.status, Item.sku, Lot.code, ClaimLot)
        .join(Claim, Claim.id == ClaimLot.claim_id)
        .join(Reservation, Reservation.id == Claim.reservation_id)
        .join(Lot, Lot.id == ClaimLot.lot_id)
        .join(Item, Item.id == Lot.item_id)
        .where(ClaimLot.lot_id.in_(sorted(lot_ids)))
        .order_by(Reservation.ref, Lot.code, ClaimLot.id)
    ).all()
    relevant = [r for r in rows if r[1] in _RECEIVING or r[4].handed_out > 0]
    owners = ref_infos(session, sorted({r[0] for r in relevant}))
    recipients = []
    for ref, status, sku, code, claim_lot in relevant:
        owner = owners.get(ref)
        recipients.append(
            Recipient(
                ref=ref,
                status=status.value,
                sku=sku,
                lot=code,
                quantity=claim_lot.quantity,
                handed_out=claim_lot.handed_out,
                owner_kind=owner.owner_kind if owner else ref.split(":", 1)[0],
                owner_id=owner.owner_id if owner else None,
                owner_name=owner.owner_name if owner else "",
            )
        )
    return recipients


def _traces(session: Session, batches: list[Batch]) -> list[BatchTrace]:
    """Trace several batches with one query per table, whatever their number (a recall of a
    rice lot used by a month of batches stays a handful of queries)."""
    if not batches:
        return []
    ids = sorted(b.id for b in batches)
    materials: dict[int, list[MaterialUse]] = {i: [] for i in ids}
    for use, lot, item in session.execute(
        select(BatchMaterial, Lot, Item)
        .join(Lot, Lot.id == BatchMaterial.lot_id)
        .join(Item, Item.id == BatchMaterial.item_id)
        .where(BatchMaterial.batch_id.in_(ids))
        .order_by(Item.sku, Lot.code)
    ).all():
        materials[use.batch_id].append(
            MaterialUse(
                lot=lot.code,
                sku=item.sku,
                kind=item.kind.value,
                grams=use.quantity,
                crop_year=lot.crop_year,
                supplier=lot.supplier,
                received_at=lot.received_at,
            )
        )
    refs = sorted(b.ref for b in batches)
    product_lots = list(
        session.scalars(select(Lot).where(Lot.batch_ref.in_(refs)).order_by(Lot.code))
    )
    recipients = _recipients(session, [lot.id for lot in product_lots])
    lot_batch = {lot.code: lot.batch_ref for lot in product_lots}
    traces = []
    for batch in batches:
        traces.append(
            BatchTrace(
                batch_ref=batch.ref,
                production_day=batch.production_day,
                wave=batch.wave,
                status=batch.status.value,
                started_at=batch.started_at,
                completed_at=batch.completed_at,
                materials=materials[batch.id],
                lots=[
                    ProductLot(lot.code, lot.item.sku, lot.on_hand, lot.best_before)
                    for lot in product_lots
                    if lot.batch_ref == batch.ref
                ],
                recipients=[r for r in recipients if lot_batch[r.lot] == batch.ref],
            )
        )
    return traces


def trace_batch(session: Session, batch_ref: str) -> BatchTrace:
    return _traces(session, [get_batch(session, batch_ref)])[0]


def trace_lot(session: Session, code: str) -> LotTrace:
    """A raw-material lot: every batch that used it and whom each batch served.
    A product lot: the batch that made it, traced."""
    lot = session.scalar(select(Lot).where(Lot.code == code))
    if lot is None:
        raise LotNotFound(f"no lot {code!r}", key="msg.trace.no_lot", lot=code)
    if lot.item.kind is ItemKind.PRODUCT:
        batches = []
        if lot.batch_ref:
            batch = session.scalar(select(Batch).where(Batch.ref == lot.batch_ref))
            if batch is not None:
                batches = _traces(session, [batch])
        return LotTrace(
            lot=lot.code,
            sku=lot.item.sku,
            kind=lot.item.kind.value,
            crop_year=None,
            supplier=None,
            made_by_batch=lot.batch_ref,
            batches=batches,
        )
    uses = session.execute(
        select(Batch, BatchMaterial.quantity)
        .join(BatchMaterial, BatchMaterial.batch_id == Batch.id)
        .where(BatchMaterial.lot_id == lot.id)
        .order_by(Batch.production_day, Batch.wave)
    ).all()
    return LotTrace(
        lot=lot.code,
        sku=lot.item.sku,
        kind=lot.item.kind.value,
        crop_year=lot.crop_year,
        supplier=lot.supplier,
        made_by_batch=None,
        used_by=[(batch.ref, batch.production_day, grams) for batch, grams in uses],
        batches=_traces(session, [batch for batch, _ in uses]),
    )
