"""Batch execution: start (consume rice and sugar), complete (lots, allocations, who is served).

A shortfall is decided here before the output is booked, so that nobody is half-served without
being told: when the last batch of a production day makes less than was promised, whole
reservations are served in priority order (confirmed orders first, by when they were placed,
then distributor bookings by pickup slot) as long as everything they still need is there;
then the owners of those left over who accept part delivery (`scheduling.refs.PartPolicy`)
take what remains (the rule: `scheduling.production.shortfall`). Reservations cut to what was
made are announced (`order.part_served`), the rest are released and announced one by one
(`order.unserved`), so the shop can tell, re-price and refund each buyer. Only then is the
output received, which assigns the allocations that remain to the new lots
first-expiring-first, and every reservation now fully on lots is announced ready. A buyer who
did not accept part delivery is served whole or not at all: a customer who ordered ten is
never handed six.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inventory.db import is_postgres
from inventory.errors import DomainError
from inventory.events import publish
from inventory.lots import promised_on_lots
from inventory.materials import consume_material
from inventory.models import (
    Claim,
    ClaimKind,
    ClaimLot,
    ClaimStatus,
    Item,
    LedgerEntry,
    Lot,
    Reservation,
    Supply,
)
from inventory.production import receive_production
from inventory.reservations import release
from inventory.rules import LOCAL_ZONE, local_day
from scheduling.early import check_not_before_day
from scheduling.production.models import Batch, BatchMaterial, BatchStatus
from scheduling.production.part_delivery import (
    cut_to_what_was_made,
    kept_pieces,
    publish_part_served,
)
from scheduling.production.shortfall import (
    Demand,
    allocate,
    allocate_by_priority,
    priority_key,
)
from scheduling.refs import part_policies, ref_infos

# The shortfall rule lives in scheduling.production.shortfall; callers still find it here.
__all__ = ["Demand", "allocate", "allocate_by_priority", "priority_key"]


class BatchNotFound(DomainError):
    code = "batch_not_found"
    status = 404


class BatchStateError(DomainError):
    code = "batch_state"
    status = 409


class InvalidBatch(DomainError):
    code = "invalid_batch"


# -- creating, finding ----------------------------------------------------------------


def batch_ref_for(production_day: date, wave: int) -> str:
    return f"{production_day:%Y%m%d}-{wave}"


def _check_quantities(quantities: Mapping[str, int], what: str) -> dict[str, int]:
    clean: dict[str, int] = {}
    for sku, quantity in quantities.items():
        if not isinstance(sku, str) or not sku:
            raise InvalidBatch(
                f"{what}: every line needs a product code", key="msg.batch.line_code"
            )
        if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 0:
            raise InvalidBatch(
                f"{what} of {sku} must be a whole number of pieces, 0 or more",
                key="msg.batch.whole_pieces",
                sku=sku,
                value=str(quantity),
            )
        clean[sku] = quantity
    return clean


def create_batch(
    session: Session,
    production_day: date,
    planned: Mapping[str, int],
    *,
    planned_start: datetime,
    planned_end: datetime,
    rice_sku: str,
    rice_g: int,
    sugar_sku: str,
    sugar_g: int,
    wave: int = 1,
    soak_minutes: int | None = None,
    water_temp_c: float | None = None,
) -> Batch:
    planned = _check_quantities(planned, "planned output")
    if not planned:
        raise InvalidBatch("a batch needs at least one product", key="msg.batch.no_product")
    if planned_start.tzinfo is None or planned_end.tzinfo is None:
        raise InvalidBatch("planned start and end must be aware datetimes", key="msg.batch.aware")
    if planned_end <= planned_start:
        raise InvalidBatch("a batch must end after it starts", key="msg.batch.end_after_start")
    if rice_g < 0 or sugar_g < 0:
        raise InvalidBatch(
            "rice and sugar quantities cannot be negative", key="msg.batch.negative_materials"
        )
    if wave < 1:
        raise InvalidBatch("waves are numbered from 1", key="msg.batch.wave")
    ref = batch_ref_for(production_day, wave)
    if session.scalar(select(Batch.id).where(Batch.ref == ref)) is not None:
        raise BatchStateError(f"batch {ref} already exists", key="msg.batch.exists", batch_ref=ref)
    batch = Batch(
        ref=ref,
        production_day=production_day,
        wave=wave,
        status=BatchStatus.PLANNED,
        planned_start=planned_start,
        planned_end=planned_end,
        planned=planned,
        rice_sku=rice_sku,
        rice_g=rice_g,
        sugar_sku=sugar_sku,
        sugar_g=sugar_g,
        soak_minutes=soak_minutes,
        water_temp_c=water_temp_c,
        completed_by="",
    )
    session.add(batch)
    session.flush()
    publish(
        session,
        "batch.planned",
        {
            "batch_ref": ref,
            "production_day": production_day.isoformat(),
            "wave": wave,
            "planned": planned,
        },
        key=f"batch:{ref}",
    )
    return batch


def get_batch(session: Session, ref: str, *, lock: bool = False) -> Batch:
    query = select(Batch).where(Batch.ref == ref)
    if lock and is_postgres(session):
        query = query.with_for_update()
    batch = session.scalar(query)
    if batch is None:
        raise BatchNotFound(f"no batch {ref!r}", key="msg.batch.not_found", batch_ref=ref)
    return batch


# -- start ------------------------------------------------------------------------------


def start_batch(
    session: Session,
    ref: str,
    *,
    now: datetime,
    harvest_month: int = 10,
    override_reason: str | None = None,
) -> Batch:
    """Take the batch's rice and sugar from stock (FEFO; old-crop rice refused) and start it.
    Before its production day only with an override reason (recorded on `batch.started`)."""
    batch = get_batch(session, ref, lock=True)
    if batch.status is not BatchStatus.PLANNED:
        raise BatchStateError(
            f"batch {ref} is {batch.status.value}; only a planned batch can start",
            key="msg.batch.cannot_start",
            batch_ref=ref,
            status=batch.status.value,
        )
    early = check_not_before_day(
        batch.production_day, now, override_reason, action=f"start batch {ref}"
    )
    entries: list[LedgerEntry] = []
    for sku, grams in ((batch.rice_sku, batch.rice_g), (batch.sugar_sku, batch.sugar_g)):
        if grams > 0:
            entries += consume_material(
                session,
                sku,
                grams,
                day=batch.production_day,
                reference=f"batch:{ref}",
                harvest_month=harvest_month,
            )
    for entry in entries:
        session.add(
            BatchMaterial(
                batch_id=batch.id,
                lot_id=entry.lot_id,
                item_id=entry.item_id,
                quantity=abs(entry.quantity),
                ledger_entry_id=entry.id,
            )
        )
    batch.status = BatchStatus.STARTED
    batch.started_at = now
    session.flush()
    codes = dict(
        session.execute(
            select(Lot.id, Lot.code).where(Lot.id.in_(sorted({e.lot_id for e in entries})))
        ).all()
    )
    publish(
        session,
        "batch.started",
        {
            "batch_ref": ref,
            "production_day": batch.production_day.isoformat(),
            "wave": batch.wave,
            "started_at": now.isoformat(),
            "materials": [{"lot": codes[e.lot_id], "grams": abs(e.quantity)} for e in entries],
            **({"early_start_reason": early} if early else {}),
        },
        key=f"batch:{ref}",
    )
    return batch


# -- complete ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Completion:
    batch_ref: str
    lots: list[str]
    ready: list[str]  # refs now fully on lots
    unserved: list[str]  # refs released for want of output
    reduced: list[str] = field(default_factory=list)  # refs cut to what was made


def _day_supply(session: Session, day: date) -> dict[int, Supply]:
    return {
        row.id: row for row in session.scalars(select(Supply).where(Supply.production_day == day))
    }


def _live_allocations(session: Session, supply_ids: Sequence[int]) -> list[tuple[Claim, str]]:
    if not supply_ids:
        return []
    rows = session.execute(
        select(Claim, Reservation.ref)
        .join(Reservation, Reservation.id == Claim.reservation_id)
        .where(
            Claim.supply_id.in_(sorted(supply_ids)),
            Claim.kind == ClaimKind.ALLOCATION,
            Claim.status == ClaimStatus.ACTIVE,
        )
        .order_by(Claim.id)
    ).all()
    return [(claim, ref) for claim, ref in rows]


def _covered(session: Session, claim_ids: Sequence[int]) -> dict[int, int]:
    if not claim_ids:
        return {}
    rows = session.execute(
        select(ClaimLot.claim_id, func.sum(ClaimLot.quantity))
        .where(ClaimLot.claim_id.in_(sorted(claim_ids)))
        .group_by(ClaimLot.claim_id)
    ).all()
    return {claim_id: int(total or 0) for claim_id, total in rows}


def _free_stock(session: Session, day: date) -> dict[int, int]:
    """Per item: pieces on the day's product lots not yet assigned to anyone."""
    lots = list(session.scalars(select(Lot).where(Lot.production_day == day)))
    if not lots:
        return {}
    outstanding = promised_on_lots(session, [lot.id for lot in lots])
    free: dict[int, int] = defaultdict(int)
    for lot in lots:
        free[lot.item_id] += lot.on_hand - int(outstanding.get(lot.id) or 0)
    return free


