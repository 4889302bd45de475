"""Reservations and checkouts in one or two statements on PostgreSQL.

The work per reservation, not the row lock, was the gap to a bare conditional UPDATE
(docs/BENCHMARKS.md): six statements and the ORM per `reserve()`, twelve per checkout.

`reserve_in_one_call` is `reservations.reserve` in ONE statement: the `gaogan_reserve` function
(inventory.take_function) reads the products and supply rows, splits each line freshest first
as `claims.plan_take` does, writes the reservation and its event, takes the stock with the
guarded UPDATE and writes the claims after it.

A checkout needs facts of the shop's own (prices, the pickup point, the calendar), so it is two:

1. `read_snapshot`: ONE select reads the products, every candidate supply row of every line
   (without a lock), a fresh reservation id, whether the ref is taken, and whatever scalar
   values the caller adds as SQL (the shop adds its order id, the calendar day, the pickup
   point). One text per set of extras: prepared once per connection.
2. Python plans the takes on that snapshot exactly as the locked path would
   (`claims.plan_take`, freshest first) and builds every row to write, as plain dicts.
3. `take_in_one_call`: ONE call of the `gaogan_take` function writes the rows, takes the stock
   with the guarded UPDATE and then writes the claims; with several supply rows it locks them
   in id order first.

Whenever a function cannot decide alone (stock short or lost to a concurrent order between its
read and its UPDATE, a day closed, a ref taken, an unknown product) it undoes its writes and
returns NULL, and the caller runs the ordinary locked path (`reservations.reserve`), which
reclaims expired holds and tells what is short: the guarantees are those of the locked path,
this is only its fast lane.

SQLite has no such functions; there `reserve()` keeps its own fast and locked paths.
"""

from __future__ import annotations

