"""The pure rules, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from inventory.errors import InvalidQuantity, OutsideFreshnessWindow
from inventory.rules import (
    Candidate,
    LotStock,
    check_demand_day,
    check_quantity,
    current_crop_year,
    is_current_crop,
    local_day,
    pick_fefo,
    production_days_for,
    take_freshest_first,
    window_for,
    windowed_atp,
)

D = date(2027, 1, 20)
T0 = datetime(2027, 1, 1, tzinfo=UTC)


def test_a_demand_is_taken_from_the_freshest_production_day_first() -> None:
    candidates = [Candidate(1, D - timedelta(days=1), 10), Candidate(2, D, 3)]
    assert take_freshest_first(5, candidates) == [(2, 3), (1, 2)]


def test_a_demand_larger_than_all_candidates_takes_nothing() -> None:
    candidates = [Candidate(1, D - timedelta(days=1), 2), Candidate(2, D, 2)]
    assert take_freshest_first(5, candidates) == []


def test_over_promised_rows_count_as_empty_not_as_debt() -> None:
    candidates = [Candidate(1, D - timedelta(days=1), 4), Candidate(2, D, -3)]
    assert take_freshest_first(4, candidates) == [(1, 4)]


def test_the_production_days_of_a_demand_day_are_its_freshness_window() -> None:
    assert production_days_for(D, 2) == (D - timedelta(days=1), D)
    assert production_days_for(D, 1) == (D, D)


def test_fefo_takes_the_lot_expiring_first_and_leaves_undated_lots_last() -> None:
    lots = [
        LotStock(1, None, T0, 100),
        LotStock(2, D + timedelta(days=5), T0, 100),
        LotStock(3, D + timedelta(days=2), T0 + timedelta(days=3), 30),
    ]
    assert pick_fefo(150, lots) == [(3, 30), (2, 100), (1, 20)]


def test_fefo_breaks_ties_by_arrival() -> None:
    lots = [LotStock(1, D, T0 + timedelta(days=1), 5), LotStock(2, D, T0, 5)]
    assert pick_fefo(6, lots) == [(2, 5), (1, 1)]


def test_fefo_reports_only_what_the_lots_can_give() -> None:
    assert pick_fefo(10, [LotStock(1, D, T0, 4)]) == [(1, 4)]


def test_rice_from_october_on_belongs_to_the_new_crop_year() -> None:
    assert current_crop_year(date(2026, 10, 1)) == 2026
    assert current_crop_year(date(2026, 9, 30)) == 2025
    assert current_crop_year(date(2027, 2, 1)) == 2026
    assert current_crop_year(date(2027, 2, 1), harvest_month=1) == 2027


def test_only_rice_of_the_current_crop_counts_as_new_rice() -> None:
    assert is_current_crop(2026, date(2027, 1, 20))
    assert not is_current_crop(2025, date(2027, 1, 20))
    assert not is_current_crop(None, date(2027, 1, 20))


def test_the_atp_of_a_day_sums_the_free_output_of_its_window() -> None:
    free = {D - timedelta(days=1): 5, D: 7, D + timedelta(days=1): 2}
    atp = windowed_atp(free, D, D + timedelta(days=2), window=2, today=D)
    assert atp == {D: 12, D + timedelta(days=1): 9, D + timedelta(days=2): 2}


def test_the_atp_of_a_past_day_is_zero_and_negative_free_is_not_debt() -> None:
    free = {D - timedelta(days=1): 5, D: -4}
    atp = windowed_atp(free, D - timedelta(days=1), D, window=2, today=D)
    assert atp == {D - timedelta(days=1): 0, D: 5}


@pytest.mark.parametrize("value", [0, -1, 1_000_001, 1.5, "3", True, None])
def test_a_quantity_that_is_not_a_sane_whole_number_is_refused(value: object) -> None:
    with pytest.raises(InvalidQuantity):
        check_quantity(value)


def test_zero_is_a_quantity_only_where_allowed() -> None:
    assert check_quantity(0, allow_zero=True) == 0


def test_a_demand_day_in_the_past_or_beyond_the_horizon_is_refused() -> None:
    with pytest.raises(OutsideFreshnessWindow):
        check_demand_day(D - timedelta(days=1), D)
    with pytest.raises(OutsideFreshnessWindow):
        check_demand_day(D + timedelta(days=400), D)
    check_demand_day(D, D)


def test_a_channel_window_must_be_between_one_day_and_the_longest_shelf_life() -> None:
    assert window_for(2, None) == 2
    assert window_for(2, 1) == 1
    for bad in (0, 61, -1):
        with pytest.raises(OutsideFreshnessWindow):
            window_for(2, bad)


def test_the_business_day_is_the_day_in_shanghai() -> None:
    assert local_day(datetime(2027, 1, 19, 17, 0, tzinfo=UTC)) == date(2027, 1, 20)
    assert local_day(datetime(2027, 1, 19, 15, 59, tzinfo=UTC)) == date(2027, 1, 19)
