from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from scheduling.planning import calendar as cal
from scheduling.planning.models import OfficialStatus


def test_the_spring_festival_of_2027_and_2028_is_computed_not_looked_up() -> None:
    assert cal.spring_festival(2027) == date(2027, 2, 6)
    assert cal.spring_festival(2028) == date(2028, 1, 26)


def test_the_lunar_markers_of_a_season_follow_the_lunar_calendar() -> None:
    assert cal.lunar_markers(2027) == {
        "laba": date(2027, 1, 15),
        "xiaonian": date(2027, 1, 30),
        "chuxi": date(2027, 2, 5),
        "chunjie": date(2027, 2, 6),
        "yuanxiao": date(2027, 2, 20),
    }
    # 2028's twelfth month has 29 days: the eve is still the day before 春节.
    markers = cal.lunar_markers(2028)
    assert markers["chuxi"] == date(2028, 1, 25)
    assert markers["yuanxiao"] == date(2028, 2, 9)
    assert markers["laba"] == date(2028, 1, 4)


def test_days_are_aligned_on_the_festival_not_the_calendar_date() -> None:
    assert cal.days_from_festival(date(2027, 2, 5)) == -1
    assert cal.days_from_festival(date(2028, 1, 25)) == -1
    assert (
        cal.days_from_festival(date(2026, 12, 20)) == (date(2026, 12, 20) - date(2027, 2, 6)).days
    )


def test_official_holidays_close_production_and_make_up_workdays_open_it(session: Session) -> None:
    # 2026: Spring Festival holiday from Feb 15; Saturday Feb 14 and Feb 28 are make-up workdays.
    assert not cal.is_production_day(session, date(2026, 2, 17))
    assert cal.is_production_day(session, date(2026, 2, 14))
    days = {d.day: d for d in cal.calendar_days(session, date(2026, 2, 13), date(2026, 2, 28))}
    assert days[date(2026, 2, 14)].official is OfficialStatus.WORKDAY
    assert days[date(2026, 2, 28)].official is OfficialStatus.WORKDAY


def test_the_manager_can_work_through_a_holiday_and_close_an_ordinary_day(session: Session) -> None:
    cal.set_calendar_entry(session, date(2026, 2, 16), production=True, note="除夕加班")
    cal.set_calendar_entry(session, date(2026, 2, 10), production=False, note="检修")
    cal.set_calendar_entry(
        session, date(2027, 2, 11), official=OfficialStatus.HOLIDAY, name="春节延长"
    )
    assert cal.is_production_day(session, date(2026, 2, 16))
    assert not cal.is_production_day(session, date(2026, 2, 10))
    assert cal.closed_days(session, date(2026, 2, 9), date(2026, 2, 11)) == {date(2026, 2, 10)}
    assert not cal.is_production_day(session, date(2027, 2, 11))
    cal.set_calendar_entry(session, date(2026, 2, 10))  # back to the library default
    assert cal.is_production_day(session, date(2026, 2, 10))


def test_a_year_without_the_official_arrangement_warns_until_the_manager_enters_it(
    session: Session,
) -> None:
    assert cal.missing_arrangement_warnings(session, date(2026, 1, 1), date(2026, 2, 1)) == []
    warnings = cal.missing_arrangement_warnings(session, date(2035, 1, 10), date(2035, 2, 20))
    assert len(warnings) == 1 and "2035" in warnings[0]
    cal.set_arrangement_entered(session, 2035)
    assert cal.missing_arrangement_warnings(session, date(2035, 1, 10), date(2035, 2, 20)) == []
