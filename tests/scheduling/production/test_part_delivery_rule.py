"""The shortfall rule with part delivery (issue 10 item 14), pure: who is served whole, who
gets part (in whole cases for distributors), who gets nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from scheduling.production.shortfall import Demand, allocate, allocate_by_priority, part_of

T0 = datetime(2027, 1, 19, 4, 0, tzinfo=UTC)


def test_a_two_line_booking_that_accepts_part_keeps_the_full_line_and_whole_cases_of_the_short_one() -> (
    None
):
    booking = Demand(
        "booking:1",
        {"CLASSIC": 50, "OSMANTHUS": 100},
        T0,
        takes_part=True,
        steps={"CLASSIC": 10, "OSMANTHUS": 10},
    )
    allocation = allocate([booking], {"CLASSIC": 100, "OSMANTHUS": 95})
    assert allocation.served == [] and allocation.unserved == []
    assert allocation.reduced == {"booking:1": {"CLASSIC": 50, "OSMANTHUS": 90}}


def test_the_same_booking_without_part_delivery_is_unserved_whole_as_before() -> None:
    booking = Demand("booking:1", {"CLASSIC": 50, "OSMANTHUS": 100}, T0)
    allocation = allocate([booking], {"CLASSIC": 100, "OSMANTHUS": 90})
    assert allocation.unserved == ["booking:1"] and allocation.reduced == {}


def test_accepting_part_never_costs_a_whole_only_buyer_behind_an_order_that_would_fit() -> None:
    first = Demand("order:1", {"A": 100}, T0, takes_part=True)
    behind = Demand("order:2", {"A": 5}, T0 + timedelta(minutes=5))
    allocation = allocate([first, behind], {"A": 95})
    # Without part delivery order:1 would be unserved and order:2 served: it still is.
    assert allocation.served == ["order:2"]
    assert allocation.reduced == {"order:1": {"A": 90}}
    assert allocation.unserved == []


def test_leftovers_go_to_part_takers_in_priority_order_orders_before_bookings() -> None:
    booking = Demand("booking:1", {"A": 30}, T0 - timedelta(hours=1), takes_part=True)
    late = Demand("order:2", {"A": 30}, T0 + timedelta(hours=1), takes_part=True)
    early = Demand("order:1", {"A": 30}, T0, takes_part=True)
    allocation = allocate([booking, late, early], {"A": 50})
    assert allocation.served == ["order:1"]
    assert allocation.reduced == {"order:2": {"A": 20}}
    assert allocation.unserved == ["booking:1"]  # nothing left at all: cancelled as today


def test_a_part_taker_that_gets_nothing_but_keeps_an_earlier_wave_is_reduced_not_cancelled() -> (
    None
):
    kept = Demand("order:1", {"A": 10}, T0, takes_part=True, kept={"A": 20})
    allocation = allocate([kept], {"A": 0})
    assert allocation.reduced == {"order:1": {"A": 0}} and allocation.unserved == []


def test_part_of_cuts_to_whole_steps_counting_what_is_kept() -> None:
    assert part_of(100, 95) == 95
    assert part_of(100, 95, 10) == 90
    assert part_of(60, 100, 10) == 60
    assert part_of(60, 25, 10, kept=40) == 20  # 40 kept + 20 = 6 cases
    assert part_of(10, 7, 10) == 0
    assert part_of(10, -3) == 0


def test_allocate_by_priority_still_answers_who_gets_goods_and_who_does_not() -> None:
    demands = [
        Demand("order:1", {"A": 8}, T0),
        Demand("order:2", {"A": 8}, T0 + timedelta(minutes=1), takes_part=True),
        Demand("order:3", {"A": 8}, T0 + timedelta(minutes=2)),
    ]
    assert allocate_by_priority(demands, {"A": 12}) == (["order:1", "order:2"], ["order:3"])
