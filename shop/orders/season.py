"""The order calendar speaks lunar: 腊八, 小年, 除夕 and 春节 on the days they fall, the last
day a gift still arrives fresh before 除夕 in each delivery zone, and the next open day to offer
when the chosen one is sold out.

The lunar dates come from `scheduling.planning.calendar.lunar_markers` (a lunar calendar
library, never a table), so each year's season moves with the moon. The rules here are plain
functions over plain values; `season_view` is the one query that gathers them for a page.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy.orm import Session

from inventory.errors import DomainError
from inventory.rules import local_day
from inventory.settings import Settings
from scheduling.planning import calendar as production_calendar
from scheduling.planning.calendar import MARKER_NAMES, CalendarError, lunar_markers
from shop.orders import order_calendar, services
from shop.orders.rules import DayState

# What the customer calendar marks: the gift-buying season from 腊八 to the festival itself.
SEASON_KEYS = ("laba", "xiaonian", "chuxi", "chunjie")
# A calendar page never reaches further than this: supply is planned a few weeks ahead only.
MAX_DAYS_AHEAD = 120
# The season page shows the festival days after 春节 too: visits keep demand up.
DAYS_AFTER_FESTIVAL = 7


@dataclass(frozen=True)
class Marker:
    key: str
    day: date
    name_zh: str
    name_en: str


def season_markers(year: int) -> list[Marker]:
    """The four markers of the season whose 春节 falls in Gregorian `year`, in date order."""
    found = lunar_markers(year)
    return [Marker(k, found[k], *MARKER_NAMES[k]) for k in SEASON_KEYS]


def markers_between(start: date, end: date) -> dict[date, list[Marker]]:
    """Markers falling in [start, end], by day. A season's 腊八 lies in the Gregorian year
    before its 春节, so the year after `end` is looked at too."""
    out: dict[date, list[Marker]] = {}
    for year in range(start.year, end.year + 2):
        try:
            markers = season_markers(year)
        except CalendarError:
            continue  # beyond the lunar library's range: an unmarked calendar, not an error
        for marker in markers:
            if start <= marker.day <= end:
                out.setdefault(marker.day, []).append(marker)
    return out


def next_open_days(states: Sequence[DayState]) -> dict[date, date]:
    """For every sold-out day, the first later day in the calendar that can be ordered."""
    out: dict[date, date] = {}
    following: date | None = None
    for state in reversed(states):
        if state.state == "sold_out" and following is not None:
            out[state.day] = following
        if state.state == "open":
            following = state.day
    return out


def last_dispatch_day(
    eve: date, transit_days: int, freshness_days: int, closed: Iterable[date]
) -> date | None:
    """The last day the plant can make and send a gift that arrives, still fresh, by 除夕.

    It leaves on its production day t and arrives on t + transit; made on t it is good on
    t..t+L-1, so it arrives fresh only when transit <= L-1 (the rule of
    `shop.orders.rules.delivery_window_days`). The day must be a baking day: 除夕 itself is an
    official holiday, so the answer usually lies before it. None when no day works."""
    if transit_days >= freshness_days:
        return None
    shut = set(closed)
    day = eve - timedelta(days=transit_days)
    # A festival rarely closes more than a week in a row; the bound keeps a fully closed
    # calendar from looping.
    for _ in range(31):
        if day not in shut:
            return day
        day -= timedelta(days=1)
    return None


@dataclass(frozen=True)
class ZoneDeadline:
    code: str  # "pickup" for collection at a pickup point, else the delivery zone code
    name_zh: str
    name_en: str
    transit_days: int
    last_day: date | None  # last order (collection or dispatch) day; None: cannot arrive fresh
    arrives: date | None


@dataclass(frozen=True)
class SeasonView:
    year: int
    sku: str
    freshness_days: int
    markers: list[Marker]
    deadlines: list[ZoneDeadline]
    days: list[DayState]
    marks: dict[date, list[Marker]]
    next_open: dict[date, date]


def festival_year_ahead(now: datetime) -> int:
    """The 春节 a customer is shopping for: this year's until 除夕 has passed, then next."""
    today = local_day(now)
    year = today.year
    return year if today <= lunar_markers(year)["chuxi"] else year + 1


