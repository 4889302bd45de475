"""Stock and purchasing use cases: plain functions over a Session; they never commit."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inventory.errors import DomainError
from inventory.events import publish
from inventory.ledger import adjust_lot, post
from inventory.materials import receive_material
from inventory.models import Item, ItemKind, LedgerKind, Lot
from inventory.rules import current_crop_year, local_day
from scheduling.planning.models import Plan, PlanDay, PlanLine, PlanStatus
from shop.refusals import Refused
from shop.stock.models import (
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseStatus,
    PurchaseTerms,
    StockReceipt,
)
from shop.stock.rules import (
    BAGS_PER_PIECE,
    DEFAULT_LEAD_DAYS,
    OLD_CROP_WARNING_DAYS,
    Requirement,
    old_crop_from,
    requirement,
)

RAW_KINDS = (ItemKind.RICE, ItemKind.SUGAR, ItemKind.PACKAGING)


def _material(session: Session, sku: str) -> Item:
    item = session.scalar(select(Item).where(Item.sku == sku, Item.kind.in_(RAW_KINDS)))
    if item is None:
        raise Refused("stock.err.unknown_material", status=404, code="unknown_material", sku=sku)
    return item


def materials(session: Session) -> list[tuple[str, str, str, str, str]]:
    """(sku, kind, zh, en, unit) of every raw material, for the receipt form."""
    return [
        (i.sku, i.kind.value, i.name_zh, i.name_en, i.unit)
        for i in session.scalars(
            select(Item).where(Item.kind.in_(RAW_KINDS), Item.active).order_by(Item.kind, Item.sku)
        )
    ]


def _lot(session: Session, code: str) -> Lot:
    lot = session.scalar(select(Lot).where(Lot.code == code).with_for_update(of=Lot))
    if lot is None or lot.item.kind not in RAW_KINDS:
        raise Refused("stock.err.unknown_lot", status=404, code="unknown_lot", lot=code)
    return lot


def _next_lot_code(session: Session, sku: str, received_at: datetime) -> str:
    stem = f"{sku}-{local_day(received_at).strftime('%Y%m%d')}"
    taken = session.scalar(select(func.count()).select_from(Lot).where(Lot.code.like(f"{stem}-%")))
    return f"{stem}-{(taken or 0) + 1:02d}"


def receive(
    session: Session,
    *,
    sku: str,
    quantity: int,
    received_at: datetime,
    user_id: int,
    supplier: str = "",
    lot_code: str = "",
    crop_year: int | None = None,
    moisture_tenths: int | None = None,
    best_before: date | None = None,
    purchase_line_id: int | None = None,
) -> Lot:
    """A delivery becomes a lot (inventory's receipt entry and `lot.received` event) plus
    what goods-in recorded: the rice's moisture and who took it in."""
    item = _material(session, sku)
    if item.kind is not ItemKind.RICE and (crop_year is not None or moisture_tenths is not None):
        raise Refused("stock.err.rice_only", code="rice_only", sku=sku)
    if item.kind is ItemKind.RICE and crop_year is None:
        raise Refused("stock.err.crop_year", code="crop_year_required")
    code = lot_code.strip() or _next_lot_code(session, sku, received_at)
    try:
        lot = receive_material(
            session,
            sku,
            quantity,
            lot_code=code,
            received_at=received_at,
            crop_year=crop_year,
            supplier=supplier.strip() or None,
            best_before=best_before,
        )
    except Refused:
        raise
    except DomainError as exc:
        raise refuse_domain(exc) from exc
    session.add(
        StockReceipt(
            lot_id=lot.id,
            moisture_tenths=moisture_tenths,
            purchase_line_id=purchase_line_id,
            received_by=user_id,
            created_at=received_at,
        )
    )
    session.flush()
    return lot


def adjust(session: Session, lot_code: str, delta: int, *, reason: str, user_id: int) -> Lot:
    """A counted correction (+ or -), with its reason, as an adjustment entry."""
    text = " ".join(reason.split())
    if not text or len(text) > 200:
        raise Refused("stock.err.reason", code="reason_required")
    lot = _lot(session, lot_code)
    if delta == 0 or isinstance(delta, bool):
        raise Refused("stock.err.quantity", code="bad_quantity")
    if lot.on_hand + delta < 0:
        raise Refused("stock.err.below_zero", status=409, code="below_zero", on_hand=lot.on_hand)
    # Inventory's own stock-take correction: one `lot.adjusted` shape whoever adjusts.
    adjust_lot(session, lot.code, delta, reason=text, reference=f"adjust:{user_id}")
    return lot


def write_off(session: Session, lot_code: str, quantity: int, *, reason: str, user_id: int) -> Lot:
    """Spoiled, mouldy or spilled: a waste entry with its reason."""
    text = " ".join(reason.split())
    if not text or len(text) > 200:
        raise Refused("stock.err.reason", code="reason_required")
    lot = _lot(session, lot_code)
    if quantity <= 0 or isinstance(quantity, bool):
        raise Refused("stock.err.quantity", code="bad_quantity")
    if quantity > lot.on_hand:
        raise Refused("stock.err.below_zero", status=409, code="below_zero", on_hand=lot.on_hand)
    post(session, lot, LedgerKind.WASTE, quantity, reason=text, reference=f"write-off:{user_id}")
    publish(
        session,
        "lot.written_off",
        {"lot": lot.code, "sku": lot.item.sku, "quantity": quantity, "reason": text, "by": user_id},
        key=f"lot:{lot.code}",
    )
    return lot


@dataclass(frozen=True)
class LotRow:
    code: str
    sku: str
    kind: str
    name_zh: str
    name_en: str
    unit: str
    on_hand: int
    best_before: date | None
    crop_year: int | None
    supplier: str
    moisture_tenths: int | None
    received_at: datetime
    old_crop: bool  # rice a batch may no longer draw
    old_crop_soon: date | None  # current crop now, old from this day (within two weeks)
    expired: bool


def lots_on_hand(session: Session, *, today: date, harvest_month: int) -> list[LotRow]:
    """Every raw-material lot with stock, by kind then first expiring first."""
    rows = session.execute(
        select(Lot, StockReceipt.moisture_tenths)
        .join(Item, Item.id == Lot.item_id)
        .outerjoin(StockReceipt, StockReceipt.lot_id == Lot.id)
        .where(Item.kind.in_(RAW_KINDS), Lot.on_hand > 0)
        .order_by(Item.kind, Item.sku, Lot.best_before, Lot.id)
    ).all()
    crop_now = current_crop_year(today, harvest_month)
    out = []
    for lot, moisture in rows:
        rice = lot.item.kind is ItemKind.RICE
        old = rice and lot.crop_year is not None and lot.crop_year < crop_now
        soon: date | None = None
        if rice and not old and lot.crop_year is not None:
            turns = old_crop_from(lot.crop_year, harvest_month)
            if (turns - today).days <= OLD_CROP_WARNING_DAYS:
                soon = turns
        out.append(
            LotRow(
                code=lot.code,
                sku=lot.item.sku,
                kind=lot.item.kind.value,
                name_zh=lot.item.name_zh,
                name_en=lot.item.name_en,
                unit=lot.item.unit,
                on_hand=lot.on_hand,
                best_before=lot.best_before,
                crop_year=lot.crop_year,
                supplier=lot.supplier or "",
                moisture_tenths=moisture,
                received_at=lot.received_at,
                old_crop=old,
                old_crop_soon=soon,
                expired=lot.best_before is not None and lot.best_before < today,
            )
        )
    return out


# --- requirements ---------------------------------------------------------------------


@dataclass(frozen=True)
class Requirements:
    plan_ref: str | None
    start: date | None
    end: date | None
    items: list[tuple[str, str, str, int, Requirement]]  # kind, zh, en, lead days, requirement


def published_plan(session: Session, today: date) -> Plan | None:
    """The plan the plant works to: the latest published one that has not ended."""
    return session.scalar(
        select(Plan)
        .where(Plan.status == PlanStatus.PUBLISHED, Plan.end >= today)
        .order_by(Plan.published_at.desc(), Plan.id.desc())
        .limit(1)
    )


def lead_days(session: Session) -> dict[str, int]:
    return {t.sku: t.lead_days for t in session.scalars(select(PurchaseTerms))}


def set_lead_days(session: Session, sku: str, days: int, supplier: str = "") -> PurchaseTerms:
    _material(session, sku)
    if isinstance(days, bool) or not 0 <= days <= 120:
        raise Refused("stock.err.lead_days", code="bad_lead_days")
    terms = session.scalar(select(PurchaseTerms).where(PurchaseTerms.sku == sku))
    if terms is None:
        terms = PurchaseTerms(sku=sku, lead_days=days, supplier=supplier[:120])
        session.add(terms)
    else:
        terms.lead_days = days
        terms.supplier = supplier[:120] or terms.supplier
    session.flush()
    return terms


def _incoming(session: Session) -> dict[str, dict[date, int]]:
    out: dict[str, dict[date, int]] = defaultdict(lambda: defaultdict(int))
    for sku, day, quantity in session.execute(
        select(PurchaseOrderLine.sku, PurchaseOrder.expected_on, PurchaseOrderLine.quantity)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.order_id)
        .where(PurchaseOrder.status == PurchaseStatus.SENT)
    ):
        out[sku][day] += quantity
    return out


