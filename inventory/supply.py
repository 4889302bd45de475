"""Supply: what each production day is planned to make of each product, and closed days."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy.orm import Session

from inventory.catalog import get_products, list_products
from inventory.errors import InvalidInput
from inventory.events import publish
from inventory.ledger import check_text
from inventory.locks import lock_supply_rows
from inventory.models import Supply
from inventory.rules import check_quantity


@dataclass(frozen=True)
class SupplyChange:
    """A row whose new plan is below what is already promised on it."""

    sku: str
    day: date
    planned: int
    promised: int

    @property
    def short(self) -> int:
        return self.promised - self.planned


def _check_day(day: object) -> date:
    if not isinstance(day, date) or isinstance(day, datetime):
        raise InvalidInput(f"a production day must be a date, got {day!r}")
    return day


def set_planned_supply(
    session: Session, plan_ref: str, quantities: Mapping[tuple[str, date], int]
) -> list[SupplyChange]:
    """Upsert the planned output per (sku, production day).

    Lowering a plan below what is already promised is allowed (the plan is the truth about
    flour and staff), but such rows are returned and announced as `stock.shortfall` so the
    shop can tell the customers concerned.
    """
    check_text(plan_ref, "plan_ref", 60)
    if not quantities:
        raise InvalidInput("a plan needs at least one (sku, day) quantity")
    for (sku, day), quantity in quantities.items():
        _check_day(day)
        check_quantity(quantity, what=f"planned {sku} on {day}", allow_zero=True)
    products = get_products(session, (sku for sku, _ in quantities))
    rows = lock_supply_rows(
        session, [p.id for p in products.values()], [day for _, day in quantities]
    )
    over: list[SupplyChange] = []
    for (sku, day), quantity in sorted(quantities.items()):
        item = products[sku]
        row = rows.get((item.id, day))
        if row is None:
            row = Supply(item_id=item.id, production_day=day, planned=0, promised=0, closed=False)
            session.add(row)
        row.planned = quantity
        row.plan_ref = plan_ref
        if quantity < row.promised and row.actual is None:
            over.append(SupplyChange(sku, day, quantity, row.promised))
    session.flush()
    publish(
        session,
        "supply.planned",
        {
            "plan_ref": plan_ref,
            "entries": [
                {"sku": sku, "day": day.isoformat(), "planned": quantity}
                for (sku, day), quantity in sorted(quantities.items())
            ],
            "skus": sorted(products),
            "days": sorted({day.isoformat() for _, day in quantities}),
        },
        key=f"plan:{plan_ref}",
    )
    if over:
        publish(
            session,
            "stock.shortfall",
            {
                "cause": "plan",
                "plan_ref": plan_ref,
                "rows": [
                    {
                        "sku": c.sku,
                        "day": c.day.isoformat(),
                        "planned": c.planned,
                        "promised": c.promised,
                        "short": c.short,
                    }
                    for c in over
                ],
            },
            key=f"plan:{plan_ref}",
        )
    return over


def set_day_closed(
    session: Session, day: date, closed: bool, skus: Sequence[str] | None = None
) -> int:
    """Close (or reopen) a production day to new orders, for some products or all.

    Claims already taken stay. A product without a supply row that day gets one (planned 0),
    so the closure sticks when a plan arrives later. Returns the number of rows whose flag
    changed.
    """
    _check_day(day)
    if not isinstance(closed, bool):
        raise InvalidInput(f"closed must be true or false, got {closed!r}")
    if skus is not None and (isinstance(skus, str) or not skus):
        raise InvalidInput("skus must be a non-empty list of SKUs, or None for every product")
    items = (
        list(get_products(session, skus).values()) if skus is not None else list_products(session)
    )
    rows = lock_supply_rows(session, [item.id for item in items], [day]) if items else {}
    changed = 0
    for item in sorted(items, key=lambda i: i.sku):
        row = rows.get((item.id, day))
        if row is None:
            if not closed:
                continue
            row = Supply(item_id=item.id, production_day=day, planned=0, promised=0, closed=False)
            session.add(row)
        if row.closed != closed:
            row.closed = closed
            changed += 1
    session.flush()
    if changed:
        publish(
            session,
            "supply.closed" if closed else "supply.reopened",
            {"day": day.isoformat(), "skus": sorted(item.sku for item in items)},
            key=f"supply-day:{day.isoformat()}",
        )
    return changed