def _demands(
    session: Session, day: date
) -> tuple[list[Demand], dict[str, dict[str, int]], dict[int, str]]:
    supply = _day_supply(session, day)
    allocations = _live_allocations(session, list(supply))
    covered = _covered(session, [claim.id for claim, _ in allocations])
    sku_of = dict(
        session.execute(
            select(Item.id, Item.sku).where(
                Item.id.in_(sorted({s.item_id for s in supply.values()}))
            )
        ).all()
    )
    needs: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    placed: dict[str, datetime] = {}
    for claim, ref in allocations:
        missing = claim.quantity - covered.get(claim.id, 0)
        if missing > 0:
            needs[ref][sku_of[claim.item_id]] += missing
        placed[ref] = min(placed.get(ref, claim.created_at), claim.created_at)
    slots = ref_infos(session, sorted(needs))
    policies = part_policies(session, sorted(needs))
    kept = kept_pieces(session, {r: needs[r] for r, p in policies.items() if p.accepts})
    demands = []
    for ref, per_sku in needs.items():
        info = slots.get(ref)
        when = info.slot_at if info and info.slot_at else placed[ref]
        policy = policies.get(ref)
        demands.append(
            Demand(
                ref,
                dict(per_sku),
                when,
                takes_part=bool(policy and policy.accepts),
                steps=dict(policy.steps) if policy else {},
                kept=kept.get(ref, {}),
            )
        )
    return demands, {ref: dict(v) for ref, v in needs.items()}, sku_of


