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
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import and_, case, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inventory.db import is_postgres, utcnow
from inventory.errors import (
    DayClosed,
    DuplicateReference,
    InvalidInput,
    ReservationNotFound,
    ReservationStateError,
    SoldOut,
    UnknownItem,
)
from inventory.events import publish
from inventory.locks import SupplyRow, lock_reservation, lock_supply
from inventory.lots import assign_on_lots
from inventory.models import (
    Claim,
    ClaimKind,
    ClaimStatus,
    Item,
    ItemKind,
    OutboxEvent,
    Reservation,
    ReservationStatus,
    Supply,
)
from inventory.rules import (
    Candidate,
    check_demand_day,
    check_quantity,
    local_today,
    production_days_for,
    take_freshest_first,
    window_for,
)

MAX_LINES = 200
# A hold is minutes (checkout) to days (unpaid distributor booking), never months.
MAX_HOLD = timedelta(days=31)


@dataclass(frozen=True)
class Line:
    """One line of an order: `day` is the local day the buyer collects (the demand day)."""

    sku: str
    day: date
    quantity: int


# ---------------------------------------------------------------- input checks


def _check_now(now: datetime | None) -> datetime:
    if now is None:
        return utcnow()
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise InvalidInput(f"now must be an aware datetime, got {now!r}")
    return now


def _check_ref(ref: object) -> str:
    if not isinstance(ref, str) or not ref.strip() or len(ref) > 80:
        raise InvalidInput(f"a reservation reference must be 1-80 characters, got {ref!r}")
    return ref


def _check_lines(lines: Sequence[Line]) -> list[Line]:
    if isinstance(lines, Line) or not lines:
        raise InvalidInput("a reservation needs at least one line")
    if len(lines) > MAX_LINES:
        raise InvalidInput(f"a reservation may have at most {MAX_LINES} lines, got {len(lines)}")
    checked: list[Line] = []
    for number, line in enumerate(lines, start=1):
        if not isinstance(line, Line):
            raise InvalidInput(f"line {number} is not a Line: {line!r}")
        check_quantity(line.quantity, what=f"line {number} ({line.sku}) quantity")
        checked.append(line)
    return checked


def _check_hold_until(hold_until: datetime | None, now: datetime) -> datetime | None:
    if hold_until is None:
        return None
    if not isinstance(hold_until, datetime) or hold_until.tzinfo is None:
        raise InvalidInput(f"hold_until must be an aware datetime, got {hold_until!r}")
    if hold_until <= now:
        raise InvalidInput("hold_until must be in the future", hold_until=hold_until.isoformat())
    if hold_until > now + MAX_HOLD:
        raise InvalidInput(
            f"a hold may last at most {MAX_HOLD.days} days", hold_until=hold_until.isoformat()
        )
    return hold_until


class _Product(NamedTuple):
    id: int
    sku: str
    freshness_days: int


@dataclass(frozen=True)
class _Demand:
    line_no: int
    line: Line
    item: _Product
    window: int


def _demands(
    session: Session,
    lines: Sequence[Line],
    window_days: int | None,
    now: datetime,
    *,
    new_ref: str | None = None,
) -> list[_Demand]:
    """Every check of a request that needs no lock: products exist, days and windows are sane,
    and (given `new_ref`) the ref is not taken yet. One query for all of it: this is on the
    checkout's hot path."""
    checked = _check_lines(lines)
    today = local_today(now)
    for line in checked:
        check_demand_day(line.day, today)
    wanted = sorted({line.sku for line in checked})
    columns: list[Any] = [Item.id, Item.sku, Item.freshness_days]
    if new_ref is not None:
        columns.append(select(Reservation.id).where(Reservation.ref == new_ref).scalar_subquery())
    found = session.execute(
        select(*columns).where(
            Item.sku.in_(wanted), Item.kind == ItemKind.PRODUCT, Item.active.is_(True)
        )
    ).all()
    products = {row[1]: _Product(row[0], row[1], row[2] or 1) for row in found}
    for sku in wanted:
        if sku not in products:
            raise UnknownItem(f"no product with SKU {sku!r}", sku=sku)
    if new_ref is not None and found[0][3] is not None:
        raise DuplicateReference(f"reservation {new_ref!r} already exists", ref=new_ref)
    return [
        _Demand(
            line_no,
            line,
            products[line.sku],
            window_for(products[line.sku].freshness_days, window_days),
        )
        for line_no, line in enumerate(checked)
    ]


def _ranges(demands: Sequence[_Demand]) -> list[tuple[int, date, date]]:
    return [(d.item.id, *production_days_for(d.line.day, d.window)) for d in demands]


