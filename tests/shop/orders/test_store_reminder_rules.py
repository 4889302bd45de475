"""The season reminders' plain rules: when each is due, who a subscriber is, how a day is said."""

from __future__ import annotations

from datetime import date, timedelta

from scheduling.planning.calendar import lunar_markers
from shop.orders.reminder_rules import Due, due_reminders, say_day, subscriber_key

XIAONIAN, LAST_FRESH = date(2027, 1, 30), date(2027, 2, 4)
TARGETS = {"xiaonian": XIAONIAN, "last_fresh": LAST_FRESH}


def test_the_2027_season_falls_where_the_issue_says() -> None:
    markers = lunar_markers(2027)
    assert (markers["xiaonian"], markers["chuxi"]) == (XIAONIAN, date(2027, 2, 5))


def test_a_reminder_is_due_from_n_days_before_its_day_to_the_day_before() -> None:
    def due_on(day: date) -> list[Due]:
        return due_reminders(day, TARGETS, 3)

    assert due_on(date(2027, 1, 26)) == []
    assert due_on(date(2027, 1, 27)) == [Due("xiaonian", XIAONIAN)]
    assert due_on(date(2027, 1, 29)) == [Due("xiaonian", XIAONIAN)]
    assert due_on(XIAONIAN) == []  # orders for 小年 closed the evening before
    assert due_on(date(2027, 2, 1)) == [Due("last_fresh", LAST_FRESH)]
    assert due_on(LAST_FRESH) == []
    # A longer lead makes the windows overlap: both are due.
    assert [d.kind for d in due_reminders(date(2027, 1, 28), TARGETS, 7)] == [
        "xiaonian",
        "last_fresh",
    ]
    # No fresh day before 除夕 (a fully closed calendar): only 小年.
    only = due_reminders(date(2027, 1, 29), {"xiaonian": XIAONIAN, "last_fresh": None}, 30)
    assert only == [Due("xiaonian", XIAONIAN)]


def test_each_window_holds_exactly_n_days() -> None:
    for n in (1, 3, 10):
        days = [XIAONIAN - timedelta(days=k) for k in range(0, 40)]
        hits = [d for d in days if due_reminders(d, {"xiaonian": XIAONIAN}, n)]
        assert len(hits) == n


def test_a_subscriber_is_an_account_or_a_guests_mobile_number() -> None:
    assert subscriber_key(7, "13800138000") == "user:7"
    assert subscriber_key(None, "138 0013-8000") == "mobile:13800138000"
    assert subscriber_key(None, "+86 138 0013 8000") == "mobile:+8613800138000"


def test_days_are_said_in_the_readers_language() -> None:
    assert say_day(XIAONIAN, "zh") == "1月30日（周六）"
    assert say_day(XIAONIAN, "en") == "Sat 30 Jan 2027"
