"""Reservations on a real database (SQLite by default, PostgreSQL in CI)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inventory.atp import available_to_promise
from inventory.db import transaction
from inventory.errors import (
    DayClosed,
    InvalidInput,
    ReservationNotFound,
    ReservationStateError,
    SoldOut,
)
from inventory.models import Claim, ClaimKind, ClaimStatus, OutboxEvent, ReservationStatus
from inventory.reservations import (
    Line,
    change,
    confirm,
    expire_holds,
    get_reservation,
    release,
    reserve,
)
from inventory.supply import set_day_closed
from tests.inventory.conftest import CLASSIC, HOLD, NOW, OSMANTHUS, Floor, day


def _claims(db: sessionmaker[Session], ref: str) -> list[tuple[str, int, str, str]]:
    with db() as s:
        r = get_reservation(s, ref)
        return [
            (c.supply.production_day.isoformat(), c.quantity, c.kind.value, c.status.value)
            for c in r.claims
        ]


def test_a_hold_takes_stock_and_is_counted_as_promised(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    with transaction(floor.db) as s:
        r = reserve(s, "order:1", [Line(CLASSIC, day(1), 3)], hold_until=HOLD, now=NOW)
        assert r.status is ReservationStatus.HELD
        assert [c.quantity for c in r.claims] == [3]
    assert floor.promised(CLASSIC, day(1)) == 3
    assert _claims(floor.db, "order:1") == [(day(1).isoformat(), 3, "hold", "active")]


def test_a_booking_without_hold_time_is_allocated_at_once(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    with transaction(floor.db) as s:
        r = reserve(s, "booking:7", [Line(CLASSIC, day(1), 4)], hold_until=None, now=NOW)
        assert r.status is ReservationStatus.CONFIRMED
    assert _claims(floor.db, "booking:7") == [(day(1).isoformat(), 4, "allocation", "active")]


def test_a_demand_day_draws_on_the_freshest_production_day_first(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 5, (CLASSIC, day(2)): 3})
    with transaction(floor.db) as s:
        reserve(s, "order:1", [Line(CLASSIC, day(2), 6)], hold_until=HOLD, now=NOW)
    assert _claims(floor.db, "order:1") == [
        (day(2).isoformat(), 3, "hold", "active"),
        (day(1).isoformat(), 3, "hold", "active"),
    ]


def test_a_demand_day_never_draws_on_output_older_than_its_window(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(0)): 50, (CLASSIC, day(2)): 1})
    with transaction(floor.db) as s, pytest.raises(SoldOut) as caught:
        reserve(s, "order:1", [Line(CLASSIC, day(2), 2)], hold_until=HOLD, now=NOW)
    assert caught.value.details["available"] == 1


def test_a_channel_with_a_one_day_window_only_takes_that_mornings_output(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 5, (CLASSIC, day(2)): 3})
    with transaction(floor.db) as s, pytest.raises(SoldOut):
        reserve(s, "booking:1", [Line(CLASSIC, day(2), 4)], hold_until=None, window_days=1, now=NOW)


def test_a_reservation_beyond_availability_is_refused_with_the_numbers(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 2})
    with transaction(floor.db) as s, pytest.raises(SoldOut) as caught:
        reserve(s, "order:1", [Line(CLASSIC, day(1), 3)], hold_until=HOLD, now=NOW)
    assert caught.value.details == {
        "sku": CLASSIC,
        "day": day(1).isoformat(),
        "requested": 3,
        "available": 2,
        "lines": [{"sku": CLASSIC, "day": day(1).isoformat(), "requested": 3, "available": 2}],
    }


def test_a_multi_line_order_is_all_or_nothing(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10, (OSMANTHUS, day(1)): 1})
    with transaction(floor.db) as s, pytest.raises(SoldOut):
        reserve(
            s,
            "order:1",
            [Line(CLASSIC, day(1), 5), Line(OSMANTHUS, day(1), 2)],
            hold_until=HOLD,
            now=NOW,
        )
    assert floor.promised(CLASSIC, day(1)) == 0
    with floor.db() as s, pytest.raises(ReservationNotFound):
        get_reservation(s, "order:1")


def test_two_lines_of_one_product_and_day_share_its_stock(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 5})
    with transaction(floor.db) as s, pytest.raises(SoldOut):
        reserve(
            s,
            "order:1",
            [Line(CLASSIC, day(1), 3), Line(CLASSIC, day(1), 3)],
            hold_until=HOLD,
            now=NOW,
        )
    with transaction(floor.db) as s:
        reserve(
            s,
            "order:1",
            [Line(CLASSIC, day(1), 3), Line(CLASSIC, day(1), 2)],
            hold_until=HOLD,
            now=NOW,
        )
    assert floor.promised(CLASSIC, day(1)) == 5


def test_a_closed_day_refuses_new_orders_but_keeps_old_ones(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    with transaction(floor.db) as s:
        reserve(s, "order:1", [Line(CLASSIC, day(1), 2)], hold_until=None, now=NOW)
        assert set_day_closed(s, day(1), True, [CLASSIC]) == 1
    with transaction(floor.db) as s, pytest.raises(DayClosed):
        reserve(s, "order:2", [Line(CLASSIC, day(1), 1)], hold_until=HOLD, window_days=1, now=NOW)
    assert floor.promised(CLASSIC, day(1)) == 2
    with transaction(floor.db) as s:
        set_day_closed(s, day(1), False, [CLASSIC])
        reserve(s, "order:2", [Line(CLASSIC, day(1), 1)], hold_until=HOLD, now=NOW)


def test_confirming_a_hold_turns_it_into_an_allocation(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    with transaction(floor.db) as s:
        reserve(s, "order:1", [Line(CLASSIC, day(1), 3)], hold_until=HOLD, now=NOW)
    with transaction(floor.db) as s:
        r = confirm(s, "order:1", now=NOW + timedelta(minutes=5))
        assert r.status is ReservationStatus.CONFIRMED
        assert r.expires_at is None
        assert confirm(s, "order:1", now=NOW).status is ReservationStatus.CONFIRMED
    assert _claims(floor.db, "order:1") == [(day(1).isoformat(), 3, "allocation", "active")]
    assert floor.promised(CLASSIC, day(1)) == 3


def test_a_hold_past_its_time_cannot_be_confirmed_even_before_the_sweep(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    with transaction(floor.db) as s:
        reserve(s, "order:1", [Line(CLASSIC, day(1), 3)], hold_until=HOLD, now=NOW)
    with transaction(floor.db) as s, pytest.raises(ReservationStateError) as caught:
        confirm(s, "order:1", now=HOLD + timedelta(seconds=1))
    assert caught.value.details["status"] == "expired"


def test_an_expired_hold_is_not_available_to_promise_before_any_sweep(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    with transaction(floor.db) as s:
        reserve(s, "order:1", [Line(CLASSIC, day(1), 4)], hold_until=HOLD, now=NOW)
    with floor.db() as s:
        before = available_to_promise(s, [CLASSIC], day(1), day(1), now=NOW)
        after = available_to_promise(s, [CLASSIC], day(1), day(1), now=HOLD)
    assert before[CLASSIC][day(1)] == 6
    assert after[CLASSIC][day(1)] == 10


def test_a_new_order_reclaims_expired_holds_when_stock_runs_short(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    with transaction(floor.db) as s:
        reserve(s, "order:1", [Line(CLASSIC, day(1), 8)], hold_until=HOLD, now=NOW)
    later = HOLD + timedelta(minutes=1)
    with transaction(floor.db) as s:
        reserve(
            s,
            "order:2",
            [Line(CLASSIC, day(1), 9)],
            hold_until=later + timedelta(minutes=15),
            now=later,
        )
    with floor.db() as s:
        assert get_reservation(s, "order:1").status is ReservationStatus.EXPIRED
        types = list(s.scalars(select(OutboxEvent.type).order_by(OutboxEvent.id)))
    assert floor.promised(CLASSIC, day(1)) == 9
    assert _claims(floor.db, "order:1") == [(day(1).isoformat(), 8, "hold", "expired")]
    assert types.count("stock.expired") == 1


def test_the_sweep_expires_holds_but_never_a_confirmed_reservation(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10, (OSMANTHUS, day(1)): 10})
    with transaction(floor.db) as s:
        reserve(
            s,
            "order:1",
            [Line(CLASSIC, day(1), 2), Line(OSMANTHUS, day(1), 1)],
            hold_until=HOLD,
            now=NOW,
        )
        reserve(s, "order:2", [Line(CLASSIC, day(1), 3)], hold_until=HOLD, now=NOW)
        confirm(s, "order:2", now=NOW)
        reserve(
            s, "order:3", [Line(CLASSIC, day(1), 1)], hold_until=HOLD + timedelta(hours=1), now=NOW
        )
    with transaction(floor.db) as s:
        assert expire_holds(s, now=HOLD + timedelta(seconds=1)) == ["order:1"]
        assert expire_holds(s, now=HOLD + timedelta(seconds=2)) == []
    with floor.db() as s:
        assert get_reservation(s, "order:2").status is ReservationStatus.CONFIRMED
        assert get_reservation(s, "order:3").status is ReservationStatus.HELD
    assert floor.promised(CLASSIC, day(1)) == 4
    assert floor.promised(OSMANTHUS, day(1)) == 0


def test_releasing_gives_the_stock_back_and_is_idempotent(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    with transaction(floor.db) as s:
        reserve(s, "order:1", [Line(CLASSIC, day(1), 6)], hold_until=None, now=NOW)
    with transaction(floor.db) as s:
        assert (
            release(s, "order:1", reason="customer cancelled").status is ReservationStatus.RELEASED
        )
        assert release(s, "order:1", reason="again").status is ReservationStatus.RELEASED
    assert floor.promised(CLASSIC, day(1)) == 0
    with floor.db() as s:
        assert list(
            s.scalars(select(OutboxEvent.type).where(OutboxEvent.type == "stock.released"))
        ) == ["stock.released"]
    with transaction(floor.db) as s, pytest.raises(ReservationStateError):
        confirm(s, "order:1", now=NOW)


def test_releasing_an_expired_hold_frees_what_it_still_pinned(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10, (OSMANTHUS, day(1)): 10})
    with transaction(floor.db) as s:
        reserve(
            s,
            "order:1",
            [Line(CLASSIC, day(1), 6), Line(OSMANTHUS, day(1), 4)],
            hold_until=HOLD,
            now=NOW,
        )
    later = HOLD + timedelta(minutes=1)
    with transaction(floor.db) as s:
        # Short on the classic row: reclaims order:1 there, its osmanthus claim stays pinned.
        reserve(s, "order:2", [Line(CLASSIC, day(1), 9)], hold_until=None, now=later)
    assert floor.promised(OSMANTHUS, day(1)) == 4
    with transaction(floor.db) as s:
        assert release(s, "order:1", reason="payment failed").status is ReservationStatus.EXPIRED
    assert floor.promised(OSMANTHUS, day(1)) == 0
    assert floor.promised(CLASSIC, day(1)) == 9


def test_releasing_a_hold_past_its_time_before_the_sweep_releases_it(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    with transaction(floor.db) as s:
        reserve(s, "order:1", [Line(CLASSIC, day(1), 6)], hold_until=HOLD, now=NOW)
    with transaction(floor.db) as s:
        assert release(s, "order:1", reason="payment failed").status is ReservationStatus.RELEASED
    assert floor.promised(CLASSIC, day(1)) == 0


def test_changing_a_reservation_replaces_its_lines_in_one_step(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10, (OSMANTHUS, day(1)): 5})
    with transaction(floor.db) as s:
        reserve(s, "booking:1", [Line(CLASSIC, day(1), 8)], hold_until=None, now=NOW)
    with transaction(floor.db) as s:
        r = change(s, "booking:1", [Line(CLASSIC, day(1), 10), Line(OSMANTHUS, day(1), 2)], now=NOW)
        assert r.status is ReservationStatus.CONFIRMED
        assert sorted(c.quantity for c in r.claims if c.status is ClaimStatus.ACTIVE) == [2, 10]
    assert floor.promised(CLASSIC, day(1)) == 10
    assert floor.promised(OSMANTHUS, day(1)) == 2


def test_a_change_that_does_not_fit_leaves_the_old_lines_untouched(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    with transaction(floor.db) as s:
        reserve(s, "booking:1", [Line(CLASSIC, day(1), 8)], hold_until=None, now=NOW)
        reserve(s, "booking:2", [Line(CLASSIC, day(1), 2)], hold_until=None, now=NOW)
    with transaction(floor.db) as s, pytest.raises(SoldOut) as caught:
        change(s, "booking:1", [Line(CLASSIC, day(1), 9)], now=NOW)
    assert caught.value.details["available"] == 8
    assert floor.promised(CLASSIC, day(1)) == 10
    assert _claims(floor.db, "booking:1") == [(day(1).isoformat(), 8, "allocation", "active")]


def test_a_released_reservation_cannot_be_changed(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    with transaction(floor.db) as s:
        reserve(s, "booking:1", [Line(CLASSIC, day(1), 1)], hold_until=None, now=NOW)
        release(s, "booking:1", reason="cancelled")
    with transaction(floor.db) as s, pytest.raises(ReservationStateError):
        change(s, "booking:1", [Line(CLASSIC, day(1), 2)], now=NOW)


def test_every_move_publishes_its_event_in_the_same_transaction(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    with transaction(floor.db) as s:
        reserve(s, "order:1", [Line(CLASSIC, day(1), 2)], hold_until=HOLD, now=NOW)
        confirm(s, "order:1", now=NOW)
        change(s, "order:1", [Line(CLASSIC, day(1), 3)], now=NOW)
        release(s, "order:1", reason="cancelled")
    with floor.db() as s:
        events = list(
            s.scalars(
                select(OutboxEvent).where(OutboxEvent.key == "order:1").order_by(OutboxEvent.id)
            )
        )
    assert [e.type for e in events] == [
        "stock.reserved",
        "stock.confirmed",
        "stock.changed",
        "stock.released",
    ]
    assert events[0].payload["lines"] == [
        {"sku": CLASSIC, "day": day(1).isoformat(), "quantity": 2}
    ]
    assert events[0].payload["skus"] == [CLASSIC]
    assert events[0].payload["days"] == [day(1).isoformat()]
    assert events[3].payload["reason"] == "cancelled"


def test_claims_and_promised_agree_after_a_busy_morning(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 20, (CLASSIC, day(2)): 20})
    with transaction(floor.db) as s:
        for n in range(6):
            reserve(s, f"order:{n}", [Line(CLASSIC, day(1 + n % 2), 3)], hold_until=HOLD, now=NOW)
        confirm(s, "order:0", now=NOW)
        release(s, "order:1", reason="cancelled")
        change(s, "order:2", [Line(CLASSIC, day(2), 5)], hold_until=HOLD, now=NOW)
    with transaction(floor.db) as s:
        expire_holds(s, now=HOLD)
    with floor.db() as s:
        live = {}
        for c in s.scalars(
            select(Claim).where(Claim.status.in_([ClaimStatus.ACTIVE, ClaimStatus.FULFILLED]))
        ):
            live[c.supply_id] = live.get(c.supply_id, 0) + c.quantity
        assert all(
            c.kind is ClaimKind.ALLOCATION
            for c in s.scalars(select(Claim).where(Claim.status == ClaimStatus.ACTIVE))
        )
    assert floor.promised(CLASSIC, day(1)) == 3
    assert floor.promised(CLASSIC, day(1)) + floor.promised(CLASSIC, day(2)) == sum(live.values())


def test_a_changed_hold_stays_a_hold_and_a_confirmed_booking_stays_confirmed(
    floor: Floor,
) -> None:
    floor.plan({(CLASSIC, day(1)): 10})
    with transaction(floor.db) as s:
        reserve(s, "order:1", [Line(CLASSIC, day(1), 2)], hold_until=HOLD, now=NOW)
        reserve(s, "booking:1", [Line(CLASSIC, day(1), 2)], hold_until=None, now=NOW)
    with transaction(floor.db) as s:
        held = change(s, "order:1", [Line(CLASSIC, day(1), 3)], now=NOW)
        assert (held.status, held.expires_at) == (ReservationStatus.HELD, HOLD)
        longer = HOLD + timedelta(minutes=10)
        held = change(s, "order:1", [Line(CLASSIC, day(1), 3)], hold_until=longer, now=NOW)
        assert held.expires_at == longer
        assert {c.kind for c in held.claims if c.status is ClaimStatus.ACTIVE} == {ClaimKind.HOLD}
        booked = change(s, "booking:1", [Line(CLASSIC, day(1), 1)], now=NOW)
        assert booked.status is ReservationStatus.CONFIRMED
    with transaction(floor.db) as s, pytest.raises(InvalidInput):
        change(s, "booking:1", [Line(CLASSIC, day(1), 1)], hold_until=HOLD, now=NOW)
    assert floor.promised(CLASSIC, day(1)) == 4


def test_the_release_event_names_the_lines_after_a_change_not_before(floor: Floor) -> None:
    floor.plan({(CLASSIC, day(1)): 10, (OSMANTHUS, day(1)): 10})
    with transaction(floor.db) as s:
        reserve(s, "booking:1", [Line(CLASSIC, day(1), 4)], hold_until=None, now=NOW)
        change(s, "booking:1", [Line(OSMANTHUS, day(1), 2)], now=NOW)
        release(s, "booking:1", reason="cancelled")
    with floor.db() as s:
        released = s.scalars(select(OutboxEvent).where(OutboxEvent.type == "stock.released")).one()
    assert released.payload["lines"] == [
        {"sku": OSMANTHUS, "day": day(1).isoformat(), "quantity": 2}
    ]


def test_a_booking_on_a_closed_day_may_keep_or_shrink_its_lines_but_not_grow(
    floor: Floor,
) -> None:
    floor.plan({(CLASSIC, day(1)): 10, (OSMANTHUS, day(1)): 10})
    with transaction(floor.db) as s:
        reserve(s, "booking:1", [Line(CLASSIC, day(1), 5)], hold_until=None, now=NOW)
        set_day_closed(s, day(1), True, [CLASSIC])
    with transaction(floor.db) as s:
        change(
            s,
            "booking:1",
            [Line(CLASSIC, day(1), 4), Line(OSMANTHUS, day(1), 1)],
            window_days=1,
            now=NOW,
        )
    with transaction(floor.db) as s, pytest.raises(SoldOut):
        change(s, "booking:1", [Line(CLASSIC, day(1), 6)], window_days=1, now=NOW)
    assert floor.promised(CLASSIC, day(1)) == 4
    assert floor.promised(OSMANTHUS, day(1)) == 1
