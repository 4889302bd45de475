"""Taking stock for reservations: checking the request, turning lines into demands on supply
rows, planning the take freshest first, reclaiming dead holds, writing the claims, and the
event payloads. The services that use these (reserve, confirm, release, change, expire) are in
`inventory.reservations`; the one-round-trip checkout (PostgreSQL) uses them too.

Invariant kept with the services: for each supply row, `promised` equals the sum of its claims
whose status is 'active' or 'fulfilled'; claims and `promised` change together, in one
transaction, after the supply rows are locked (inventory.locks).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import and_, case, func, insert, or_, select, update
from sqlalchemy.orm import Session

from inventory.db import utcnow
from inventory.errors import (
    DayClosed,
    DuplicateReference,
    InvalidInput,
    SoldOut,
    UnknownItem,
)
from inventory.events import publish
from inventory.locks import SupplyRow
from inventory.models import (
    Claim,
    ClaimKind,
    ClaimStatus,
    Item,
    ItemKind,
    Reservation,
    ReservationStatus,
    Supply,
)
from inventory.rules import (
    Candidate,
    check_demand_day,
    check_quantity,
    local_day,
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


def check_now(now: datetime | None) -> datetime:
    if now is None:
        return utcnow()
    if not isinstance(now, datetime) or now.tzinfo is None:
        raise InvalidInput(f"now must be an aware datetime, got {now!r}")
    return now


def check_ref(ref: object) -> str:
    if not isinstance(ref, str) or not ref.strip() or len(ref) > 80:
        raise InvalidInput(f"a reservation reference must be 1-80 characters, got {ref!r}")
    return ref


def check_lines(lines: Sequence[Line]) -> list[Line]:
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


def check_hold_until(hold_until: datetime | None, now: datetime) -> datetime | None:
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


class ProductFacts(NamedTuple):
    id: int
    sku: str
    freshness_days: int


@dataclass(frozen=True)
class Demand:
    line_no: int
    line: Line
    item: ProductFacts
    window: int


def demands_of(
    session: Session,
    lines: Sequence[Line],
    window_days: int | None,
    now: datetime,
    *,
    new_ref: str | None = None,
) -> list[Demand]:
    """Every check of a request that needs no lock: products exist, days and windows are sane,
    and (given `new_ref`) the ref is not taken yet. One query for all of it: this is on the
    checkout's hot path."""
    checked = check_lines(lines)
    today = local_day(now)
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
    products = {row[1]: ProductFacts(row[0], row[1], row[2] or 1) for row in found}
    for sku in wanted:
        if sku not in products:
            raise UnknownItem(f"no product with SKU {sku!r}", sku=sku)
    if new_ref is not None and found[0][3] is not None:
        raise DuplicateReference(f"reservation {new_ref!r} already exists", ref=new_ref)
    return [
        Demand(
            line_no,
            line,
            products[line.sku],
            window_for(products[line.sku].freshness_days, window_days),
        )
        for line_no, line in enumerate(checked)
    ]


def supply_ranges(demands: Sequence[Demand]) -> list[tuple[int, date, date]]:
    return [(d.item.id, *production_days_for(d.line.day, d.window)) for d in demands]


# ---------------------------------------------------------------- taking stock


@dataclass(frozen=True)
class Shortage:
    demand: Demand
    available: int
    all_closed: bool


