"""A reservation in two statements on PostgreSQL: one read, one call.

The work per reservation, not the row lock, was the gap to a bare conditional UPDATE
(docs/BENCHMARKS.md): six statements and the ORM per `reserve()`, twelve per checkout. Here:

1. `read_snapshot`: ONE select reads the products, every candidate supply row of every line
   (without a lock), a fresh reservation id, whether the ref is taken, and whatever scalar
   values the caller adds (the shop adds its order id, the calendar day, the pickup point).
2. Python plans the takes on that snapshot exactly as the locked path would
   (`claims.plan_take`, freshest first) and builds every row to write.
3. `take_in_one_call`: ONE call of the `gaogan_take` function (inventory.take_function) writes
   the rows and then takes the stock with the guarded UPDATE, last; with several supply rows it
   locks them in id order first. If the snapshot went stale (someone took the last units, a
   day closed), the function undoes its writes and returns NULL, and the caller runs the
   ordinary locked path (`reservations.reserve`), which reclaims expired holds and tells what
   is short: the guarantees are those of the locked path, this is only its fast lane.

SQLite has no such function; there `reserve()` keeps its own fast and locked paths.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Date,
    Table,
    and_,
    bindparam,
    func,
    inspect,
    literal,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from inventory.claims import (
    Demand,
    Line,
    check_hold_until,
    check_lines,
    check_now,
    check_ref,
    lines_payload,
    plan_take,
)
from inventory.claims import ProductFacts as _Product
from inventory.db import Base, utcnow
from inventory.errors import DuplicateReference, UnknownItem
from inventory.locks import SupplyRow
from inventory.lots import assign_on_lots
from inventory.models import (
    Claim,
    ClaimKind,
    ClaimStatus,
    Item,
    ItemKind,
    OutboxEvent,
    OutboxStatus,
    Reservation,
    ReservationStatus,
    Supply,
)
from inventory.rules import check_demand_day, local_day, window_for


@dataclass(frozen=True)
class ProductFacts:
    """What a checkout needs of a product, read in the snapshot."""

    id: int
    sku: str
    freshness_days: int
    price_fen: int
    name_zh: str
    name_en: str


@dataclass
class Snapshot:
    """Everything one read returned; nothing in it is locked."""

    products: dict[str, ProductFacts]
    rows: dict[int, SupplyRow]
    reservation_id: int
    ref_taken: bool
    extra: dict[str, Any] = field(default_factory=dict)


def _next_id(table: str) -> ColumnElement[int]:
    # An uncorrelated scalar subquery is an InitPlan: evaluated once per statement, however
    # many rows the statement returns.
    return select(func.nextval(func.pg_get_serial_sequence(table, "id"))).scalar_subquery()


def read_snapshot(
    session: Session,
    lines: Sequence[Line],
    *,
    window_days: int | None,
    ref: str | None = None,
    extra: Mapping[str, ColumnElement[Any]] | None = None,
) -> Snapshot:
    """Products, candidate supply rows, a new reservation id, the ref check and the caller's
    `extra` scalar subqueries, in one statement.

    Supply rows are read over each product's widest window (the product's freshness, or
    `window_days`); a narrower window is applied when planning. Unknown SKUs are simply absent
    from `products`: the caller decides when to say so (`demands_on_snapshot`).
    """
    extra = dict(extra or {})
    first = min(line.day for line in lines)
    last = max(line.day for line in lines)
    span = bindparam("window_days", window_days) if window_days is not None else Item.freshness_days
    columns: list[Any] = [
        Item.id,
        Item.sku,
        Item.freshness_days,
        Item.price_fen,
        Item.name_zh,
        Item.name_en,
        Supply.id,
        Supply.production_day,
        Supply.planned,
        Supply.actual,
        Supply.promised,
        Supply.closed,
        _next_id("reservations").label("reservation_id"),
    ]
    if ref is not None:
        columns.append(
            select(Reservation.id).where(Reservation.ref == ref).scalar_subquery().label("dup")
        )
    columns.extend(expr.label(name) for name, expr in extra.items())
    wanted = sorted({line.sku for line in lines})
    stmt = (
        select(*columns)
        .select_from(Item)
        .outerjoin(
            Supply,
            and_(
                Supply.item_id == Item.id,
                Supply.production_day <= last,
                Supply.production_day >= literal(first, Date) - (func.coalesce(span, 1) - 1),
            ),
        )
        .where(Item.sku.in_(wanted), Item.kind == ItemKind.PRODUCT, Item.active.is_(True))
        .order_by(Supply.id)
    )
    found = session.execute(stmt).all()
    products: dict[str, ProductFacts] = {}
    rows: dict[int, SupplyRow] = {}
    for row in found:
        item_id, sku, fresh, price, name_zh, name_en = row[:6]
        products[sku] = ProductFacts(item_id, sku, fresh or 1, price or 0, name_zh, name_en)
        sid, day, planned, actual, promised, closed = row[6:12]
        if sid is not None:
            rows[sid] = SupplyRow(
                id=sid,
                item_id=item_id,
                production_day=day,
                capacity=planned if actual is None else actual,
                promised=promised,
                closed=closed,
                made=actual is not None,
            )
    if not found:
        # No product matched: the values of the scalar subqueries still matter to the caller
        # (it may have a better error to give first), so read them alone.
        scalars: list[Any] = [_next_id("reservations").label("reservation_id")]
        if ref is not None:
            scalars.append(
                select(Reservation.id).where(Reservation.ref == ref).scalar_subquery().label("dup")
            )
        scalars.extend(expr.label(name) for name, expr in extra.items())
        head = session.execute(select(*scalars)).one()
        values = head._mapping
    else:
        values = found[0]._mapping
    return Snapshot(
        products=products,
        rows=rows,
        reservation_id=int(values["reservation_id"]),
        ref_taken=ref is not None and values["dup"] is not None,
        extra={name: values[name] for name in extra},
    )


def demands_on_snapshot(
    snapshot: Snapshot, lines: Sequence[Line], window_days: int | None
) -> list[Demand]:
    """The lines against the snapshot's products, as `claims.demands_of` makes them."""
    for line in sorted(lines, key=lambda ln: ln.sku):
        if line.sku not in snapshot.products:
            raise UnknownItem(f"no product with SKU {line.sku!r}", sku=line.sku)
    demands = []
    for line_no, line in enumerate(lines):
        facts = snapshot.products[line.sku]
        item = _Product(facts.id, facts.sku, facts.freshness_days)
        demands.append(Demand(line_no, line, item, window_for(item.freshness_days, window_days)))
    return demands