# ---------------------------------------------------------------- taking stock


@dataclass(frozen=True)
class _Shortage:
    demand: _Demand
    available: int
    all_closed: bool


def _plan(
    demands: Sequence[_Demand], rows: Mapping[int, SupplyRow], freed: Mapping[int, int]
) -> tuple[list[tuple[_Demand, list[tuple[int, int]]]], list[_Shortage]]:
    """Split every line over the locked rows, freshest first, lines in the order given.

    `freed` is what a change gives back per row: on a closed row a change may keep up to what
    it had there, never take more.
    """
    free = {
        sid: min(row.free + freed.get(sid, 0), freed.get(sid, 0))
        if row.closed
        else row.free + freed.get(sid, 0)
        for sid, row in rows.items()
    }
    by_item: dict[int, list[SupplyRow]] = defaultdict(list)
    for row in rows.values():
        by_item[row.item_id].append(row)
    planned: list[tuple[_Demand, list[tuple[int, int]]]] = []
    shortages: list[_Shortage] = []
    for demand in demands:
        first, last = production_days_for(demand.line.day, demand.window)
        in_window = [r for r in by_item[demand.item.id] if first <= r.production_day <= last]
        open_rows = [r for r in in_window if not r.closed or freed.get(r.id, 0) > 0]
        candidates = [Candidate(r.id, r.production_day, free[r.id]) for r in open_rows]
        takes = take_freshest_first(demand.line.quantity, candidates)
        if not takes:
            shortages.append(
                _Shortage(
                    demand,
                    available=sum(max(0, c.free) for c in candidates),
                    all_closed=bool(in_window) and not open_rows,
                )
            )
            continue
        for sid, quantity in takes:
            free[sid] -= quantity
        planned.append((demand, takes))
    return planned, shortages


def _refuse(shortages: Sequence[_Shortage]) -> None:
    first = shortages[0]
    line = first.demand.line
    if first.all_closed:
        raise DayClosed(
            f"{line.sku} is closed to new orders for {line.day.isoformat()}",
            sku=line.sku,
            day=line.day.isoformat(),
        )
    raise SoldOut(
        f"only {first.available} of {line.sku} left for {line.day.isoformat()}, "
        f"{line.quantity} requested",
        sku=line.sku,
        day=line.day.isoformat(),
        requested=line.quantity,
        available=first.available,
        lines=[
            {
                "sku": s.demand.line.sku,
                "day": s.demand.line.day.isoformat(),
                "requested": s.demand.line.quantity,
                "available": s.available,
            }
            for s in shortages
        ],
    )


def _take(
    session: Session,
    demands: Sequence[_Demand],
    rows: dict[int, SupplyRow],
    now: datetime,
    freed: Mapping[int, int] | None = None,
) -> list[tuple[_Demand, list[tuple[int, int]]]]:
    """Plan the takes on locked rows; when short, reclaim expired holds on them and retry."""
    freed = freed or {}
    planned, shortages = _plan(demands, rows, freed)
    if shortages:
        reclaimed = _reclaim_expired(session, rows, now)
        if reclaimed:
            planned, shortages = _plan(demands, rows, freed)
    if shortages:
        _refuse(shortages)
    return planned


def bump_promised(session: Session, deltas: Mapping[int, int]) -> None:
    """Apply per-row changes of `promised` in one statement.

    The guard repeats in SQL what the caller decided on locked rows, so a bug can never
    over-promise silently: an increase that does not fit is an error, not a no-op.
    """
    deltas = {sid: delta for sid, delta in deltas.items() if delta}
    if not deltas:
        return
    delta = case(deltas, value=Supply.id)
    result = session.execute(
        update(Supply)
        .where(
            Supply.id.in_(sorted(deltas)),
            or_(
                delta <= 0,
                and_(
                    Supply.closed.is_(False),
                    Supply.promised + delta <= func.coalesce(Supply.actual, Supply.planned),
                ),
            ),
        )
        .values(promised=Supply.promised + delta)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != len(deltas):  # type: ignore[attr-defined]
        raise RuntimeError(f"supply rows changed under their lock: {sorted(deltas)}")
    _expire_cached(session, Supply, deltas.keys(), ["promised"])


def _expire_cached(
    session: Session, cls: type[Any], ids: Collection[int], attrs: list[str] | None = None
) -> None:
    """Bulk updates bypass the identity map; let cached objects reload what they changed."""
    wanted = set(ids)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, cls) and obj.id in wanted:
            session.expire(obj, attrs)