def plan_take(
    demands: Sequence[Demand], rows: Mapping[int, SupplyRow], freed: Mapping[int, int]
) -> tuple[list[tuple[Demand, list[tuple[int, int]]]], list[Shortage]]:
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
    planned: list[tuple[Demand, list[tuple[int, int]]]] = []
    shortages: list[Shortage] = []
    for demand in demands:
        first, last = production_days_for(demand.line.day, demand.window)
        in_window = [r for r in by_item[demand.item.id] if first <= r.production_day <= last]
        open_rows = [r for r in in_window if not r.closed or freed.get(r.id, 0) > 0]
        candidates = [Candidate(r.id, r.production_day, free[r.id]) for r in open_rows]
        takes = take_freshest_first(demand.line.quantity, candidates)
        if not takes:
            shortages.append(
                Shortage(
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


def refuse(shortages: Sequence[Shortage]) -> None:
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


def take(
    session: Session,
    demands: Sequence[Demand],
    rows: dict[int, SupplyRow],
    now: datetime,
    freed: Mapping[int, int] | None = None,
) -> list[tuple[Demand, list[tuple[int, int]]]]:
    """Plan the takes on locked rows; when short, reclaim expired holds on them and retry."""
    freed = freed or {}
    planned, shortages = plan_take(demands, rows, freed)
    if shortages:
        reclaimed = reclaim_expired(session, rows, now)
        if reclaimed:
            planned, shortages = plan_take(demands, rows, freed)
    if shortages:
        refuse(shortages)
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
    expire_cached(session, Supply, deltas.keys(), ["promised"])


def expire_cached(
    session: Session, cls: type[Any], ids: Collection[int], attrs: list[str] | None = None
) -> None:
    """Bulk updates bypass the identity map; let cached objects reload what they changed."""
    wanted = set(ids)
    for obj in list(session.identity_map.values()):
        if isinstance(obj, cls) and obj.id in wanted:
            session.expire(obj, attrs)


def reclaim_expired(
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
    expire_cached(session, Reservation, targets, ["status", "updated_at", "claims"])
    expire_cached(session, Claim, expired_claims, ["status"])
    payloads = (
        claims_payloads(
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


def insert_claims(
    session: Session,
    reservation: Reservation,
    planned: Sequence[tuple[Demand, list[tuple[int, int]]]],
    hold_until: datetime | None,
    now: datetime,
) -> dict[int, int]:
    """All claims of a (flushed) reservation in one multi-row INSERT.

    Not through the ORM: it would insert row by row on SQLite (RETURNING of many rows has no
    guaranteed order there). The reservation's `claims` collection reloads on next access.
    Returns the change of `promised` per supply row.
    """
    rows, deltas = claim_rows(reservation.id, planned, hold_until, now)
    session.execute(insert(Claim).values(rows))
    session.expire(reservation, ["claims"])
    return deltas


def claim_rows(
    reservation_id: int,
    planned: Sequence[tuple[Demand, list[tuple[int, int]]]],
    hold_until: datetime | None,
    now: datetime,
) -> tuple[list[dict[str, Any]], dict[int, int]]:
    """The claims of a planned reservation as rows to insert (by column name), and the change
    of `promised` per supply row."""
    kind = ClaimKind.ALLOCATION if hold_until is None else ClaimKind.HOLD
    deltas: dict[int, int] = defaultdict(int)
    rows: list[dict[str, Any]] = []
    for demand, takes in planned:
        for sid, quantity in takes:
            rows.append(
                {
                    "reservation_id": reservation_id,
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
    return rows, dict(deltas)


def reserved_payload(
    ref: str, status: ReservationStatus, hold_until: datetime | None, lines: Sequence[Line]
) -> dict[str, Any]:
    """What the `stock.reserved` event says, on every path that reserves."""
    return {
        "ref": ref,
        "status": status.value,
        "expires_at": hold_until.isoformat() if hold_until else None,
        **lines_payload_of(lines),
    }


def lines_payload(demands: Sequence[Demand]) -> dict[str, Any]:
    return lines_payload_of([d.line for d in demands])


def lines_payload_of(lines: Sequence[Line]) -> dict[str, Any]:
    return {
        "lines": [
            {"sku": line.sku, "day": line.day.isoformat(), "quantity": line.quantity}
            for line in lines
        ],
        "skus": sorted({line.sku for line in lines}),
        "days": sorted({line.day.isoformat() for line in lines}),
    }


def claims_payloads(
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


def claims_payload(session: Session, reservation_id: int) -> dict[str, Any]:
    return claims_payloads(session, [reservation_id])[reservation_id]
