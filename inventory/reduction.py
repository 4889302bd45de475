"""A part delivery: a confirmed reservation loses what a production shortfall could not make,
and keeps the rest exactly as it was.

Kept apart from `inventory.reservations` (which it builds on: the same locks in the same
order, the same invariant of `promised` and the live claims) so that module stays readable.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from inventory.claims import bump_promised, claims_payload
from inventory.db import utcnow
from inventory.errors import InvalidInput, ReservationStateError
from inventory.events import publish
from inventory.locks import lock_reservation, lock_supply
from inventory.lots import covered
from inventory.models import Claim, ClaimKind, ClaimStatus, Reservation, ReservationStatus
from inventory.reservations import (
    _active_claims,
    _forget,
    _lock_claims,
    _put_on_lots,
    get_reservation,
)


def reduce_allocation(
    session: Session,
    ref: str,
    cuts: Mapping[int, int],
    *,
    supply_ids: Collection[int],
    reason: str,
) -> Reservation:
    """Take `cuts` (item id -> pieces) off a confirmed reservation's allocations on the given
    supply rows, from what is not on lots yet, and keep the rest exactly as it was: a part
    delivery after a production shortfall. The newest demand day's claims are cut first; a
    claim cut to nothing is released. Published as `stock.changed` (the lines left, and the
    reason), like any other change of a live reservation's lines.
    """
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 200:
        raise InvalidInput("a reduction needs a reason of 1-200 characters")
    cuts = {item_id: n for item_id, n in cuts.items() if n}
    if any(n < 0 for n in cuts.values()):
        raise InvalidInput("a reduction cuts a positive number of pieces", ref=ref)
    reservation = get_reservation(session, ref)
    rows = lock_supply(session, ids={sid for _, sid, _ in _active_claims(session, reservation.id)})
    status, _expires = lock_reservation(session, reservation.id)
    if status is not ReservationStatus.CONFIRMED:
        raise ReservationStateError(
            f"reservation {ref!r} is {status.value}; only a confirmed one is reduced",
            ref=ref,
            status=status.value,
        )
    active = {cid for cid, _, _ in _lock_claims(session, reservation.id, rows)}
    claims = [
        c
        for c in session.scalars(
            select(Claim).where(
                Claim.id.in_(sorted(active)),
                Claim.supply_id.in_(sorted(supply_ids)),
                Claim.kind == ClaimKind.ALLOCATION,
            )
        )
        if c.item_id in cuts
    ]
    on_lots = covered(session, [c.id for c in claims])
    deltas: dict[int, int] = defaultdict(int)
    for item_id, wanted in sorted(cuts.items()):
        left = wanted
        for claim in sorted(
            (c for c in claims if c.item_id == item_id),
            key=lambda c: (c.demand_day, c.id),
            reverse=True,
        ):
            take_off = min(left, claim.quantity - on_lots.get(claim.id, 0))
            if take_off <= 0:
                continue
            if take_off == claim.quantity:
                claim.status = ClaimStatus.RELEASED  # nothing of it is left to serve
            else:
                claim.quantity -= take_off
            deltas[claim.supply_id] -= take_off
            left -= take_off
            if not left:
                break
        if left:
            raise InvalidInput(
                f"reservation {ref!r} has only {wanted - left} of item {item_id} not on lots "
                f"on these rows; cannot cut {wanted}",
                ref=ref,
            )
    session.flush()
    bump_promised(session, deltas)
    _put_on_lots(session, rows, deltas)
    session.execute(
        update(Reservation)
        .where(Reservation.id == reservation.id)
        .values(updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    publish(
        session,
        "stock.changed",
        {
            "ref": ref,
            "status": ReservationStatus.CONFIRMED.value,
            "expires_at": None,
            "reason": reason,
            **claims_payload(session, reservation.id),
        },
        key=ref,
    )
    _forget(session, reservation)
    return reservation
