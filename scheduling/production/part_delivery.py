"""Part delivery at the day's last batch: what an accepting owner's reservation keeps anyway,
cutting it to what was made, and the `order.part_served` event (docs/events/scheduling.md).

The rule of who gets what is `scheduling.production.shortfall` (pure); this module reads and
writes the database for `batches.complete_batch`, which decides before the output is
received, so the reservation is on lots, and `order.ready`, for exactly what it keeps.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inventory.events import publish
from inventory.models import Claim, ClaimKind, ClaimStatus, Item, Reservation, Supply
from inventory.reduction import reduce_allocation

SHORTFALL = "production_shortfall"


def held_pieces(session: Session, refs: Sequence[str]) -> dict[str, dict[str, int]]:
    """Per ref and sku: the pieces of its live allocations, whatever day they were made."""
    if not refs:
        return {}
    rows = session.execute(
        select(Reservation.ref, Item.sku, func.sum(Claim.quantity))
        .join(Claim, Claim.reservation_id == Reservation.id)
        .join(Item, Item.id == Claim.item_id)
        .where(
            Reservation.ref.in_(sorted(refs)),
            Claim.kind == ClaimKind.ALLOCATION,
            Claim.status == ClaimStatus.ACTIVE,
        )
        .group_by(Reservation.ref, Item.sku)
    ).all()
    held: dict[str, dict[str, int]] = defaultdict(dict)
    for ref, sku, total in rows:
        held[ref][sku] = int(total or 0)
    return dict(held)


def kept_pieces(
    session: Session, needs: Mapping[str, Mapping[str, int]]
) -> dict[str, dict[str, int]]:
    """What each ref keeps whatever the batch made: its allocations minus what it still needs
    from the day's output (on lots from an earlier wave, or made on another day)."""
    held = held_pieces(session, sorted(needs))
    return {
        ref: {
            sku: total - needs[ref].get(sku, 0)
            for sku, total in held.get(ref, {}).items()
            if total - needs[ref].get(sku, 0) > 0
        }
        for ref in needs
    }


def cut_to_what_was_made(
    session: Session,
    ref: str,
    day: date,
    needs: Mapping[str, int],
    given: Mapping[str, int],
    *,
    batch_ref: str,
) -> dict[str, int]:
    """Take off the reservation what the day's output does not give it; returns the cut per
    sku (pieces)."""
    cut = {sku: need - given.get(sku, 0) for sku, need in needs.items() if need > given.get(sku, 0)}
    items = dict(session.execute(select(Item.sku, Item.id).where(Item.sku.in_(sorted(cut)))).all())
    supply_ids = list(session.scalars(select(Supply.id).where(Supply.production_day == day)))
    reduce_allocation(
        session,
        ref,
        {items[sku]: quantity for sku, quantity in cut.items()},
        supply_ids=supply_ids,
        reason=f"part delivery after a production shortfall in batch {batch_ref}"[:200],
    )
    return cut


def publish_part_served(
    session: Session, ref: str, day: date, batch_ref: str, cut: Mapping[str, int]
) -> None:
    """`order.part_served`: the owner accepted part delivery and gets what `served` says."""
    served = held_pieces(session, [ref]).get(ref, {})
    publish(
        session,
        "order.part_served",
        {
            "ref": ref,
            "production_day": day.isoformat(),
            "batch_ref": batch_ref,
            "reason": SHORTFALL,
            "short": [{"sku": sku, "quantity": quantity} for sku, quantity in sorted(cut.items())],
            "served": [
                {"sku": sku, "quantity": served.get(sku, 0)}
                for sku in sorted(set(cut) | set(served))
            ],
        },
        key=ref,
    )


def served_of(payload: Mapping[str, Any]) -> dict[str, int]:
    """For a consumer of `order.part_served`: the pieces each short product now gets, in all
    (a number to set a line to, so the event applied twice changes nothing)."""
    short = {str(s.get("sku")) for s in payload.get("short") or [] if isinstance(s, dict)}
    return {
        str(item["sku"]): int(item.get("quantity") or 0)
        for item in payload.get("served") or []
        if isinstance(item, dict) and str(item.get("sku")) in short
    }
