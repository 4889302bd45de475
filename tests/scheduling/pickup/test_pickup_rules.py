"""Slot, cut-off, standing-order and quota rules: plain functions, no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import holidays
import pytest

from scheduling.cutoff import cutoff_for, is_past_cutoff
from scheduling.pickup.slots import (
    SlotRules,
    local_slot_label,
    no_show_deadline,
    slot_times,
)
from scheduling.pickup.standing_orders import StandingPattern, occurrences, proportional_quotas

DAY = date(2027, 1, 20)


def test_the_default_window_is_twelve_quarter_hour_slots_from_six_to_nine_beijing_time() -> None:
    slots = slot_times(DAY, SlotRules())
    assert len(slots) == 12
    assert local_slot_label(*slots[0]) == "06:00-06:15"
    assert local_slot_label(*slots[-1]) == "08:45-09:00"
    # 06:00 in Tianjin is 22:00 UTC the evening before.
    assert slots[0][0] == datetime(2027, 1, 19, 22, 0, tzinfo=UTC)


def test_a_configured_window_and_slot_length_are_honoured() -> None:
    rules = SlotRules(
        window_start=time(5, 30), window_end=time(7, 0), slot_minutes=30, ready_at=time(5, 30)
    )
    assert [local_slot_label(*s) for s in slot_times(DAY, rules)] == [
        "05:30-06:00",
        "06:00-06:30",
        "06:30-07:00",
    ]


def test_no_slot_starts_before_the_batch_wave_that_makes_the_goods_is_ready() -> None:
    rules = SlotRules(window_start=time(5, 0), ready_at=time(6, 30))
    labels = [local_slot_label(*s) for s in slot_times(DAY, rules)]
    assert labels[0] == "06:30-06:45"
    assert "06:15-06:30" not in labels


def test_a_slot_that_would_run_past_the_window_is_not_offered() -> None:
    rules = SlotRules(window_start=time(6, 0), window_end=time(6, 50), slot_minutes=20)
    assert [local_slot_label(*s) for s in slot_times(DAY, rules)] == ["06:00-06:20", "06:20-06:40"]


def test_the_cut_off_is_twenty_hundred_beijing_time_the_evening_before() -> None:
    cutoff = cutoff_for(DAY, time(20, 0))
    assert cutoff == datetime(2027, 1, 19, 12, 0, tzinfo=UTC)
    assert not is_past_cutoff(DAY, datetime(2027, 1, 19, 11, 59, 59, tzinfo=UTC), time(20, 0))
    assert is_past_cutoff(DAY, datetime(2027, 1, 19, 12, 0, tzinfo=UTC), time(20, 0))


def test_the_no_show_deadline_is_the_end_of_the_slot_plus_the_grace_period() -> None:
    _start, end = slot_times(DAY, SlotRules())[0]
    assert local_slot_label(end, no_show_deadline(end, 30)) == "06:15-06:45"


def _weekday_pattern(order_id: int = 1, **kw: object) -> StandingPattern:
    lines = {wd: {"GG-CLASSIC": 3} for wd in range(5)}
    return StandingPattern(
        order_id=order_id,
        distributor_id=10 + order_id,
        slot_time=time(6, 15),
        weekday_lines=lines,
        starts_on=date(2027, 1, 1),
        **kw,  # type: ignore[arg-type]
    )


def test_standing_orders_over_a_week_with_an_official_holiday_skip_the_holiday() -> None:
    # National Day 2027 falls on Friday 1 October: Monday-Thursday are working days.
    week = (date(2027, 9, 27), date(2027, 10, 3))
    official = {d for d in holidays.China(years=2027) if week[0] <= d <= week[1]}
    assert date(2027, 10, 1) in official
    made = occurrences(
        [_weekday_pattern()], *week, closed_days=official, skipped=set(), existing=set()
    )
    assert [o.day for o in made] == [date(2027, 9, d) for d in (27, 28, 29, 30)]
    assert all(o.lines == {"GG-CLASSIC": 3} and o.slot_time == time(6, 15) for o in made)


def test_skipped_and_already_booked_days_are_not_made_again() -> None:
    start, end = date(2027, 1, 18), date(2027, 1, 22)
    made = occurrences(
        [_weekday_pattern()],
        start,
        end,
        closed_days=set(),
        skipped={(1, date(2027, 1, 19))},
        existing={(1, date(2027, 1, 18))},
    )
    assert [o.day for o in made] == [date(2027, 1, 20), date(2027, 1, 21), date(2027, 1, 22)]


def test_a_standing_order_is_inactive_outside_its_dates_and_orders_are_served_oldest_first() -> (
    None
):
    later = _weekday_pattern(2, ends_on=date(2027, 1, 19))
    made = occurrences(
        [later, _weekday_pattern(1)],
        date(2027, 1, 19),
        date(2027, 1, 20),
        closed_days=set(),
        skipped=set(),
        existing=set(),
    )
    assert [(o.day, o.order_id) for o in made] == [
        (date(2027, 1, 19), 1),
        (date(2027, 1, 19), 2),
        (date(2027, 1, 20), 1),
    ]


def test_quotas_share_a_short_day_in_proportion_to_standing_orders() -> None:
    quotas = proportional_quotas(10, {1: 10, 2: 5, 3: 5})
    # 5, 2.5, 2.5: the half case left over goes to the lower id, so the result is stable.
    assert quotas == {1: 5, 2: 3, 3: 2}
    assert proportional_quotas(2, {1: 1, 2: 1, 3: 1}) == {1: 1, 2: 1, 3: 0}
    assert proportional_quotas(9, {1: 6, 2: 3, 3: 3}) == {1: 5, 2: 2, 3: 2}


def test_quotas_never_exceed_what_a_distributor_asked_for() -> None:
    assert proportional_quotas(100, {1: 10, 2: 0}) == {1: 10, 2: 0}
    assert proportional_quotas(0, {1: 4}) == {1: 0}
    with pytest.raises(ValueError):
        proportional_quotas(-1, {1: 1})
