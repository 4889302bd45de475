"""The session cart with several days and the multi-day checkout's pure checks (no database)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from inventory.errors import DomainError
from shop.orders import cart, purchases
from shop.orders.rules import LineRequest

D = date(2027, 1, 15)  # 腊八


def test_the_cart_reads_the_old_one_day_shape_and_drops_junk() -> None:
    assert cart.days_of({"day": "2027-01-15", "lines": {"GG-GIFT": 2}}) == {
        "2027-01-15": {"GG-GIFT": 2}
    }
    assert cart.days_of(
        {"days": {"2027-01-30": {"A": 1}, "not a day": {"A": 1}, "2027-01-15": {"B": 0}}}
    ) == {"2027-01-30": {"A": 1}}
    assert cart.days_of("junk") == {} and cart.days_of(None) == {}


def test_adding_keeps_days_apart_and_stops_at_the_day_limit() -> None:
    days = cart.add({}, D, "GG-GIFT", 2)
    days = cart.add(days, D + timedelta(days=15), "GG-CLASSIC", 4)  # 小年
    days = cart.add(days, D, "GG-GIFT", 1)
    assert days == {"2027-01-15": {"GG-GIFT": 3}, "2027-01-30": {"GG-CLASSIC": 4}}
    for n in range(2, purchases.MAX_DAYS):
        days = cart.add(days, D + timedelta(days=n), "GG-GIFT", 1)
    assert len(days) == purchases.MAX_DAYS
    with pytest.raises(DomainError) as refused:
        cart.add(days, D + timedelta(days=40), "GG-GIFT", 1)
    assert refused.value.key == "msg.purchase.too_many_days"
    with pytest.raises(DomainError):
        cart.add({}, D, "GG-GIFT", 501)


def test_the_cart_update_removes_zero_lines_and_empty_days() -> None:
    days = {"2027-01-15": {"A": 2, "B": 1}, "2027-01-30": {"A": 4}}
    assert cart.with_quantities(days, {("2027-01-15", "B"): 0, ("2027-01-30", "A"): 0}) == {
        "2027-01-15": {"A": 2}
    }


def test_a_multi_day_checkout_sorts_its_days_and_refuses_a_day_twice_or_none() -> None:
    later, earlier = (
        purchases.DayLines(D + timedelta(days=1), [LineRequest("A", 1)]),
        purchases.DayLines(D, [LineRequest("B", 2)]),
    )
    assert [d.day for d in purchases.check_days([later, earlier])] == [D, D + timedelta(days=1)]
    with pytest.raises(purchases.PurchaseRefused):
        purchases.check_days([earlier, earlier])
    with pytest.raises(purchases.PurchaseRefused):
        purchases.check_days([])