def _reclaim_expired(
    session: Session, rows: dict[int, SupplyRow], now: datetime, by: str = "reclaim"
) -> list[str]:
    """Free holds past their expiry that sit on these (locked) rows.

    Expires their reservations with a guarded update first: a hold confirmed meanwhile keeps
    its status and its claims. Claims of those reservations on rows not locked here stay
    'active' (and read as free, being past expiry) until a later reclaim or the sweep.
    Returns the refs that this call expired.
    """
    if not rows:
        return []
    found = session.execute(
        select(Claim.reservation_id, Reservation.status)
        .join(Reservation, Reservation.id == Claim.reservation_id)
        .where(
            Claim.supply_id.in_(sorted(rows)),
            Claim.kind == ClaimKind.HOLD,
            Claim.status == ClaimStatus.ACTIVE,
            Claim.expires_at <= now,
        )
        .distinct()
    ).all()
    if not found:
        return []
    held = sorted({rid for rid, status in found if status is ReservationStatus.HELD})
    already = {rid for rid, status in found if status is ReservationStatus.EXPIRED}
    newly: list[tuple[int, str]] = []
    if held:
        newly = [
            (rid, ref)
            for rid, ref in session.execute(
                update(Reservation)
                .where(
                    Reservation.id.in_(held),
                    Reservation.status == ReservationStatus.HELD,
                    Reservation.expires_at <= now,
                )
                .values(status=ReservationStatus.EXPIRED, updated_at=now)
                .returning(Reservation.id, Reservation.ref)
                .execution_options(synchronize_session=False)
            )
        ]
    targets = already | {rid for rid, _ in newly}
    if not targets:
        return []
    freed: dict[int, int] = defaultdict(int)
    expired_claims: list[int] = []
    for cid, sid, quantity in session.execute(
        update(Claim)
        .where(
            Claim.reservation_id.in_(sorted(targets)),
            Claim.supply_id.in_(sorted(rows)),
            Claim.kind == ClaimKind.HOLD,
            Claim.status == ClaimStatus.ACTIVE,
        )
        .values(status=ClaimStatus.EXPIRED)
        .returning(Claim.id, Claim.supply_id, Claim.quantity)
        .execution_options(synchronize_session=False)
    ):
        freed[sid] -= quantity
        expired_claims.append(cid)
    bump_promised(session, freed)
    for sid, delta in freed.items():
        rows[sid].promised += delta
    _expire_cached(session, Reservation, targets, ["status", "updated_at", "claims"])
    _expire_cached(session, Claim, expired_claims, ["status"])
    payloads = (
        _claims_payloads(
            session, [rid for rid, _ in newly], (ClaimStatus.ACTIVE, ClaimStatus.EXPIRED)
        )
        if newly
        else {}
    )
    for rid, ref in newly:
        publish(
            session,
            "stock.expired",
            {"ref": ref, "expired_at": now.isoformat(), "by": by, **payloads[rid]},
            key=ref,
        )
    return [ref for _rid, ref in newly]


def _insert_claims(
    session: Session,
    reservation: Reservation,
    planned: Sequence[tuple[_Demand, list[tuple[int, int]]]],
    hold_until: datetime | None,
    now: datetime,
) -> dict[int, int]:
    """All claims of a (flushed) reservation in one multi-row INSERT.

    Not through the ORM: it would insert row by row on SQLite (RETURNING of many rows has no
    guaranteed order there). The reservation's `claims` collection reloads on next access.
    Returns the change of `promised` per supply row.
    """
    kind = ClaimKind.ALLOCATION if hold_until is None else ClaimKind.HOLD
    deltas: dict[int, int] = defaultdict(int)
    rows: list[dict[str, Any]] = []
    for demand, takes in planned:
        for sid, quantity in takes:
            rows.append(
                {
                    "reservation_id": reservation.id,
                    "supply_id": sid,
                    "item_id": demand.item.id,
                    "demand_day": demand.line.day,
                    "line_no": demand.line_no,
                    "quantity": quantity,
                    "kind": kind,
                    "status": ClaimStatus.ACTIVE,
                    "expires_at": hold_until,
                    "created_at": now,
                }
            )
            deltas[sid] += quantity
    session.execute(insert(Claim).values(rows))
    session.expire(reservation, ["claims"])
    return deltas


def _lines_payload(demands: Sequence[_Demand]) -> dict[str, Any]:
    return {
        "lines": [
            {"sku": d.line.sku, "day": d.line.day.isoformat(), "quantity": d.line.quantity}
            for d in demands
        ],
        "skus": sorted({d.line.sku for d in demands}),
        "days": sorted({d.line.day.isoformat() for d in demands}),
    }


