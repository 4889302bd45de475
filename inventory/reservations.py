"""Reservations: holds and allocations on planned supply, taken all or nothing.

Invariant kept by every function here: for each supply row, `promised` equals the sum of its
claims whose status is 'active' or 'fulfilled' (handed-out units stay promised: they left the
building but still came out of that day's output). Claims and `promised` change together, in
one transaction, after the supply rows are locked (inventory.locks).

A hold is dead once its `expires_at` has passed, whatever its status column says: readers
(ATP) count it as free at once; writers reclaim it lazily when they run short, and the
`expire_holds` sweep tidies the rest. Status moves are guarded updates (`WHERE status = ...`),
so a hold confirmed a moment before its expiry can never be expired by a concurrent sweep.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inventory.claims import (
    Demand,
    Line,
    bump_promised,
    check_hold_until,
    check_now,
    check_ref,
    claims_payload,
    demands_of,
    expire_cached,
    insert_claims,
    lines_payload,
    plan_take,
    reclaim_expired,
    reserved_payload,
    supply_ranges,
    take,
)
from inventory.db import is_postgres, utcnow
from inventory.errors import (
    DuplicateReference,
    InvalidInput,
    ReservationNotFound,
    ReservationStateError,
)
from inventory.events import publish
from inventory.locks import SupplyRow, lock_reservation, lock_supply
from inventory.lots import assign_on_lots
from inventory.models import (
    Claim,
    ClaimKind,
    ClaimStatus,
    OutboxEvent,
    Reservation,
    ReservationStatus,
    Supply,
)

# `Line` is what callers hand to reserve() and change(): part of this module's interface.
__all__ = [
    "Line",
    "change",
    "confirm",
    "expire_holds",
    "get_reservation",
    "release",
    "reserve",
]


# ---------------------------------------------------------------- the services


def get_reservation(session: Session, ref: str) -> Reservation:
    reservation = session.scalars(select(Reservation).where(Reservation.ref == ref)).one_or_none()
    if reservation is None:
        raise ReservationNotFound(f"no reservation {ref!r}", ref=ref)
    return reservation


def reserve(
    session: Session,
    ref: str,
    lines: Sequence[Line],
    *,
    hold_until: datetime | None,
    window_days: int | None = None,
    now: datetime | None = None,
) -> Reservation:
    """Take every line or none. `hold_until=None` allocates at once (a confirmed booking).

    On PostgreSQL it first tries inventory.one_trip: ONE call of the `gaogan_reserve`
    function (reads, splits freshest first, writes, takes the stock with the guarded UPDATE,
    then writes the claims; several rows locked in id order first). When that cannot decide
    (stock short, a race lost, a ref taken, an unknown product), or on SQLite, two paths
    follow, the same statements whatever the number of lines:

    - fast (the whole order fits on one supply row, the usual checkout): read the candidate
      rows without a lock, write the reservation, its claims and the event, then take the
      stock with one guarded `UPDATE ... WHERE promised + n <= capacity`. The row lock is
      only held from that UPDATE to the caller's commit, as short as a bare counter.
    - locked (several rows, or the fast guard lost a race, or stock is short): lock every
      candidate row of all lines in one `SELECT ... FOR NO KEY UPDATE ORDER BY id`, reclaim
      expired holds if short, split freshest first, write, one UPDATE for all touched rows.
    """
    if is_postgres(session):
        # Imported here: inventory.one_trip builds on this module's checks and planning.
        from inventory.one_trip import reserve_in_one_call

        taken = reserve_in_one_call(
            session, ref, lines, hold_until=hold_until, window_days=window_days, now=now
        )
        if taken is not None:
            return taken
    now = check_now(now)
    ref = check_ref(ref)
    hold_until = check_hold_until(hold_until, now)
    demands = demands_of(session, lines, window_days, now, new_ref=ref)
    ranges = supply_ranges(demands)

    rows = lock_supply(session, ranges, lock=False)
    planned, shortages = plan_take(demands, rows, {})
    touched = {sid for _, takes in planned for sid, _ in takes}
    if not shortages and len(touched) == 1:
        reservation, event = _write_reservation(session, ref, demands, hold_until, now)
        deltas = insert_claims(session, reservation, planned, hold_until, now)
        sid, quantity = next(iter(deltas.items()))
        made = _take_one(session, sid, quantity)
        if made is not None:
            # `made` as the UPDATE saw it: a batch booked since our read counts.
            if made and hold_until is None:
                assign_on_lots(session, [sid])
            return reservation
        # Someone took the last units between our read and our update: undo our rows (no
        # supply row is locked by us yet) and go the locked way.
        _unwrite_reservation(session, reservation, event)

    rows = lock_supply(session, ranges)
    planned = take(session, demands, rows, now)
    reservation, _event = _write_reservation(session, ref, demands, hold_until, now)
    deltas = insert_claims(session, reservation, planned, hold_until, now)
    bump_promised(session, deltas)
    _put_on_lots(session, rows, deltas, hold_until)
    return reservation


def _put_on_lots(
    session: Session,
    rows: Mapping[int, SupplyRow],
    touched: Collection[int],
    hold_until: datetime | None = None,
) -> None:
    """On rows whose day's lots exist already (an order on the pickup morning, a release or
    change after the batch came in), put the rows' allocations on lots now, as the batch
    would have: an order taken then is on lots at once, and pieces given back go first to
    orders still short. A hold waits for its confirmation. Before production (the usual
    case) this is nothing: no statement is run."""
    if hold_until is not None:
        return
    made = sorted(sid for sid in touched if sid in rows and rows[sid].made)
    if made:
        assign_on_lots(session, made)


def _write_reservation(
    session: Session,
    ref: str,
    demands: Sequence[Demand],
    hold_until: datetime | None,
    now: datetime,
) -> tuple[Reservation, OutboxEvent]:
    status = ReservationStatus.CONFIRMED if hold_until is None else ReservationStatus.HELD
    reservation = Reservation(
        ref=ref, status=status, expires_at=hold_until, created_at=now, updated_at=now
    )
    session.add(reservation)
    event = publish(
        session,
        "stock.reserved",
        reserved_payload(ref, status, hold_until, [d.line for d in demands]),
        key=ref,
    )
    try:
        session.flush()
    except IntegrityError as exc:
        # Two requests with one ref raced past the check above; the loser's transaction is
        # spoilt (the caller rolls it back) but it is told why.
        raise DuplicateReference(f"reservation {ref!r} already exists", ref=ref) from exc
    return reservation, event


def _unwrite_reservation(session: Session, reservation: Reservation, event: OutboxEvent) -> None:
    session.execute(
        delete(Claim)
        .where(Claim.reservation_id == reservation.id)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(OutboxEvent)
        .where(OutboxEvent.id == event.id)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        delete(Reservation)
        .where(Reservation.id == reservation.id)
        .execution_options(synchronize_session=False)
    )
    session.expunge(event)
    session.expunge(reservation)


def _take_one(session: Session, supply_id: int, quantity: int) -> bool | None:
    """The conditional UPDATE of the fast path: no row back (None) means it no longer fits;
    else whether the row's day has been made (its lots exist)."""
    taken = session.execute(
        update(Supply)
        .where(
            Supply.id == supply_id,
            Supply.closed.is_(False),
            Supply.promised + quantity <= func.coalesce(Supply.actual, Supply.planned),
        )
        .values(promised=Supply.promised + quantity)
        .returning(Supply.actual)
        .execution_options(synchronize_session=False)
    ).first()
    if taken is None:
        return None
    expire_cached(session, Supply, [supply_id], ["promised"])
    return taken[0] is not None


