"""The production calendar: official holidays, make-up workdays and the lunar season markers.

Nothing here is a hard-coded date table. The Spring Festival comes from the lunisolar
calendar of the `holidays` package; the other lunar markers (腊八, 小年, 元宵) are lunar dates
converted with `lunardate`, because `holidays` offers no public lunar->solar conversion for an
arbitrary lunar day. China's official holidays and make-up workdays (调休) default to the
`holidays` package and are overridden by the manager's own rows (`CalendarEntry`), because the
State Council publishes each year's arrangement only in November/December and the library may
not have it yet: such a year gets a warning, and planning still works on the library's rules.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

import holidays
from holidays.calendars.chinese import _ChineseLunisolar
from holidays.countries.china import ChinaStaticHolidays
from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.errors import InvalidInput
from scheduling.planning.models import CalendarEntry, CalendarYear, OfficialStatus

MARKER_KEYS = ("laba", "xiaonian", "chuxi", "chunjie", "yuanxiao")
MARKER_NAMES = {
    "laba": ("腊八", "Laba"),
    "xiaonian": ("小年", "Little New Year"),
    "chuxi": ("除夕", "New Year's Eve"),
    "chunjie": ("春节", "Spring Festival"),
    "yuanxiao": ("元宵", "Lantern Festival"),
}


class CalendarError(ValueError):
    """A year outside what the lunar calendar covers."""


def spring_festival(year: int) -> date:
    """First day of the first lunar month falling in Gregorian `year`."""
    try:
        day, _estimated = _ChineseLunisolar().lunar_new_year_date(year)
    except (KeyError, IndexError, ValueError) as exc:
        raise CalendarError(f"no lunar calendar data for {year}") from exc
    if day is None:
        raise CalendarError(f"no lunar calendar data for {year}")
    return date(day.year, day.month, day.day)


def _lunar_to_solar(year: int, month: int, day: int) -> date:
    # Imported here: lunardate warns on its camelCase names, and only this function needs it.
    from lunardate import LunarDate

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        solar = LunarDate(year, month, day).to_solar_date()
    return date(solar.year, solar.month, solar.day)


@lru_cache(maxsize=64)
def lunar_markers(year: int) -> dict[str, date]:
    """The season whose 春节 falls in Gregorian `year`: 腊八 (12/8 of the previous lunar year),
    小年 (12/23, the northern date, as Tianjin keeps it), 除夕 (the day before 春节, whether the
    12th month has 29 or 30 days), 春节, 元宵 (1/15)."""
    chunjie = spring_festival(year)
    lunar_year = year - 1  # the lunar year that ends on 除夕
    try:
        laba = _lunar_to_solar(lunar_year, 12, 8)
        xiaonian = _lunar_to_solar(lunar_year, 12, 23)
    except ValueError as exc:
        raise CalendarError(f"no lunar calendar data for {year}") from exc
    return {
        "laba": laba,
        "xiaonian": xiaonian,
        "chuxi": chunjie - timedelta(days=1),
        "chunjie": chunjie,
        "yuanxiao": chunjie + timedelta(days=14),
    }


def festival_year_for(day: date) -> int:
    """The Gregorian year of the 春节 whose season `day` belongs to: days up to 30 days after
    元宵 count towards that festival, later days towards the next one."""
    chunjie = spring_festival(day.year)
    return day.year if day <= chunjie + timedelta(days=45) else day.year + 1


def days_from_festival(day: date) -> int:
    """Offset of `day` from the 春节 of its season (negative before): the axis on which past
    seasons are aligned for the forecast."""
    return (day - spring_festival(festival_year_for(day))).days


# --- the library default: official holidays and make-up workdays -------------------------


@dataclass(frozen=True)
class OfficialDay:
    day: date
    status: OfficialStatus
    name: str


@lru_cache(maxsize=32)
def library_official_days(year: int) -> dict[date, OfficialDay]:
    """Official holidays and make-up workdays for `year` according to the `holidays` package.

    Make-up workdays are the "substituted from" dates of the package's published arrangements
    (its `special_public_holidays`): a day off taken on D in exchange for working on W."""
    result: dict[date, OfficialDay] = {}
    for day, name in holidays.country_holidays("CN", years=year, language="zh_CN").items():
        result[day] = OfficialDay(day, OfficialStatus.HOLIDAY, str(name))
    for entry in ChinaStaticHolidays.special_public_holidays.get(year, ()):
        if len(entry) < 4:
            continue
        from_year = entry[4] if len(entry) > 4 else year
        workday = date(int(from_year), int(entry[2]), int(entry[3]))
        result[workday] = OfficialDay(workday, OfficialStatus.WORKDAY, "调休上班")
    return result


def library_has_arrangement(year: int) -> bool:
    """Whether the library carries the State Council's published arrangement for `year`
    (not just the rule-based fixed holidays)."""
    return year in ChinaStaticHolidays.special_public_holidays


def arrangement_entered(session: Session, year: int) -> bool:
    if library_has_arrangement(year):
        return True
    row = session.get(CalendarYear, year)
    return bool(row and row.official_entered)


def missing_arrangement_warnings(session: Session, start: date, end: date) -> list[str]:
    """One warning per year in [start, end] whose official arrangement is known neither to the
    library nor entered by the manager. The plan is still made (on the library's rules)."""
    out = []
    for year in range(start.year, end.year + 1):
        if not arrangement_entered(session, year):
            out.append(
                f"{year}年国务院放假调休安排尚未录入：按通用规则估算节假日，请在日历中补录。"
                f" / The official {year} holiday arrangement has not been entered yet; "
                "holidays are estimated from the usual rules."
            )
    return out


def set_arrangement_entered(session: Session, year: int, entered: bool = True) -> None:
    row = session.get(CalendarYear, year)
    if row is None:
        row = CalendarYear(year=year, official_entered=entered)
        session.add(row)
    row.official_entered = entered
    session.flush()


# --- the effective calendar ---------------------------------------------------------------


@dataclass(frozen=True)
class CalendarDay:
    day: date
    official: OfficialStatus
    name: str
    production: bool
    source: str  # "library", "manager" or "default"


def _entries(session: Session, start: date, end: date) -> dict[date, CalendarEntry]:
    rows = session.scalars(
        select(CalendarEntry).where(CalendarEntry.day >= start, CalendarEntry.day <= end)
    )
    return {row.day: row for row in rows}


def calendar_days(session: Session, start: date, end: date) -> list[CalendarDay]:
    entries = _entries(session, start, end)
    library: dict[date, OfficialDay] = {}
    for year in range(start.year, end.year + 1):
        library.update(library_official_days(year))
    out = []
    day = start
    while day <= end:
        entry = entries.get(day)
        lib = library.get(day)
        official, name, source = OfficialStatus.NORMAL, "", "default"
        if lib is not None:
            official, name, source = lib.status, lib.name, "library"
        if entry is not None and entry.official is not None:
            official, name, source = entry.official, entry.name or name, "manager"
        production = official is not OfficialStatus.HOLIDAY
        if entry is not None and entry.production is not None:
            production, source = entry.production, "manager"
            # The manager's reason ("设备检修") names the day even when only production changed.
            name = entry.name or name
        out.append(CalendarDay(day, official, name, production, source))
        day += timedelta(days=1)
    return out


def production_given(day: date, official: OfficialStatus | None, production: bool | None) -> bool:
    """`is_production_day` from a calendar entry's two overrides already read (None, None when
    the day has no entry): the checkout reads them in its one snapshot statement."""
    if production is not None:
        return production
    if official is None:
        lib = library_official_days(day.year).get(day)
        official = lib.status if lib is not None else OfficialStatus.NORMAL
    return official is not OfficialStatus.HOLIDAY


def is_production_day(session: Session, day: date) -> bool:
    """False on official holidays unless the manager marked them as working, and on
    manager-closed days; True on make-up workdays and ordinary days (weekends included: the
    plant bakes every day)."""
    return calendar_days(session, day, day)[0].production


def closed_days(session: Session, start: date, end: date) -> set[date]:
    return {d.day for d in calendar_days(session, start, end) if not d.production}


def set_calendar_entry(
    session: Session,
    day: date,
    *,
    official: OfficialStatus | None = None,
    production: bool | None = None,
    name: str = "",
    note: str = "",
) -> CalendarEntry | None:
    """Override the library for one day; with both overrides None the day's row is removed
    and the library default applies again."""
    row = session.scalar(select(CalendarEntry).where(CalendarEntry.day == day))
    if official is None and production is None:
        if row is not None:
            session.delete(row)
            session.flush()
        return None
    if row is None:
        row = CalendarEntry(day=day)
        session.add(row)
    row.official = official
    row.production = production
    row.name = name
    row.note = note
    session.flush()
    return row


# How far the manager's calendar and capacity overrides reach: last year (to correct the
# record of the season just past) up to a few years ahead. An override for 2020 changes no
# plan and was only ever a typo that the page then reported as "saved".
EDITABLE_DAYS_BACK = 366
EDITABLE_DAYS_AHEAD = 3 * 366


def check_editable_day(day: date, today: date) -> None:
    if (
        not today - timedelta(days=EDITABLE_DAYS_BACK)
        <= day
        <= today + timedelta(days=EDITABLE_DAYS_AHEAD)
    ):
        raise InvalidInput(
            f"{day.isoformat()} is outside the days the plan can use "
            f"(from a year ago to three years ahead of {today.isoformat()})",
            key="msg.calendar.out_of_range",
            day=day.isoformat(),
            today=today.isoformat(),
        )


def calendar_entry_of(session: Session, day: date) -> CalendarEntry | None:
    """The manager's own entry for `day`, if any (the library answers otherwise)."""
    return session.scalar(select(CalendarEntry).where(CalendarEntry.day == day))


def save_calendar_entry(
    session: Session,
    day: date,
    *,
    official: OfficialStatus | None,
    production: bool | None,
    name: str = "",
) -> CalendarDay | None:
    """The manager's form: None when it asks for nothing on a day that has no entry (an
    empty form must not report "saved"), else the day as it now stands."""
    if official is None and production is None and calendar_entry_of(session, day) is None:
        return None
    set_calendar_entry(session, day, official=official, production=production, name=name)
    return calendar_days(session, day, day)[0]