def requirements(session: Session, *, today: date, harvest_month: int) -> Requirements:
    """Rice, sugar and packaging the published plan needs per day from today, against what
    is on hand (rice of the current crop only) and what is on order, with the date each
    must be ordered by."""
    plan = published_plan(session, today)
    if plan is None:
        return Requirements(None, None, None, [])
    need: dict[ItemKind, dict[date, int]] = {k: {} for k in RAW_KINDS}
    for day in session.scalars(
        select(PlanDay)
        .where(PlanDay.plan_id == plan.id, PlanDay.day >= today)
        .order_by(PlanDay.day)
    ):
        need[ItemKind.RICE][day.day] = day.rice_g
        need[ItemKind.SUGAR][day.day] = day.sugar_g
        need[ItemKind.PACKAGING][day.day] = 0
    for made_on, pieces in session.execute(
        select(PlanLine.day, func.sum(PlanLine.quantity))
        .where(PlanLine.plan_id == plan.id, PlanLine.day >= today)
        .group_by(PlanLine.day)
    ):
        need[ItemKind.PACKAGING][made_on] = int(pieces or 0) * BAGS_PER_PIECE
    crop = current_crop_year(today, harvest_month)
    leads = lead_days(session)
    incoming = _incoming(session)
    items = []
    for item in session.scalars(
        select(Item).where(Item.kind.in_(RAW_KINDS), Item.active).order_by(Item.kind, Item.sku)
    ):
        lots = select(func.coalesce(func.sum(Lot.on_hand), 0)).where(
            Lot.item_id == item.id, Lot.on_hand > 0
        )
        if item.kind is ItemKind.RICE:
            lots = lots.where(Lot.crop_year == crop)
        on_hand = int(session.scalar(lots) or 0)
        lead = leads.get(item.sku, DEFAULT_LEAD_DAYS)
        req = requirement(
            item.sku, need[item.kind], on_hand, incoming.get(item.sku, {}), lead, today
        )
        items.append((item.kind.value, item.name_zh, item.name_en, lead, req))
    return Requirements(plan.ref, plan.start, plan.end, items)


