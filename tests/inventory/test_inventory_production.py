"""A batch's output becomes lots; allocations get lots FEFO; goods are handed out."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from inventory.db import transaction
from inventory.errors import DuplicateReference, InsufficientStock, ReservationStateError
from inventory.ledger import verify_ledger
from inventory.models import (
    ClaimLot,
    LedgerEntry,
    LedgerKind,
    Lot,
    OutboxEvent,
    ReservationStatus,
    Supply,
)
from inventory.production import Shortfall, hand_out, receive_production
from inventory.reservations import Line, confirm, get_reservation, release, reserve
from tests.inventory.conftest import CLASSIC, HOLD, NOW, OSMANTHUS, Floor, day

MADE = datetime(2027, 1, 20, 22, 0, tzinfo=UTC)  # 06:00 on the 21st in Tianjin


def test_a_batch_becomes_one_lot_per_product_with_production_entries(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 100, (OSMANTHUS, day(1)): 50})
    with transaction(floor.db) as s:
        result = receive_production(
            s, day(1), {CLASSIC: 98, OSMANTHUS: 50}, batch_ref="B0121", made_at=MADE
        )
        assert [lot.code for lot in result.lots] == ["B0121-GG-CLASSIC", "B0121-GG-OSMANTHUS"]
        assert result.shortfalls == []
    with floor.db() as s:
        lot = s.scalars(select(Lot).where(Lot.code == "B0121-GG-CLASSIC")).one()
        assert (lot.on_hand, lot.production_day, lot.best_before) == (98, day(1), day(7))
        entry = s.scalars(select(LedgerEntry).where(LedgerEntry.lot_id == lot.id)).one()
        assert (entry.kind, entry.quantity, entry.reference) == (
            LedgerKind.PRODUCTION,
            98,
            "batch:B0121",
        )
        actual = s.scalars(select(Supply.actual).where(Supply.production_day == day(1))).all()
        assert sorted(a or 0 for a in actual) == [50, 98]
        assert verify_ledger(s) == []
        assert [
            e.type for e in s.scalars(select(OutboxEvent).where(OutboxEvent.type == "lot.produced"))
        ] == ["lot.produced"] * 2


def test_allocations_are_put_on_lots_and_shortfalls_are_reported(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    with transaction(floor.db) as s:
        reserve(s, "booking:1", [Line(CLASSIC, day(1), 4)], hold_until=None, now=NOW)
        reserve(s, "booking:2", [Line(CLASSIC, day(2), 5)], hold_until=None, now=NOW)
        reserve(s, "order:3", [Line(CLASSIC, day(1), 1)], hold_until=HOLD, now=NOW)
    with transaction(floor.db) as s:
        result = receive_production(s, day(1), {CLASSIC: 7}, batch_ref="B1", made_at=MADE)
    # The earliest pickup is served first; the unpaid hold gets no lot yet.
    assert result.shortfalls == [Shortfall("booking:2", CLASSIC, 2)]
    with transaction(floor.db) as s:
        second = receive_production(
            s, day(1), {CLASSIC: 3}, batch_ref="B2", made_at=MADE + timedelta(hours=2)
        )
        assert second.shortfalls == []
        assert s.scalars(select(Supply.actual)).one() == 10
        assignments = sorted((cl.lot.code, cl.quantity) for cl in s.scalars(select(ClaimLot)))
    assert assignments == [("B1-GG-CLASSIC", 3), ("B1-GG-CLASSIC", 4), ("B2-GG-CLASSIC", 2)]
    with floor.db() as s:
        shortfall = s.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "stock.shortfall")
        ).one()
    assert shortfall.payload["shortfalls"] == [{"ref": "booking:2", "sku": CLASSIC, "short": 2}]


def test_the_same_batch_cannot_be_received_twice(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    with transaction(floor.db) as s:
        receive_production(s, day(1), {CLASSIC: 7}, batch_ref="B1", made_at=MADE)
    with transaction(floor.db) as s, pytest.raises(DuplicateReference):
        receive_production(s, day(1), {CLASSIC: 7}, batch_ref="B1", made_at=MADE)


def test_handing_out_takes_the_goods_off_their_lots_and_fulfils_the_order(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    with transaction(floor.db) as s:
        reserve(s, "booking:1", [Line(CLASSIC, day(1), 4)], hold_until=None, now=NOW)
        receive_production(s, day(1), {CLASSIC: 10}, batch_ref="B1", made_at=MADE)
    with transaction(floor.db) as s:
        entries = hand_out(s, "booking:1", reference="pickup:0600")
        assert [(e.kind, e.quantity) for e in entries] == [(LedgerKind.HANDOUT, -4)]
        assert hand_out(s, "booking:1", reference="pickup:0600") == []
    with floor.db() as s:
        assert get_reservation(s, "booking:1").status is ReservationStatus.FULFILLED
        assert s.scalars(select(Lot.on_hand)).one() == 6
        assert verify_ledger(s) == []
    # Handed-out units still came out of that day's output: they stay promised.
    assert floor.promised(CLASSIC, day(1)) == 4


def test_an_order_paid_after_the_batch_came_in_gets_its_lot_at_hand_out(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    with transaction(floor.db) as s:
        reserve(s, "order:1", [Line(CLASSIC, day(1), 2)], hold_until=HOLD, now=NOW)
        receive_production(s, day(1), {CLASSIC: 10}, batch_ref="B1", made_at=MADE)
        confirm(s, "order:1", now=NOW)
    with transaction(floor.db) as s:
        assert [e.quantity for e in hand_out(s, "order:1", reference="pickup")] == [-2]


def test_a_hold_cannot_be_handed_out_nor_goods_not_yet_made(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    with transaction(floor.db) as s:
        reserve(s, "order:1", [Line(CLASSIC, day(1), 2)], hold_until=HOLD, now=NOW)
        reserve(s, "booking:1", [Line(CLASSIC, day(1), 2)], hold_until=None, now=NOW)
    with transaction(floor.db) as s, pytest.raises(ReservationStateError):
        hand_out(s, "order:1", reference="pickup")
    with transaction(floor.db) as s, pytest.raises(InsufficientStock):
        hand_out(s, "booking:1", reference="pickup")


def test_a_handed_out_order_can_no_longer_be_released(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    with transaction(floor.db) as s:
        reserve(s, "booking:1", [Line(CLASSIC, day(1), 4)], hold_until=None, now=NOW)
        receive_production(s, day(1), {CLASSIC: 10}, batch_ref="B1", made_at=MADE)
        hand_out(s, "booking:1", reference="pickup")
    with transaction(floor.db) as s, pytest.raises(ReservationStateError):
        release(s, "booking:1", reason="too late")


def test_a_product_the_batch_did_not_make_gets_no_lot_and_its_orders_fall_short(
    floor: Floor,
) -> None:
    floor.plan({(CLASSIC, day(1)): 10, (OSMANTHUS, day(1)): 5})
    with transaction(floor.db) as s:
        reserve(s, "booking:1", [Line(OSMANTHUS, day(1), 2)], hold_until=None, now=NOW)
        result = receive_production(
            s, day(1), {CLASSIC: 10, OSMANTHUS: 0}, batch_ref="B1", made_at=MADE
        )
    assert [lot.code for lot in result.lots] == ["B1-GG-CLASSIC"]
    assert result.shortfalls == [Shortfall("booking:1", OSMANTHUS, 2)]
    with floor.db() as s:
        actual = {row.item.sku: row.actual for row in s.scalars(select(Supply))}
    assert actual == {CLASSIC: 10, OSMANTHUS: 0}
