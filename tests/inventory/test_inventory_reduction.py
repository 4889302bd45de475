"""A confirmed reservation cut to what a short batch made (part delivery): only what is not on
lots yet, the rest kept exactly, `promised` following its claims, and refusals that change
nothing."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from inventory.db import transaction
from inventory.errors import InvalidInput, ReservationStateError
from inventory.models import Claim, ClaimStatus, Item, OutboxEvent, Supply
from inventory.production import receive_production
from inventory.reduction import reduce_allocation
from inventory.reservations import Line, reserve
from tests.inventory.conftest import CLASSIC, HOLD, NOW, OSMANTHUS, Floor, day, snapshot

MADE = datetime(2027, 1, 20, 21, 0, tzinfo=UTC)


def _items(floor: Floor) -> dict[str, int]:
    with floor.db() as s:
        return dict(s.execute(select(Item.sku, Item.id)).all())


def _supply_ids(floor: Floor) -> list[int]:
    with floor.db() as s:
        return list(s.scalars(select(Supply.id).where(Supply.production_day == day(1))))


def test_a_cut_takes_only_the_short_product_and_keeps_promised_equal_to_the_live_claims(
    floor: Floor,
) -> None:
    floor.plan({(CLASSIC, day(1)): 100, (OSMANTHUS, day(1)): 100})
    with transaction(floor.db) as s:
        reserve(
            s,
            "booking:1",
            [Line(CLASSIC, day(1), 50), Line(OSMANTHUS, day(1), 100)],
            hold_until=None,
            now=NOW,
        )
    items = _items(floor)
    with transaction(floor.db) as s:
        reduce_allocation(
            s,
            "booking:1",
            {items[OSMANTHUS]: 10},
            supply_ids=_supply_ids(floor),
            reason="part delivery after a production shortfall in batch B1",
        )
    assert floor.promised(CLASSIC, day(1)) == 50
    assert floor.promised(OSMANTHUS, day(1)) == 90
    with floor.db() as s:
        live = {
            c.item_id: c.quantity
            for c in s.scalars(select(Claim).where(Claim.status == ClaimStatus.ACTIVE))
        }
        assert live == {items[CLASSIC]: 50, items[OSMANTHUS]: 90}
        changed = s.scalars(select(OutboxEvent).where(OutboxEvent.type == "stock.changed")).one()
        assert changed.payload["reason"].startswith("part delivery")
        assert {(ln["sku"], ln["quantity"]) for ln in changed.payload["lines"]} == {
            (CLASSIC, 50),
            (OSMANTHUS, 90),
        }


def test_what_is_on_lots_already_cannot_be_cut_and_a_refusal_changes_nothing(
    floor: Floor,
) -> None:
    floor.plan({(CLASSIC, day(1)): 100})
    with transaction(floor.db) as s:
        reserve(s, "order:1", [Line(CLASSIC, day(1), 30)], hold_until=None, now=NOW)
        receive_production(s, day(1), {CLASSIC: 20}, batch_ref="B-W1", made_at=MADE)
    items = _items(floor)
    before = snapshot(floor.db)
    with pytest.raises(InvalidInput), transaction(floor.db) as s:
        reduce_allocation(
            s, "order:1", {items[CLASSIC]: 11}, supply_ids=_supply_ids(floor), reason="too much"
        )
    assert snapshot(floor.db) == before
    with transaction(floor.db) as s:  # the 10 not on lots yet can go
        reduce_allocation(
            s, "order:1", {items[CLASSIC]: 10}, supply_ids=_supply_ids(floor), reason="short"
        )
    assert floor.promised(CLASSIC, day(1)) == 20


def test_only_a_confirmed_reservation_is_cut(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 100})
    with transaction(floor.db) as s:
        reserve(s, "order:2", [Line(CLASSIC, day(1), 5)], hold_until=HOLD, now=NOW)
    items = _items(floor)
    with pytest.raises(ReservationStateError), transaction(floor.db) as s:
        reduce_allocation(
            s, "order:2", {items[CLASSIC]: 1}, supply_ids=_supply_ids(floor), reason="short"
        )
    with pytest.raises(InvalidInput), transaction(floor.db) as s:
        reduce_allocation(s, "order:2", {items[CLASSIC]: 1}, supply_ids=[], reason="")
