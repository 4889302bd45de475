"""The storefront's rules, over plain values."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from inventory.errors import InvalidQuantity
from scheduling.cutoff import CutoffPassed, cutoff_for
from shop.orders.models import OrderStatus
from shop.orders.rules import (
    DeliveryRefused,
    LineRequest,
    OrderStateError,
    can_move,
    check_can_cancel,
    check_lines,
    check_orderable_day,
    day_states,
    delivery_window_days,
    first_orderable_day,
    hold_remaining_seconds,
    is_backward,
)
from shop.payments import idempotency_key

EIGHT_PM = time(20, 0)


def test_the_cutoff_for_a_day_is_eight_pm_shanghai_time_the_evening_before() -> None:
    closes = cutoff_for(date(2027, 2, 1), EIGHT_PM)
    assert closes.astimezone(UTC) == datetime(2027, 1, 31, 12, 0, tzinfo=UTC)


def test_an_order_for_tomorrow_is_accepted_before_the_cutoff_and_refused_after() -> None:
    tomorrow = date(2027, 2, 1)
    check_orderable_day(tomorrow, datetime(2027, 1, 31, 11, 59, tzinfo=UTC), EIGHT_PM)
    with pytest.raises(CutoffPassed):
        check_orderable_day(tomorrow, datetime(2027, 1, 31, 12, 0, tzinfo=UTC), EIGHT_PM)


def test_a_past_day_or_today_cannot_be_ordered() -> None:
    now = datetime(2027, 1, 31, 1, 0, tzinfo=UTC)  # 09:00 in Tianjin
    for day in (date(2027, 1, 30), date(2027, 1, 31)):
        with pytest.raises(CutoffPassed):
            check_orderable_day(day, now, EIGHT_PM)


def test_the_first_orderable_day_moves_on_at_the_cutoff() -> None:
    assert first_orderable_day(datetime(2027, 1, 31, 11, 0, tzinfo=UTC), EIGHT_PM) == date(
        2027, 2, 1
    )
    assert first_orderable_day(datetime(2027, 1, 31, 12, 0, tzinfo=UTC), EIGHT_PM) == date(
        2027, 2, 2
    )


def test_quantities_must_be_whole_numbers_between_one_and_the_limit() -> None:
    for bad in (0, -1, 10**9):
        with pytest.raises(InvalidQuantity):
            check_lines([LineRequest("GG", bad)])
    with pytest.raises(InvalidQuantity):
        check_lines([])
    with pytest.raises(InvalidQuantity):
        check_lines([LineRequest("GG", True)])


def test_repeated_skus_are_merged_into_one_line() -> None:
    assert check_lines([LineRequest("A", 2), LineRequest("B", 1), LineRequest("A", 3)]) == [
        LineRequest("A", 5),
        LineRequest("B", 1),
    ]


def test_delivery_is_refused_when_transit_outlasts_freshness() -> None:
    assert delivery_window_days(2, 0) == 2
    assert delivery_window_days(2, 1) == 1
    with pytest.raises(DeliveryRefused) as refused:
        delivery_window_days(2, 2)
    assert "fresh" in refused.value.message


def test_the_state_machine_never_moves_a_paid_order_back_to_pending() -> None:
    assert can_move(OrderStatus.PENDING_PAYMENT, OrderStatus.PAID)
    assert not can_move(OrderStatus.PAID, OrderStatus.PENDING_PAYMENT)
    assert not can_move(OrderStatus.PAID, OrderStatus.EXPIRED)
    assert is_backward(OrderStatus.PAID, OrderStatus.PENDING_PAYMENT)
    assert not can_move(OrderStatus.COLLECTED, OrderStatus.CANCELLED)


def test_cancelling_is_allowed_until_the_cutoff_and_only_for_live_orders() -> None:
    day = date(2027, 2, 1)
    check_can_cancel(OrderStatus.PAID, day, datetime(2027, 1, 31, 11, 0, tzinfo=UTC), EIGHT_PM)
    with pytest.raises(CutoffPassed):
        check_can_cancel(OrderStatus.PAID, day, datetime(2027, 1, 31, 12, 0, tzinfo=UTC), EIGHT_PM)
    with pytest.raises(OrderStateError):
        check_can_cancel(OrderStatus.READY, day, datetime(2027, 1, 30, 0, 0, tzinfo=UTC), EIGHT_PM)


def test_calendar_days_are_open_sold_out_closed_or_past_the_cutoff() -> None:
    now = datetime(2027, 1, 31, 11, 0, tzinfo=UTC)
    days = [date(2027, 1, 31), date(2027, 2, 1), date(2027, 2, 2), date(2027, 2, 3)]
    states = day_states(
        days,
        {date(2027, 2, 1): 5, date(2027, 2, 2): 0, date(2027, 2, 3): 9},
        {date(2027, 2, 3)},
        now,
        EIGHT_PM,
    )
    assert [(s.state, s.available) for s in states] == [
        ("cutoff", 0),
        ("open", 5),
        ("sold_out", 0),
        ("closed", 0),
    ]


def test_the_hold_countdown_never_goes_negative() -> None:
    now = datetime(2027, 1, 31, 11, 0, tzinfo=UTC)
    assert hold_remaining_seconds(datetime(2027, 1, 31, 11, 15, tzinfo=UTC), now) == 900
    assert hold_remaining_seconds(datetime(2027, 1, 31, 10, 0, tzinfo=UTC), now) == 0
    assert hold_remaining_seconds(None, now) == 0


def test_the_idempotency_key_is_deterministic_per_order_and_attempt() -> None:
    assert idempotency_key("GABC", 1) == "order-GABC-attempt-1"
    assert idempotency_key("GABC", 2) != idempotency_key("GABC", 1)