def _claims_payloads(
    session: Session,
    reservation_ids: Collection[int],
    statuses: Collection[ClaimStatus] = (ClaimStatus.ACTIVE,),
) -> dict[int, dict[str, Any]]:
    """The lines of several reservations as event payload fields, in one query.

    Only claims in `statuses`: the claims a change replaced (released) are history.
    """
    rows = session.execute(
        select(Claim.reservation_id, Item.sku, Claim.demand_day, Claim.quantity)
        .join(Item, Item.id == Claim.item_id)
        .where(Claim.reservation_id.in_(sorted(reservation_ids)), Claim.status.in_(list(statuses)))
        .order_by(Claim.reservation_id, Claim.line_no, Claim.id)
    ).all()
    lines: dict[int, dict[tuple[str, date], int]] = {rid: {} for rid in reservation_ids}
    for rid, sku, day, quantity in rows:
        lines[rid][(sku, day)] = lines[rid].get((sku, day), 0) + quantity
    return {
        rid: {
            "lines": [
                {"sku": sku, "day": day.isoformat(), "quantity": quantity}
                for (sku, day), quantity in by_line.items()
            ],
            "skus": sorted({sku for sku, _ in by_line}),
            "days": sorted({day.isoformat() for _, day in by_line}),
        }
        for rid, by_line in lines.items()
    }


def _claims_payload(session: Session, reservation_id: int) -> dict[str, Any]:
    return _claims_payloads(session, [reservation_id])[reservation_id]


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

    On PostgreSQL it first tries inventory.one_trip: one read and one call of the
    `gaogan_take` function (writes, then the guarded UPDATE last; several rows locked in id
    order first). When that finds the stock short or loses a race, or on SQLite, two paths
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
        from inventory.one_trip import reserve_in_one_trip

        taken = reserve_in_one_trip(
            session, ref, lines, hold_until=hold_until, window_days=window_days, now=now
        )
        if taken is not None:
            return taken
    now = _check_now(now)
    ref = _check_ref(ref)
    hold_until = _check_hold_until(hold_until, now)
    demands = _demands(session, lines, window_days, now, new_ref=ref)
    ranges = _ranges(demands)

    rows = lock_supply(session, ranges, lock=False)
    planned, shortages = _plan(demands, rows, {})
    touched = {sid for _, takes in planned for sid, _ in takes}
    if not shortages and len(touched) == 1:
        reservation, event = _write_reservation(session, ref, demands, hold_until, now)
        deltas = _insert_claims(session, reservation, planned, hold_until, now)
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
    planned = _take(session, demands, rows, now)
    reservation, _event = _write_reservation(session, ref, demands, hold_until, now)
    deltas = _insert_claims(session, reservation, planned, hold_until, now)
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
    demands: Sequence[_Demand],
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
        {
            "ref": ref,
            "status": status.value,
            "expires_at": hold_until.isoformat() if hold_until else None,
            **_lines_payload(demands),
        },
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
    _expire_cached(session, Supply, [supply_id], ["promised"])
    return taken[0] is not None


def confirm(session: Session, ref: str, *, now: datetime | None = None) -> Reservation:
    """Turn a live hold into an allocation (the order is paid). Idempotent."""
    now = _check_now(now)
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
                {"ref": ref, **_claims_payload(session, reservation.id)},
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
    released_lines = _claims_payload(session, reservation.id)  # before they stop being active
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
    now = _check_now(now)
    hold_until = _check_hold_until(hold_until, now)
    demands = _demands(session, lines, window_days, now)
    reservation = get_reservation(session, ref)
    _refuse_dead(reservation.status, reservation.expires_at, ref, now)
    if hold_until is not None and reservation.status is ReservationStatus.CONFIRMED:
        raise InvalidInput(
            f"reservation {ref!r} is confirmed; it cannot be turned back into a hold", ref=ref
        )

    old_rows = {sid for _, sid, _ in _active_claims(session, reservation.id)}
    rows = lock_supply(session, _ranges(demands), ids=old_rows)
    status, expires_at = lock_reservation(session, reservation.id)
    _refuse_dead(status, expires_at, ref, now)
    old = _lock_claims(session, reservation.id, rows)

    freed: dict[int, int] = defaultdict(int)
    for _cid, sid, quantity in old:
        freed[sid] += quantity
    planned = _take(session, demands, rows, now, freed)

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
    deltas = _insert_claims(session, reservation, planned, hold_until, now)
    for sid, quantity in freed.items():
        deltas[sid] = deltas.get(sid, 0) - quantity
    publish(
        session,
        "stock.changed",
        {
            "ref": ref,
            "status": new_status.value,
            "expires_at": hold_until.isoformat() if hold_until else None,
            **_lines_payload(demands),
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
    now = _check_now(now)
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
    return _reclaim_expired(session, rows, now, by="sweep")