# --- purchase orders ------------------------------------------------------------------


@dataclass(frozen=True)
class NewLine:
    sku: str
    quantity: int
    unit_price_fen: int = 0


def create_purchase(
    session: Session,
    *,
    supplier: str,
    expected_on: date,
    lines: list[NewLine],
    user_id: int,
    today: date,
    note: str = "",
) -> PurchaseOrder:
    if not supplier.strip() or len(supplier) > 120:
        raise Refused("stock.err.supplier", code="supplier_required")
    if expected_on < today:
        raise Refused("stock.err.expected_past", code="expected_in_past")
    if not lines or len(lines) > 20:
        raise Refused("stock.err.lines", code="bad_lines")
    for line in lines:
        _material(session, line.sku)
        if line.quantity <= 0 or line.unit_price_fen < 0:
            raise Refused("stock.err.quantity", code="bad_quantity")
    order = PurchaseOrder(
        supplier=supplier.strip(),
        status=PurchaseStatus.DRAFT,
        expected_on=expected_on,
        note=note.strip()[:200],
        created_by=user_id,
    )
    session.add(order)
    session.flush()
    for line in lines:
        session.add(
            PurchaseOrderLine(
                order_id=order.id,
                sku=line.sku,
                quantity=line.quantity,
                unit_price_fen=line.unit_price_fen,
            )
        )
    session.flush()
    session.refresh(order)
    publish(
        session,
        "purchase.created",
        {"purchase_id": order.id, "supplier": order.supplier, "by": user_id},
        key=f"purchase:{order.id}",
    )
    return order


