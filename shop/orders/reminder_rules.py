"""Season reminders, the plain rules: which reminder is due on a day, who a subscriber is, how
a date is said in a message. No database.

Two reminders a season, each about a day of the season:
- `xiaonian`: 小年 (23rd of the 12th lunar month, northern custom), from when gift buying rises;
- `last_fresh`: the last day before 除夕 a gift can still be collected fresh (除夕 itself is
  usually a holiday, so the day before it or earlier).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta

from shop.i18n import weekday

KINDS = ("xiaonian", "last_fresh")
CHANNELS = ("mail", "sms")


@dataclass(frozen=True)
class Due:
    kind: str
    target: date  # the day the reminder is about


def due_reminders(today: date, targets: Mapping[str, date | None], days_before: int) -> list[Due]:
    """The reminders due today: from `days_before` days before their day up to the day before
    it (orders for a day close the evening before, so on the day itself it is too late).

    A window rather than one day: a job missed on the first day (an outage, a customer who
    opted in late) still reminds on a later one; the unique (subscriber, season, kind) record
    keeps it to once."""
    out = []
    for kind in KINDS:
        target = targets.get(kind)
        if target is not None and target - timedelta(days=days_before) <= today < target:
            out.append(Due(kind, target))
    return out


def subscriber_key(user_id: int | None, mobile: str) -> str:
    """One subscription per customer account, or per mobile number for a guest."""
    if user_id is not None:
        return f"user:{user_id}"
    return "mobile:" + "".join(ch for ch in mobile if ch.isdigit() or ch == "+")


def say_day(day: date, lang: str) -> str:
    """A date as a message says it: 1月30日（周六） / Sat 30 Jan 2027."""
    if lang == "zh":
        return f"{day.month}月{day.day}日（{weekday(day, 'zh')}）"
    return f"{weekday(day, 'en')} {day.day} {day.strftime('%b %Y')}"