def zone_deadlines(session: Session, eve: date, freshness_days: int) -> list[ZoneDeadline]:
    """Per delivery zone (and for collection at a pickup point) the last fresh day before 除夕."""
    closed = production_calendar.closed_days(session, eve - timedelta(days=31), eve)
    rows = [("pickup", "到店自取", "Collect at a pickup point", 0)]
    rows += [
        (z.code, z.name_zh, z.name_en, z.transit_days) for z in services.delivery_zones(session)
    ]
    out = []
    for code, zh, en, transit in rows:
        last = last_dispatch_day(eve, transit, freshness_days, closed)
        arrives = last + timedelta(days=transit) if last else None
        out.append(ZoneDeadline(code, zh, en, transit, last, arrives))
    return out


def season_view(
    session: Session, year: int, sku: str, *, settings: Settings, now: datetime
) -> SeasonView:
    """The season calendar of one product: 腊八 to a week after 春节 with availability, the
    markers, the next open day after each sold-out one, and the per-zone deadlines."""
    try:
        markers = season_markers(year)
    except CalendarError as exc:
        raise DomainError(str(exc), field="year") from None
    product = services.shop_product(session, sku)
    freshness = product.freshness_days or 1
    first = markers[0].day
    last = markers[-1].day + timedelta(days=DAYS_AFTER_FESTIVAL)
    days = order_calendar.calendars(
        session,
        [product.sku],
        settings=settings,
        now=now,
        start=first,
        days=(last - first).days + 1,
    )[product.sku]
    return SeasonView(
        year=year,
        sku=product.sku,
        freshness_days=freshness,
        markers=markers,
        deadlines=zone_deadlines(session, lunar_markers(year)["chuxi"], freshness),
        days=days,
        marks=markers_between(first, last),
        next_open=next_open_days(days),
    )


def calendar_start(now: datetime, requested: date | None) -> date:
    """Where a product calendar starts: tomorrow, or a later day the customer paged to,
    never further out than supply is planned."""
    tomorrow = local_day(now) + timedelta(days=1)
    if requested is None or requested <= tomorrow:
        return tomorrow
    return min(requested, tomorrow + timedelta(days=MAX_DAYS_AHEAD))


@dataclass(frozen=True)
class CalendarExtras:
    """What a product calendar adds to the plain day states: markers, next open days, the
    chosen day if it is sold out, and where the previous/next pages start."""

    marks: dict[date, list[Marker]]
    next_open: dict[date, date]
    sold_out_choice: date | None
    earlier: date | None
    later: date | None
    season_year: int


def calendar_extras(
    days: Sequence[DayState], chosen: date | None, start: date, now: datetime
) -> CalendarExtras:
    tomorrow = local_day(now) + timedelta(days=1)
    span = len(days)
    by_day = {d.day: d for d in days}
    choice = by_day.get(chosen) if chosen else None
    earlier = max(tomorrow, start - timedelta(days=span)) if start > tomorrow else None
    later_start = start + timedelta(days=span)
    later = later_start if later_start <= tomorrow + timedelta(days=MAX_DAYS_AHEAD) else None
    return CalendarExtras(
        marks=markers_between(days[0].day, days[-1].day) if days else {},
        next_open=next_open_days(days),
        sold_out_choice=choice.day if choice and choice.state == "sold_out" else None,
        earlier=earlier,
        later=later,
        season_year=festival_year_ahead(now),
    )


def requested_start(raw_from: str | None, chosen: date | None, now: datetime, span: int) -> date:
    """The calendar's first day: `?from=` when given, else one that shows the chosen day."""
    if raw_from:
        try:
            asked = date.fromisoformat(raw_from)
        except ValueError:
            raise DomainError("'from' must be a date like 2027-01-15", field="from") from None
        return calendar_start(now, asked)
    tomorrow = local_day(now) + timedelta(days=1)
    if chosen is not None and chosen >= tomorrow + timedelta(days=span):
        return calendar_start(now, chosen)
    return tomorrow


def parse_day(raw: str | None) -> date | None:
    """A day from a query string or the cart; None when absent or malformed (a stale cart
    or a hand-edited link must not break the page)."""
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None