# ---------------------------------------------------------------- rows to write


def _jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def row_of(obj: Base) -> dict[str, Any]:
    """The column values of a new ORM object as the ORM would insert them: Python-side
    defaults applied, a primary key left out when not set (the column default gives it)."""
    mapper = inspect(obj).mapper
    row: dict[str, Any] = {}
    for attr in mapper.column_attrs:
        column = attr.columns[0]
        value = obj.__dict__.get(attr.key)
        default = column.default
        if value is None and default is not None:
            if default.is_callable:
                value = default.arg(None)
            elif default.is_scalar:
                value = default.arg
        if value is None and column.primary_key:
            continue
        row[column.name] = value
    return row


def event_object(event_type: str, payload: Mapping[str, Any], *, key: str) -> OutboxEvent:
    """An outbox row as `inventory.events.publish` makes it, not added to any session."""
    now = utcnow()
    return OutboxEvent(
        event_id=str(uuid.uuid4()),
        type=event_type,
        version=1,
        occurred_at=now,
        key=key,
        payload=dict(payload),
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=now,
    )


@dataclass(frozen=True)
class PlannedTake:
    """A reservation planned on a snapshot: its rows to write and the stock to take."""

    reservation: Reservation
    rows: list[tuple[Table, list[dict[str, Any]]]]
    deltas: dict[int, int]
    allocation: bool


def plan_reservation(
    snapshot: Snapshot,
    ref: str,
    demands: Sequence[Demand],
    *,
    hold_until: datetime | None,
    now: datetime,
) -> PlannedTake | None:
    """The reservation, its claims and its `stock.reserved` event, split freshest first over
    the snapshot's rows; None when the snapshot is short (the locked path decides then)."""
    planned, shortages = plan_take(demands, snapshot.rows, {})
    if shortages:
        return None
    status = ReservationStatus.CONFIRMED if hold_until is None else ReservationStatus.HELD
    reservation = Reservation(
        id=snapshot.reservation_id,
        ref=ref,
        status=status,
        expires_at=hold_until,
        created_at=now,
        updated_at=now,
    )
    kind = ClaimKind.ALLOCATION if hold_until is None else ClaimKind.HOLD
    deltas: dict[int, int] = defaultdict(int)
    claims: list[dict[str, Any]] = []
    for demand, takes in planned:
        for sid, quantity in takes:
            claims.append(
                row_of(
                    Claim(
                        reservation_id=reservation.id,
                        supply_id=sid,
                        item_id=demand.item.id,
                        demand_day=demand.line.day,
                        line_no=demand.line_no,
                        quantity=quantity,
                        kind=kind,
                        status=ClaimStatus.ACTIVE,
                        expires_at=hold_until,
                        created_at=now,
                    )
                )
            )
            deltas[sid] += quantity
    event = event_object(
        "stock.reserved",
        {
            "ref": ref,
            "status": status.value,
            "expires_at": hold_until.isoformat() if hold_until else None,
            **lines_payload(demands),
        },
        key=ref,
    )
    return PlannedTake(
        reservation=reservation,
        rows=[
            (Reservation.__table__, [row_of(reservation)]),  # type: ignore[list-item]
            (Claim.__table__, claims),  # type: ignore[list-item]
            (OutboxEvent.__table__, [row_of(event)]),  # type: ignore[list-item]
        ],
        deltas=dict(deltas),
        allocation=hold_until is None,
    )