def complete_batch(
    session: Session,
    ref: str,
    outputs: Mapping[str, int],
    *,
    made_at: datetime,
    completed_by: str,
) -> Completion:
    """Record what the batch actually made and hand it to whoever it was promised to."""
    batch = get_batch(session, ref, lock=True)
    if batch.status is not BatchStatus.STARTED:
        raise BatchStateError(
            f"batch {ref} is {batch.status.value}; only a started batch can be completed",
            key="msg.batch.cannot_complete",
            batch_ref=ref,
            status=batch.status.value,
        )
    outputs = _check_quantities(outputs, "actual output")
    if not outputs:
        raise InvalidBatch(
            "record the output of at least one product (0 is allowed)", key="msg.batch.no_output"
        )
    if made_at.tzinfo is None:
        raise InvalidBatch("made_at must be an aware datetime", key="msg.batch.made_at")
    day = batch.production_day
    others_open = session.scalar(
        select(func.count())
        .select_from(Batch)
        .where(
            Batch.production_day == day,
            Batch.id != batch.id,
            Batch.status != BatchStatus.COMPLETED,
        )
    )
    unserved: list[str] = []
    short: dict[str, dict[str, int]] = {}
    reduced: dict[str, dict[str, int]] = {}  # part delivery: ref -> sku -> pieces cut
    if not others_open:
        # The day's last batch: what is not covered now never will be.
        demands, needs, sku_of = _demands(session, day)
        free = _free_stock(session, day)
        available = {sku: free.get(item_id, 0) for item_id, sku in sku_of.items()}
        for sku, quantity in outputs.items():
            available[sku] = available.get(sku, 0) + quantity
        allocation = allocate(demands, available)
        unserved = allocation.unserved
        for unserved_ref in unserved:
            release(session, unserved_ref, reason=f"production shortfall in batch {ref}")
            short[unserved_ref] = needs[unserved_ref]
        for part_ref, given in allocation.reduced.items():
            reduced[part_ref] = cut_to_what_was_made(
                session, part_ref, day, needs[part_ref], given, batch_ref=ref
            )
    result = receive_production(session, day, outputs, batch_ref=ref, made_at=made_at)
    batch.status = BatchStatus.COMPLETED
    batch.actual = dict(outputs)
    batch.completed_at = made_at
    batch.completed_by = completed_by
    session.flush()

    # Before `order.ready` (same key): the owner learns what it gets, then that it is ready.
    for part_ref, cut in reduced.items():
        publish_part_served(session, part_ref, day, ref, cut)
    ready = _ready_refs(session, day, [lot.id for lot in result.lots])
    for ready_ref, lots in ready.items():
        publish(
            session,
            "order.ready",
            {
                "ref": ready_ref,
                "production_day": day.isoformat(),
                "batch_ref": ref,
                "lots": lots,
                "source": "batch",
            },
            key=ready_ref,
        )
    for unserved_ref in unserved:
        publish(
            session,
            "order.unserved",
            {
                "ref": unserved_ref,
                "production_day": day.isoformat(),
                "batch_ref": ref,
                "reason": "production_shortfall",
                "short": [
                    {"sku": sku, "quantity": quantity}
                    for sku, quantity in sorted(short[unserved_ref].items())
                ],
            },
            key=unserved_ref,
        )
    publish(
        session,
        "batch.completed",
        {
            "batch_ref": ref,
            "production_day": day.isoformat(),
            "wave": batch.wave,
            "planned": batch.planned,
            "actual": dict(outputs),
            "completed_by": completed_by,
            "made_at": made_at.isoformat(),
            "lots": [lot.code for lot in result.lots],
            "ready": sorted(ready),
            "unserved": unserved,
            "reduced": sorted(reduced),
        },
        key=f"batch:{ref}",
    )
    return Completion(
        ref, [lot.code for lot in result.lots], sorted(ready), unserved, sorted(reduced)
    )


