"""Bad input to every service is refused with a clear DomainError and changes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.orm import Session

from inventory.atp import available_to_promise
from inventory.catalog import create_product, get_product
from inventory.db import transaction
from inventory.errors import (
    DomainError,
    DuplicateReference,
    InsufficientStock,
    InvalidInput,
    InvalidQuantity,
    OldCropRice,
    OutsideFreshnessWindow,
    ReservationNotFound,
    ReservationStateError,
    UnknownItem,
    UnknownLot,
)
from inventory.ledger import adjust_lot
from inventory.materials import consume_material, receive_material
from inventory.production import hand_out, receive_production
from inventory.reservations import Line, change, confirm, release, reserve
from inventory.supply import set_day_closed, set_planned_supply
from tests.inventory.conftest import CLASSIC, HOLD, NOW, TODAY, Floor, day, snapshot

AT = datetime(2027, 1, 10, 1, 0, tzinfo=UTC)
MADE = datetime(2027, 1, 20, 22, 0, tzinfo=UTC)


def _line(quantity: object = 1, sku: str = CLASSIC, when: date | None = None) -> Line:
    return Line(sku, when or day(1), quantity)  # type: ignore[arg-type]


Call = Callable[[Session], object]

CASES: list[tuple[str, Call, type[DomainError]]] = [
    # reserve
    (
        "reserve zero",
        lambda s: reserve(s, "order:9", [_line(0)], hold_until=HOLD, now=NOW),
        InvalidQuantity,
    ),
    (
        "reserve negative",
        lambda s: reserve(s, "order:9", [_line(-2)], hold_until=HOLD, now=NOW),
        InvalidQuantity,
    ),
    (
        "reserve absurd",
        lambda s: reserve(s, "order:9", [_line(1_000_001)], hold_until=HOLD, now=NOW),
        InvalidQuantity,
    ),
    (
        "reserve fraction",
        lambda s: reserve(s, "order:9", [_line(1.5)], hold_until=HOLD, now=NOW),
        InvalidQuantity,
    ),
    (
        "reserve unknown product",
        lambda s: reserve(s, "order:9", [_line(1, "GG-NOPE")], hold_until=HOLD, now=NOW),
        UnknownItem,
    ),
    (
        "reserve raw material",
        lambda s: reserve(s, "order:9", [_line(1, "RICE")], hold_until=HOLD, now=NOW),
        UnknownItem,
    ),
    (
        "reserve yesterday",
        lambda s: reserve(s, "order:9", [_line(1, when=day(-1))], hold_until=HOLD, now=NOW),
        OutsideFreshnessWindow,
    ),
    (
        "reserve next year",
        lambda s: reserve(s, "order:9", [_line(1, when=day(400))], hold_until=HOLD, now=NOW),
        OutsideFreshnessWindow,
    ),
    (
        "reserve window 0",
        lambda s: reserve(s, "order:9", [_line()], hold_until=HOLD, window_days=0, now=NOW),
        OutsideFreshnessWindow,
    ),
    (
        "reserve no lines",
        lambda s: reserve(s, "order:9", [], hold_until=HOLD, now=NOW),
        InvalidInput,
    ),
    (
        "reserve blank ref",
        lambda s: reserve(s, " ", [_line()], hold_until=HOLD, now=NOW),
        InvalidInput,
    ),
    (
        "reserve hold in past",
        lambda s: reserve(s, "order:9", [_line()], hold_until=NOW - timedelta(minutes=1), now=NOW),
        InvalidInput,
    ),
    (
        "reserve naive hold",
        lambda s: reserve(s, "order:9", [_line()], hold_until=datetime(2027, 1, 21), now=NOW),
        InvalidInput,
    ),
    (
        "reserve duplicate ref",
        lambda s: reserve(s, "order:1", [_line()], hold_until=HOLD, now=NOW),
        DuplicateReference,
    ),
    # confirm / release / change
    ("confirm unknown ref", lambda s: confirm(s, "order:404", now=NOW), ReservationNotFound),
    (
        "confirm expired hold",
        lambda s: confirm(s, "order:1", now=HOLD + timedelta(seconds=1)),
        ReservationStateError,
    ),
    ("release unknown ref", lambda s: release(s, "order:404", reason="x"), ReservationNotFound),
    ("release without reason", lambda s: release(s, "order:1", reason=""), InvalidInput),
    (
        "change unknown ref",
        lambda s: change(s, "order:404", [_line()], now=NOW),
        ReservationNotFound,
    ),
    ("change to zero", lambda s: change(s, "booking:1", [_line(0)], now=NOW), InvalidQuantity),
    (
        "change to the past",
        lambda s: change(s, "booking:1", [_line(1, when=day(-1))], now=NOW),
        OutsideFreshnessWindow,
    ),
    (
        "change unknown product",
        lambda s: change(s, "booking:1", [_line(1, "GG-NOPE")], now=NOW),
        UnknownItem,
    ),
    # ATP
    (
        "atp unknown product",
        lambda s: available_to_promise(s, ["GG-NOPE"], TODAY, day(1), now=NOW),
        UnknownItem,
    ),
    (
        "atp backwards range",
        lambda s: available_to_promise(s, [CLASSIC], day(2), day(1), now=NOW),
        InvalidInput,
    ),
    (
        "atp two years",
        lambda s: available_to_promise(s, [CLASSIC], TODAY, day(800), now=NOW),
        InvalidInput,
    ),
    ("atp no skus", lambda s: available_to_promise(s, [], TODAY, day(1), now=NOW), InvalidInput),
    # supply
    (
        "plan negative",
        lambda s: set_planned_supply(s, "plan:x", {(CLASSIC, day(1)): -1}),
        InvalidQuantity,
    ),
    (
        "plan absurd",
        lambda s: set_planned_supply(s, "plan:x", {(CLASSIC, day(1)): 5_000_000}),
        InvalidQuantity,
    ),
    (
        "plan unknown product",
        lambda s: set_planned_supply(s, "plan:x", {("GG-NOPE", day(1)): 5}),
        UnknownItem,
    ),
    ("plan nothing", lambda s: set_planned_supply(s, "plan:x", {}), InvalidInput),
    ("close unknown product", lambda s: set_day_closed(s, day(1), True, ["GG-NOPE"]), UnknownItem),
    # production
    (
        "batch negative",
        lambda s: receive_production(s, day(1), {CLASSIC: -5}, batch_ref="B9", made_at=MADE),
        InvalidQuantity,
    ),
    (
        "batch absurd",
        lambda s: receive_production(s, day(1), {CLASSIC: 2_000_000}, batch_ref="B9", made_at=MADE),
        InvalidQuantity,
    ),
    (
        "batch unknown product",
        lambda s: receive_production(s, day(1), {"GG-NOPE": 5}, batch_ref="B9", made_at=MADE),
        UnknownItem,
    ),
    (
        "batch received twice",
        lambda s: receive_production(s, day(1), {CLASSIC: 5}, batch_ref="B1", made_at=MADE),
        DuplicateReference,
    ),
    (
        "batch naive time",
        lambda s: receive_production(
            s, day(1), {CLASSIC: 5}, batch_ref="B9", made_at=datetime(2027, 1, 21, 6)
        ),
        InvalidInput,
    ),
    (
        "hand out unknown ref",
        lambda s: hand_out(s, "order:404", reference="pickup"),
        ReservationNotFound,
    ),
    (
        "hand out a hold",
        lambda s: hand_out(s, "order:1", reference="pickup"),
        ReservationStateError,
    ),
    # materials
    (
        "receive zero rice",
        lambda s: receive_material(s, "RICE", 0, lot_code="R9", received_at=AT, crop_year=2026),
        InvalidQuantity,
    ),
    (
        "receive rice without crop year",
        lambda s: receive_material(s, "RICE", 5, lot_code="R9", received_at=AT),
        InvalidInput,
    ),
    (
        "receive rice from 1999",
        lambda s: receive_material(s, "RICE", 5, lot_code="R9", received_at=AT, crop_year=1999),
        InvalidInput,
    ),
    (
        "receive a product",
        lambda s: receive_material(s, CLASSIC, 5, lot_code="R9", received_at=AT),
        UnknownItem,
    ),
    (
        "receive a lot twice",
        lambda s: receive_material(s, "SUGAR", 5, lot_code="SUGAR-1", received_at=AT),
        DuplicateReference,
    ),
    (
        "consume negative",
        lambda s: consume_material(s, "SUGAR", -5, day=TODAY, reference="batch:B9"),
        InvalidQuantity,
    ),
    (
        "consume unknown",
        lambda s: consume_material(s, "SALT", 5, day=TODAY, reference="batch:B9"),
        UnknownItem,
    ),
    (
        "consume old-crop rice",
        lambda s: consume_material(s, "RICE", 100, day=TODAY, reference="batch:B9"),
        OldCropRice,
    ),
    (
        "consume too much sugar",
        lambda s: consume_material(s, "SUGAR", 10_000, day=TODAY, reference="batch:B9"),
        InsufficientStock,
    ),
    (
        "adjust unknown lot",
        lambda s: adjust_lot(s, "NOPE", 5, reason="x", reference="y"),
        UnknownLot,
    ),
    (
        "adjust below zero",
        lambda s: adjust_lot(s, "SUGAR-1", -9_999, reason="x", reference="y"),
        InsufficientStock,
    ),
    (
        "adjust by zero",
        lambda s: adjust_lot(s, "SUGAR-1", 0, reason="x", reference="y"),
        InvalidInput,
    ),
    # catalog
    ("product unknown", lambda s: get_product(s, "GG-NOPE"), UnknownItem),
    (
        "product twice",
        lambda s: create_product(s, CLASSIC, "糕干", "Gaogan", 100, 250, 2, 7),
        DuplicateReference,
    ),
    (
        "product shelf life shorter than window",
        lambda s: create_product(s, "GG-X", "糕干", "Gaogan", 100, 250, 5, 3),
        InvalidInput,
    ),
]


@pytest.fixture
def busy_floor(floor: Floor) -> Floor:
    floor.plan({(CLASSIC, day(1)): 10})
    with transaction(floor.db) as s:
        reserve(s, "order:1", [_line(2)], hold_until=HOLD, now=NOW)
        reserve(s, "booking:1", [_line(3)], hold_until=None, now=NOW)
        receive_production(
            s, day(0), {CLASSIC: 4}, batch_ref="B1", made_at=MADE - timedelta(days=1)
        )
        receive_material(s, "RICE", 5_000, lot_code="RICE-25", received_at=AT, crop_year=2025)
        receive_material(s, "SUGAR", 2_000, lot_code="SUGAR-1", received_at=AT)
    return floor


@pytest.mark.parametrize(
    ("call", "error"), [(c, e) for _, c, e in CASES], ids=[n for n, _, _ in CASES]
)
def test_bad_input_is_refused_clearly_and_changes_nothing(
    busy_floor: Floor, call: Call, error: type[DomainError]
) -> None:
    before = snapshot(busy_floor.db)
    with busy_floor.db() as s:
        with pytest.raises(error) as caught:
            call(s)
        assert caught.value.message
        assert caught.value.to_dict()["error"] == error.code
        # Nothing was written even inside the failed call's own transaction.
        assert snapshot(s) == before
        s.rollback()
    assert snapshot(busy_floor.db) == before