_TAKE = text(
    "SELECT gaogan_take(CAST(:rows AS jsonb), CAST(:ids AS integer[]), "
    "CAST(:quantities AS integer[]))"
)


def take_in_one_call(
    session: Session,
    rows: Sequence[tuple[Table, Sequence[Mapping[str, Any]]]],
    deltas: Mapping[int, int],
) -> list[int] | None:
    """Write `rows` (in the order given) and take `deltas` of supply in one statement.

    Returns the taken rows whose day has been made, or None when the stock no longer fits
    (nothing was written). A unique violation (a ref taken meanwhile) raises IntegrityError.
    """
    # Rows the caller added through the ORM earlier in this transaction must exist before
    # ours reference them (a raw statement does not autoflush); nothing pending: no statement.
    session.flush()
    payload = []
    for table, table_rows in rows:
        if not table_rows:
            continue
        keys = set(table_rows[0])
        if any(set(r) != keys for r in table_rows):
            raise ValueError(f"rows for {table.name} must name the same columns")
        payload.append([table.name, [{k: _jsonable(v) for k, v in r.items()} for r in table_rows]])
    ids = sorted(deltas)
    made = session.execute(
        _TAKE,
        {
            "rows": json.dumps(payload, ensure_ascii=False),
            "ids": ids,
            "quantities": [deltas[sid] for sid in ids],
        },
    ).scalar_one()
    return None if made is None else list(made)


def attach(session: Session, obj: Base) -> None:
    """Make an object the function inserted persistent in the session without reading it
    back: what is set stays, what is not (relationships) loads on first access."""
    make_transient_to_detached(obj)
    session.add(obj)


def reserve_in_one_trip(
    session: Session,
    ref: str,
    lines: Sequence[Line],
    *,
    hold_until: datetime | None,
    window_days: int | None = None,
    now: datetime | None = None,
) -> Reservation | None:
    """`reservations.reserve` in two statements, or None when it must take the locked path
    (stock short on the snapshot, or lost to a concurrent order between read and update).
    PostgreSQL only."""
    now = check_now(now)
    ref = check_ref(ref)
    hold_until = check_hold_until(hold_until, now)
    checked = check_lines(lines)
    today = local_day(now)
    for line in checked:
        check_demand_day(line.day, today)
    if window_days is not None:
        window_for(1, window_days)  # refuse a bad window before any statement
    snapshot = read_snapshot(session, checked, window_days=window_days, ref=ref)
    demands = demands_on_snapshot(snapshot, checked, window_days)
    if snapshot.ref_taken:
        raise DuplicateReference(f"reservation {ref!r} already exists", ref=ref)
    planned = plan_reservation(snapshot, ref, demands, hold_until=hold_until, now=now)
    if planned is None:
        return None
    made = take_or_refuse_duplicate(session, planned.rows, planned.deltas, ref)
    if made is None:
        return None
    finish(session, planned, made)
    return planned.reservation


def take_or_refuse_duplicate(
    session: Session,
    rows: Sequence[tuple[Table, Sequence[Mapping[str, Any]]]],
    deltas: Mapping[int, int],
    ref: str,
) -> list[int] | None:
    try:
        return take_in_one_call(session, rows, deltas)
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", "") or ""
        if "reservations" in constraint:
            # Two requests with one ref raced past the snapshot's check; the loser's
            # transaction is spoilt (the caller rolls it back) but it is told why.
            raise DuplicateReference(f"reservation {ref!r} already exists", ref=ref) from exc
        raise


def finish(session: Session, planned: PlannedTake, made: Sequence[int]) -> None:
    """After a successful take: the reservation joins the session, and an allocation on a day
    already made goes on its lots at once (as `reserve` does)."""
    attach(session, planned.reservation)
    if made and planned.allocation:
        assign_on_lots(session, sorted(made))