def _ready_refs(session: Session, day: date, new_lot_ids: Sequence[int]) -> dict[str, list[str]]:
    """Refs with a claim on one of the new lots whose claims on the day are all on lots."""
    if not new_lot_ids:
        return {}
    touched = set(
        session.scalars(
            select(Reservation.ref)
            .join(Claim, Claim.reservation_id == Reservation.id)
            .join(ClaimLot, ClaimLot.claim_id == Claim.id)
            .where(ClaimLot.lot_id.in_(sorted(new_lot_ids)))
        )
    )
    supply = _day_supply(session, day)
    allocations = _live_allocations(session, list(supply))
    covered = _covered(session, [claim.id for claim, _ in allocations])
    complete: dict[str, bool] = {}
    for claim, ref in allocations:
        if ref in touched:
            complete[ref] = complete.get(ref, True) and covered.get(claim.id, 0) >= claim.quantity
    ready = sorted(ref for ref, ok in complete.items() if ok)
    lots: dict[str, list[str]] = {ref: [] for ref in ready}
    if ready:
        rows = session.execute(
            select(Reservation.ref, Lot.code)
            .join(Claim, Claim.reservation_id == Reservation.id)
            .join(ClaimLot, ClaimLot.claim_id == Claim.id)
            .join(Lot, Lot.id == ClaimLot.lot_id)
            .where(Reservation.ref.in_(ready), Lot.production_day == day)
            .order_by(Lot.code)
        ).all()
        for ref, code in rows:
            if code not in lots[ref]:
                lots[ref].append(code)
    return lots


# -- what the scheduler runs ----------------------------------------------------------


def start_due_batches(
    session: Session, *, due: datetime, now: datetime, harvest_month: int = 10
) -> list[str]:
    """Start today's planned batches whose start time has come. A batch refused (old-crop
    rice, not enough sugar) stays planned and is announced; the others still start."""
    day = local_day(due)
    started: list[str] = []
    batches = session.scalars(
        select(Batch)
        .where(
            Batch.production_day == day,
            Batch.status == BatchStatus.PLANNED,
            Batch.planned_start <= due,
        )
        .order_by(Batch.wave)
    ).all()
    for batch in batches:
        try:
            with session.begin_nested():
                start_batch(session, batch.ref, now=now, harvest_month=harvest_month)
            started.append(batch.ref)
        except DomainError as exc:
            publish(
                session,
                "batch.start_refused",
                {"batch_ref": batch.ref, "error": exc.code, "message": exc.message},
                key=f"batch:{batch.ref}",
            )
    return started


def complete_due_batches(session: Session, *, due: datetime) -> list[str]:
    """Complete, as planned, started batches whose end time has passed with nobody having
    recorded the output: the default the makers asked for."""
    completed: list[str] = []
    batches = session.scalars(
        select(Batch)
        .where(Batch.status == BatchStatus.STARTED, Batch.planned_end <= due)
        .order_by(Batch.production_day, Batch.wave)
    ).all()
    for batch in batches:
        complete_batch(
            session, batch.ref, batch.planned, made_at=batch.planned_end, completed_by="default"
        )
        completed.append(batch.ref)
    return completed


def production_start(day: date, start: time) -> datetime:
    return datetime.combine(day, start, LOCAL_ZONE)