def confirm(session: Session, ref: str, *, now: datetime | None = None) -> Reservation:
    """Turn a live hold into an allocation (the order is paid). Idempotent."""
    now = check_now(now)
    reservation = get_reservation(session, ref)
    status = reservation.status
    if status is ReservationStatus.HELD:
        moved = session.execute(
            update(Reservation)
            .where(
                Reservation.id == reservation.id,
                Reservation.status == ReservationStatus.HELD,
                Reservation.expires_at > now,
            )
            .values(status=ReservationStatus.CONFIRMED, expires_at=None, updated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if moved:
            session.execute(
                update(Claim)
                .where(
                    Claim.reservation_id == reservation.id,
                    Claim.status == ClaimStatus.ACTIVE,
                    Claim.kind == ClaimKind.HOLD,
                )
                .values(kind=ClaimKind.ALLOCATION, expires_at=None)
                .execution_options(synchronize_session=False)
            )
            _forget(session, reservation)
            made = set(
                session.scalars(
                    select(Claim.supply_id)
                    .join(Supply, Supply.id == Claim.supply_id)
                    .where(
                        Claim.reservation_id == reservation.id,
                        Claim.status == ClaimStatus.ACTIVE,
                        Supply.actual.is_not(None),
                    )
                )
            )
            if made:
                # Paid after the batch came in: on lots now, like an allocation booked then.
                assign_on_lots(session, made)
            publish(
                session,
                "stock.confirmed",
                {"ref": ref, **claims_payload(session, reservation.id)},
                key=ref,
            )
            return reservation
        # Lost the guard: the hold had expired, or someone else moved it meanwhile.
        session.refresh(reservation)
        status = reservation.status
        if status is ReservationStatus.HELD:
            expires = reservation.expires_at.isoformat() if reservation.expires_at else "?"
            raise ReservationStateError(
                f"the hold {ref!r} expired at {expires} and can no longer be confirmed",
                ref=ref,
                status="expired",
            )
    if status is ReservationStatus.CONFIRMED:
        return reservation
    raise ReservationStateError(
        f"reservation {ref!r} is {status.value} and cannot be confirmed",
        ref=ref,
        status=status.value,
    )


def _forget(session: Session, reservation: Reservation) -> None:
    """Bulk updates changed it and its claims behind the ORM's back: reload on next access."""
    for claim in reservation.__dict__.get("claims", []):
        session.expire(claim)
    session.expire(reservation)


def _active_claims(session: Session, reservation_id: int) -> list[tuple[int, int, int]]:
    return [
        (cid, sid, quantity)
        for cid, sid, quantity in session.execute(
            select(Claim.id, Claim.supply_id, Claim.quantity)
            .where(Claim.reservation_id == reservation_id, Claim.status == ClaimStatus.ACTIVE)
            .order_by(Claim.id)
        )
    ]


def _lock_claims(
    session: Session, reservation_id: int, rows: dict[int, SupplyRow]
) -> list[tuple[int, int, int]]:
    """The reservation's active claims, read after its row lock, with all their rows locked.

    Claims of a reservation only change under its row lock, so this read is stable; a row
    not locked yet (the claims moved between the first read and the lock) is locked now.
    """
    claims = _active_claims(session, reservation_id)
    missing = {sid for _, sid, _ in claims} - rows.keys()
    if missing:
        rows.update(lock_supply(session, ids=missing))
    return claims


def release(session: Session, ref: str, *, reason: str) -> Reservation:
    """Give the stock back. Idempotent: releasing twice, or an expired hold, is not an error."""
    if not isinstance(reason, str) or not reason.strip() or len(reason) > 200:
        raise InvalidInput("a release needs a reason of 1-200 characters")
    reservation = get_reservation(session, ref)
    if reservation.status is ReservationStatus.FULFILLED:
        raise ReservationStateError(
            f"reservation {ref!r} has been handed out and cannot be released",
            ref=ref,
            status=reservation.status.value,
        )
    if reservation.status is ReservationStatus.RELEASED:
        return reservation
    rows = lock_supply(session, ids={sid for _, sid, _ in _active_claims(session, reservation.id)})
    status, _expires = lock_reservation(session, reservation.id)
    if status in (ReservationStatus.RELEASED, ReservationStatus.FULFILLED):
        session.expire(reservation)
        return reservation
    claims = _lock_claims(session, reservation.id, rows)
    released_lines = claims_payload(session, reservation.id)  # before they stop being active
    # An expired hold stays 'expired'; only what it still pins down is freed.
    new_claim_status = (
        ClaimStatus.EXPIRED if status is ReservationStatus.EXPIRED else ClaimStatus.RELEASED
    )
    if claims:
        session.execute(
            update(Claim)
            .where(Claim.id.in_([cid for cid, _, _ in claims]))
            .values(status=new_claim_status)
            .execution_options(synchronize_session=False)
        )
    deltas: dict[int, int] = defaultdict(int)
    for _cid, sid, quantity in claims:
        deltas[sid] -= quantity
    bump_promised(session, deltas)
    _put_on_lots(session, rows, deltas)
    if status is not ReservationStatus.EXPIRED:
        session.execute(
            update(Reservation)
            .where(Reservation.id == reservation.id)
            .values(status=ReservationStatus.RELEASED, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        publish(
            session,
            "stock.released",
            {"ref": ref, "reason": reason, **released_lines},
            key=ref,
        )
    _forget(session, reservation)
    return reservation


def change(
    session: Session,
    ref: str,
    lines: Sequence[Line],
    *,
    hold_until: datetime | None = None,
    window_days: int | None = None,
    now: datetime | None = None,
) -> Reservation:
    """Replace the lines of a live reservation in one step: what it held counts as free for
    its new lines, and if the new lines do not fit, the old ones stay exactly as they were.

    The reservation keeps its kind: a confirmed one stays confirmed (it cannot become a hold
    again), a hold stays a hold, until `hold_until` if given, else until its old expiry.
    """
    now = check_now(now)
    hold_until = check_hold_until(hold_until, now)
    demands = demands_of(session, lines, window_days, now)
    reservation = get_reservation(session, ref)
    _refuse_dead(reservation.status, reservation.expires_at, ref, now)
    if hold_until is not None and reservation.status is ReservationStatus.CONFIRMED:
        raise InvalidInput(
            f"reservation {ref!r} is confirmed; it cannot be turned back into a hold", ref=ref
        )

    old_rows = {sid for _, sid, _ in _active_claims(session, reservation.id)}
    rows = lock_supply(session, supply_ranges(demands), ids=old_rows)
    status, expires_at = lock_reservation(session, reservation.id)
    _refuse_dead(status, expires_at, ref, now)
    old = _lock_claims(session, reservation.id, rows)

    freed: dict[int, int] = defaultdict(int)
    for _cid, sid, quantity in old:
        freed[sid] += quantity
    planned = take(session, demands, rows, now, freed)

    if old:
        session.execute(
            update(Claim)
            .where(Claim.id.in_([cid for cid, _, _ in old]))
            .values(status=ClaimStatus.RELEASED)
            .execution_options(synchronize_session=False)
        )
    new_status = status
    if status is ReservationStatus.HELD and hold_until is None:
        hold_until = expires_at
    reservation.expires_at = hold_until
    reservation.updated_at = now
    deltas = insert_claims(session, reservation, planned, hold_until, now)
    for sid, quantity in freed.items():
        deltas[sid] = deltas.get(sid, 0) - quantity
    publish(
        session,
        "stock.changed",
        {
            "ref": ref,
            "status": new_status.value,
            "expires_at": hold_until.isoformat() if hold_until else None,
            **lines_payload(demands),
        },
        key=ref,
    )
    bump_promised(session, deltas)
    _put_on_lots(session, rows, set(freed) | set(deltas), hold_until)
    _forget(session, reservation)
    return reservation


def _refuse_dead(
    status: ReservationStatus, expires_at: datetime | None, ref: str, now: datetime
) -> None:
    if status is ReservationStatus.CONFIRMED:
        return
    if status is ReservationStatus.HELD and expires_at is not None and expires_at > now:
        return
    shown = "expired" if status is ReservationStatus.HELD else status.value
    raise ReservationStateError(
        f"reservation {ref!r} is {shown} and cannot be changed", ref=ref, status=shown
    )


def expire_holds(session: Session, *, now: datetime | None = None) -> list[str]:
    """The sweep: expire every hold past its time and free what it pinned down.

    Returns the refs expired by this call. Guarded like every status move, so a hold
    confirmed meanwhile is left alone.
    """
    now = check_now(now)
    stale_rows = set(
        session.scalars(
            select(Claim.supply_id)
            .where(
                Claim.kind == ClaimKind.HOLD,
                Claim.status == ClaimStatus.ACTIVE,
                Claim.expires_at <= now,
            )
            .distinct()
        )
    )
    if not stale_rows:
        return []
    rows = lock_supply(session, ids=stale_rows)
    return reclaim_expired(session, rows, now, by="sweep")