def get_purchase(session: Session, purchase_id: int, *, lock: bool = False) -> PurchaseOrder:
    stmt = select(PurchaseOrder).where(PurchaseOrder.id == purchase_id)
    if lock:
        stmt = stmt.with_for_update(of=PurchaseOrder)
    order = session.scalar(stmt)
    if order is None:
        raise Refused("stock.err.unknown_purchase", status=404, code="not_found", id=purchase_id)
    return order


def list_purchases(session: Session) -> list[PurchaseOrder]:
    return list(session.scalars(select(PurchaseOrder).order_by(PurchaseOrder.id.desc()).limit(200)))


def send_purchase(session: Session, purchase_id: int, *, now: datetime) -> PurchaseOrder:
    order = get_purchase(session, purchase_id, lock=True)
    if order.status is PurchaseStatus.SENT:
        return order
    if order.status is not PurchaseStatus.DRAFT:
        raise Refused("stock.err.purchase_state", status=409, code="purchase_state")
    order.status = PurchaseStatus.SENT
    order.sent_at = now
    publish(session, "purchase.sent", {"purchase_id": order.id}, key=f"purchase:{order.id}")
    return order


def cancel_purchase(session: Session, purchase_id: int) -> PurchaseOrder:
    order = get_purchase(session, purchase_id, lock=True)
    if order.status not in (PurchaseStatus.DRAFT, PurchaseStatus.SENT):
        raise Refused("stock.err.purchase_state", status=409, code="purchase_state")
    order.status = PurchaseStatus.CANCELLED
    return order


@dataclass(frozen=True)
class LineReceipt:
    line_id: int
    quantity: int  # what actually arrived (may differ from the order)
    crop_year: int | None = None
    moisture_tenths: int | None = None
    best_before: date | None = None


def receive_purchase(
    session: Session,
    purchase_id: int,
    receipts: list[LineReceipt],
    *,
    user_id: int,
    now: datetime,
) -> PurchaseOrder:
    """The goods arrived: each line becomes a lot. Receiving twice is refused (409)."""
    order = get_purchase(session, purchase_id, lock=True)
    if order.status is not PurchaseStatus.SENT:
        raise Refused("stock.err.purchase_state", status=409, code="purchase_state")
    by_id = {line.id: line for line in order.lines}
    if {r.line_id for r in receipts} != set(by_id) or len(receipts) != len(by_id):
        raise Refused("stock.err.receipt_lines", code="receipt_lines")
    for r in receipts:
        line = by_id[r.line_id]
        lot = receive(
            session,
            sku=line.sku,
            quantity=r.quantity,
            received_at=now,
            user_id=user_id,
            supplier=order.supplier,
            crop_year=r.crop_year,
            moisture_tenths=r.moisture_tenths,
            best_before=r.best_before,
            purchase_line_id=line.id,
        )
        line.lot_code = lot.code
    order.status = PurchaseStatus.RECEIVED
    order.received_at = now
    publish(session, "purchase.received", {"purchase_id": order.id}, key=f"purchase:{order.id}")
    return order


def refuse_domain(exc: DomainError) -> Refused:
    """Inventory's own refusals (English) as a bilingual one naming what was wrong."""
    return Refused("stock.err.inventory", status=exc.status, code=exc.code, detail=exc.message)