import enum
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Table, inspect
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from inventory.claims import (
    Demand,
    Line,
    check_hold_until,
    check_lines,
    check_now,
    check_ref,
    claim_rows,
    plan_take,
    reserved_payload,
)
from inventory.claims import ProductFacts as _Product
from inventory.db import Base, utcnow
from inventory.errors import DuplicateReference, UnknownItem
from inventory.locks import SupplyRow
from inventory.lots import assign_on_lots
from inventory.models import (
    Claim,
    OutboxEvent,
    OutboxStatus,
    Reservation,
    ReservationStatus,
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


def _extra_sql(extra: Mapping[str, str]) -> str:
    return "".join(f",\n       ({sql}) AS {name}" for name, sql in extra.items())


_SNAPSHOT_SQL = """
SELECT i.id, i.sku, i.freshness_days, i.price_fen, i.name_zh, i.name_en,
       s.id, s.production_day, s.planned, s.actual, s.promised, s.closed, head.*
FROM (
    SELECT nextval('reservations_id_seq') AS reservation_id,
           (SELECT r.id FROM reservations AS r WHERE r.ref = %(ref)s) AS dup{extra}
) AS head
LEFT JOIN (
    items AS i
    LEFT JOIN supply AS s
      ON s.item_id = i.id
     AND s.production_day <= %(last)s
     AND s.production_day >= CAST(%(first)s AS date)
         - (coalesce(CAST(%(window_days)s AS integer), i.freshness_days, 1) - 1)
) ON i.sku = ANY (CAST(%(skus)s AS text[])) AND i.kind = 'product' AND i.active
ORDER BY s.id
"""

# One text per set of extra columns, so that psycopg prepares it once per connection and
# PostgreSQL plans it once (the statement used to be built with SQLAlchemy on every call:
# about a third of a checkout's client CPU went into building and caching it).
_snapshot_texts: dict[tuple[tuple[str, str], ...], str] = {}


def _snapshot_text(extra: Mapping[str, str]) -> str:
    key = tuple(extra.items())
    found = _snapshot_texts.get(key)
    if found is None:
        found = _SNAPSHOT_SQL.format(extra=_extra_sql(extra))
        _snapshot_texts[key] = found
    return found


def read_snapshot(
    session: Session,
    lines: Sequence[Line],
    *,
    window_days: int | None,
    ref: str | None = None,
    extra: Mapping[str, str] | None = None,
    params: Mapping[str, Any] | None = None,
) -> Snapshot:
    """Products, candidate supply rows, a new reservation id, the ref check and the caller's
    `extra` scalar subqueries (SQL text with `%(name)s` placeholders filled from `params`), in
    one statement that always returns at least one row.

    Supply rows are read over each product's widest window (the product's freshness, or
    `window_days`); a narrower window is applied when planning. Unknown SKUs are simply absent
    from `products`: the caller decides when to say so (`demands_on_snapshot`).
    """
    extra = dict(extra or {})
    values = {
        **(params or {}),
        "ref": ref,
        "first": min(line.day for line in lines),
        "last": max(line.day for line in lines),
        "window_days": window_days,
        "skus": sorted({line.sku for line in lines}),
    }
    found = session.connection().exec_driver_sql(_snapshot_text(extra), values).all()
    products: dict[str, ProductFacts] = {}
    rows: dict[int, SupplyRow] = {}
    for row in found:
        item_id, sku, fresh, price, name_zh, name_en = row[:6]
        if item_id is None:
            continue  # no product matched: the head row alone
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
    head = found[0]
    return Snapshot(
        products=products,
        rows=rows,
        reservation_id=int(head[12]),
        ref_taken=ref is not None and head[13] is not None,
        extra={name: head[14 + n] for n, name in enumerate(extra)},
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
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


# Per table: the Python-side column defaults, (column name, default, is it a callable).
_defaults: dict[str, list[tuple[str, Any, bool]]] = {}


def _column_defaults(table: Table) -> list[tuple[str, Any, bool]]:
    found = _defaults.get(table.name)
    if found is None:
        found = []
        for column in table.columns:
            default = column.default
            if column.primary_key or default is None:
                continue
            if default.is_callable:
                found.append((column.name, default.arg, True))  # type: ignore[attr-defined]
            elif default.is_scalar:
                found.append((column.name, default.arg, False))  # type: ignore[attr-defined]
        _defaults[table.name] = found
    return found


def new_row(table: Table, values: Mapping[str, Any]) -> dict[str, Any]:
    """A row to insert into `table`: `values` (by column name) over the Python-side column
    defaults, as the ORM would insert it. Columns neither given nor defaulted are NULL, and a
    missing `id` comes from the table's sequence (gaogan_take). Plain dicts: building ORM
    objects and reading them back cost more client CPU than the rest of a checkout."""
    row = dict(values)
    for name, default, is_callable in _column_defaults(table):
        if row.get(name) is None:
            row[name] = default(None) if is_callable else default
    return row


def row_of(obj: Base) -> dict[str, Any]:
    """The column values of a new ORM object as the ORM would insert them."""
    mapper = inspect(obj).mapper
    values = {attr.columns[0].name: obj.__dict__.get(attr.key) for attr in mapper.column_attrs}
    return new_row(mapper.local_table, {k: v for k, v in values.items() if v is not None})  # type: ignore[arg-type]


def event_row(event_type: str, payload: Mapping[str, Any], *, key: str) -> dict[str, Any]:
    """An outbox row as `inventory.events.publish` makes it."""
    now = utcnow()
    return {
        "event_id": str(uuid.uuid4()),
        "type": event_type,
        "version": 1,
        "occurred_at": now,
        "key": key,
        "payload": dict(payload),
        "status": OutboxStatus.PENDING.value,
        "attempts": 0,
        "next_attempt_at": now,
    }


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
    claims, deltas = claim_rows(reservation.id, planned, hold_until, now)
    event = event_row(
        "stock.reserved",
        reserved_payload(ref, status, hold_until, [d.line for d in demands]),
        key=ref,
    )
    reservation_row = {
        "id": reservation.id,
        "ref": ref,
        "status": status.value,
        "expires_at": hold_until,
        "created_at": now,
        "updated_at": now,
    }
    return PlannedTake(
        reservation=reservation,
        rows=[
            (Reservation.__table__, [reservation_row]),  # type: ignore[list-item]
            (Claim.__table__, claims),  # type: ignore[list-item]
            (OutboxEvent.__table__, [event]),  # type: ignore[list-item]
        ],
        deltas=deltas,
        allocation=hold_until is None,
    )


_TAKE = (
    "SELECT gaogan_take(CAST(%(rows)s AS jsonb), CAST(%(ids)s AS integer[]), "
    "CAST(%(quantities)s AS integer[]))"
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
    if session.new or session.dirty or session.deleted:
        session.flush()
    payload = [[table.name, list(table_rows)] for table, table_rows in rows if table_rows]
    ids = sorted(deltas)
    made = (
        session.connection()
        .exec_driver_sql(
            _TAKE,
            {
                "rows": json.dumps(payload, ensure_ascii=False, default=_jsonable),
                "ids": ids,
                "quantities": [deltas[sid] for sid in ids],
            },
        )
        .scalar_one()
    )
    return None if made is None else list(made)


def attach(session: Session, obj: Base) -> None:
    """Make an object the function inserted persistent in the session without reading it
    back: what is set stays, what is not (relationships) loads on first access."""
    make_transient_to_detached(obj)
    session.add(obj)


_RESERVE = (
    "SELECT gaogan_reserve(%(ref)s, CAST(%(skus)s AS text[]), CAST(%(days)s AS date[]), "
    "CAST(%(quantities)s AS integer[]), CAST(%(window_days)s AS integer), "
    "CAST(%(hold_until)s AS timestamptz), CAST(%(now)s AS timestamptz), CAST(%(event)s AS jsonb))"
)


def reserve_in_one_call(
    session: Session,
    ref: str,
    lines: Sequence[Line],
    *,
    hold_until: datetime | None,
    window_days: int | None = None,
    now: datetime | None = None,
) -> Reservation | None:
    """`reservations.reserve` in ONE statement (the `gaogan_reserve` function plans the split
    freshest first, writes, and takes the stock), or None when the locked path must decide:
    a SKU not sold, the ref taken, stock short, or the race for the last units lost.
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
    if session.new or session.dirty or session.deleted:
        session.flush()  # a raw statement does not autoflush
    status = ReservationStatus.CONFIRMED if hold_until is None else ReservationStatus.HELD
    event = event_row("stock.reserved", reserved_payload(ref, status, hold_until, checked), key=ref)
    try:
        taken = (
            session.connection()
            .exec_driver_sql(
                _RESERVE,
                {
                    "ref": ref,
                    "skus": [line.sku for line in checked],
                    "days": [line.day for line in checked],
                    "quantities": [line.quantity for line in checked],
                    "window_days": window_days,
                    "hold_until": hold_until,
                    "now": now,
                    "event": json.dumps(event, ensure_ascii=False, default=_jsonable),
                },
            )
            .scalar_one()
        )
    except IntegrityError as exc:
        _refuse_duplicate(exc, ref)
        raise
    if taken is None:
        return None
    reservation = Reservation(
        id=taken[0],
        ref=ref,
        status=status,
        expires_at=hold_until,
        created_at=now,
        updated_at=now,
    )
    attach(session, reservation)
    made = sorted(taken[1:])
    if made and hold_until is None:
        assign_on_lots(session, made)
    return reservation


def _refuse_duplicate(exc: IntegrityError, ref: str) -> None:
    constraint = getattr(getattr(exc.orig, "diag", None), "constraint_name", "") or ""
    if "reservations" in constraint:
        # Two requests with one ref raced past the check; the loser's transaction is spoilt
        # (the caller rolls it back) but it is told why.
        raise DuplicateReference(f"reservation {ref!r} already exists", ref=ref) from exc


def take_or_refuse_duplicate(
    session: Session,
    rows: Sequence[tuple[Table, Sequence[Mapping[str, Any]]]],
    deltas: Mapping[int, int],
    ref: str,
) -> list[int] | None:
    try:
        return take_in_one_call(session, rows, deltas)
    except IntegrityError as exc:
        _refuse_duplicate(exc, ref)
        raise


def finish(session: Session, planned: PlannedTake, made: Sequence[int]) -> None:
    """After a successful take: the reservation joins the session, and an allocation on a day
    already made goes on its lots at once (as `reserve` does)."""
    attach(session, planned.reservation)
    if made and planned.allocation:
        assign_on_lots(session, sorted(made))
