"""Which lot serves which allocation: the claim_lots rows, one rule for what a lot has free.

A lot's pieces are promised while they sit on a claim_lots row of a live (active) claim and
have not been handed out. Released and expired claims keep their rows as history, but their
pieces are free again; fulfilled claims have nothing outstanding (handed out = quantity).
Every assignment (a batch coming in, a reservation made or confirmed or changed on a day
whose lots exist, a release on such a day, a hand-out) goes through `assign_on_lots` or the
helpers below, under a lock on the day's lots, so two assigners never hand the same piece
to two claims.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inventory.models import Claim, ClaimKind, ClaimLot, ClaimStatus, Lot, Supply
from inventory.rules import LotStock, pick_fefo


def lock_lots(session: Session, item_ids: Collection[int], day: date) -> list[Lot]:
    """The product lots of these items made on `day`, locked in id order."""
    stmt = (
        select(Lot)
        .where(Lot.item_id.in_(sorted(set(item_ids))), Lot.production_day == day)
        .order_by(Lot.id)
        .with_for_update(of=Lot, key_share=True)
    )
    return list(session.scalars(stmt))


def promised_on_lots(session: Session, lot_ids: Collection[int]) -> dict[int, int]:
    """Per lot, the pieces already promised: on a live claim and not yet handed out."""
    if not lot_ids:
        return {}
    rows = session.execute(
        select(ClaimLot.lot_id, func.sum(ClaimLot.quantity - ClaimLot.handed_out))
        .join(Claim, Claim.id == ClaimLot.claim_id)
        .where(ClaimLot.lot_id.in_(sorted(set(lot_ids))), Claim.status == ClaimStatus.ACTIVE)
        .group_by(ClaimLot.lot_id)
    ).all()
    return {lot_id: int(total or 0) for lot_id, total in rows}


def lot_stock(session: Session, lots: Sequence[Lot]) -> dict[int, list[LotStock]]:
    """Unpromised stock per item, as FEFO sees it."""
    outstanding = promised_on_lots(session, [lot.id for lot in lots])
    stock: dict[int, list[LotStock]] = defaultdict(list)
    for lot in lots:
        free = lot.on_hand - outstanding.get(lot.id, 0)
        if free > 0:
            stock[lot.item_id].append(LotStock(lot.id, lot.best_before, lot.received_at, free))
    return stock


def covered(session: Session, claim_ids: Sequence[int]) -> dict[int, int]:
    """Per claim, how much of it is on lots already."""
    if not claim_ids:
        return {}
    rows = session.execute(
        select(ClaimLot.claim_id, func.sum(ClaimLot.quantity))
        .where(ClaimLot.claim_id.in_(sorted(claim_ids)))
        .group_by(ClaimLot.claim_id)
    ).all()
    return {cid: int(total or 0) for cid, total in rows}


def assign(
    claims: Sequence[Claim], covered: Mapping[int, int], stock: dict[int, list[LotStock]]
) -> tuple[list[tuple[int, int, int]], dict[int, int]]:
    """Assign each claim's uncovered rest to lots FEFO, earliest pickup first.

    Returns (claim_id, lot_id, quantity) assignments and what stays uncovered per claim.
    `stock` is consumed as it goes.
    """
    assignments: list[tuple[int, int, int]] = []
    short: dict[int, int] = {}
    for claim in sorted(claims, key=lambda c: (c.demand_day, c.id)):
        need = claim.quantity - covered.get(claim.id, 0)
        if need <= 0:
            continue
        lots = stock.get(claim.item_id, [])
        picks = pick_fefo(need, lots)
        taken = dict(picks)
        stock[claim.item_id] = [
            LotStock(s.lot_id, s.best_before, s.received_at, s.available - taken.get(s.lot_id, 0))
            for s in lots
        ]
        for lot_id, quantity in picks:
            assignments.append((claim.id, lot_id, quantity))
        rest = need - sum(taken.values())
        if rest:
            short[claim.id] = rest
    return assignments, short


def write_assignments(session: Session, assignments: Sequence[tuple[int, int, int]]) -> None:
    for claim_id, lot_id, quantity in assignments:
        session.add(ClaimLot(claim_id=claim_id, lot_id=lot_id, quantity=quantity, handed_out=0))
    session.flush()


def assign_on_lots(
    session: Session, supply_ids: Collection[int]
) -> tuple[list[Claim], dict[int, int]]:
    """Put the live allocations of these supply rows on their day's lots, FEFO, earliest
    pickup first (then the oldest claim): what a batch coming in does, and what a
    reservation made, confirmed, changed or released on a day whose lots already exist
    does for that day's rows, so an order booked on the pickup morning is on lots (and
    shows ready) at once, and pieces a release gave back go first to orders still short.

    Locks the rows' lots (after the supply rows the caller holds, as everywhere). Returns
    the allocations looked at and what stays uncovered per claim id.
    """
    if not supply_ids:
        return [], {}
    days: dict[date, set[int]] = defaultdict(set)
    day_of: dict[int, date] = {}
    for sid, item_id, day in session.execute(
        select(Supply.id, Supply.item_id, Supply.production_day).where(
            Supply.id.in_(sorted(supply_ids))
        )
    ):
        days[day].add(item_id)
        day_of[sid] = day
    lots: list[Lot] = []
    for day, item_ids in sorted(days.items()):
        lots += lock_lots(session, item_ids, day)
    claims = list(
        session.scalars(
            select(Claim)
            .where(
                Claim.supply_id.in_(sorted(supply_ids)),
                Claim.kind == ClaimKind.ALLOCATION,
                Claim.status == ClaimStatus.ACTIVE,
            )
            .order_by(Claim.id)
        )
    )
    done = covered(session, [c.id for c in claims])
    assignments: list[tuple[int, int, int]] = []
    short: dict[int, int] = {}
    # A claim only takes lots of the day it was promised.
    for day in sorted(days):
        day_lots = [lot for lot in lots if lot.production_day == day]
        day_claims = [c for c in claims if day_of[c.supply_id] == day]
        got, missing = assign(day_claims, done, lot_stock(session, day_lots))
        assignments += got
        short.update(missing)
    write_assignments(session, assignments)
    return claims, short
