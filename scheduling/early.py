"""Nothing is ready, handed out or started before its day, unless someone says why.

"Ready" mailed on 2 December for a 5 December pickup, a hand-out on the board three days early
or tomorrow's batch started the evening before (its rice soaking, its flour not milled) are
mistakes that look like successes. Each is refused before the local production day; a person
who really means it gives a reason, and the caller records that reason with the move.
"""

from __future__ import annotations

from datetime import date, datetime

from inventory.rules import local_day
from scheduling.errors import BeforeTheDay

MAX_REASON = 500


def check_not_before_day(
    day: date, now: datetime, override_reason: str | None, *, action: str
) -> str | None:
    """None when `now` is on or after `day` (local); the cleaned reason when an early move is
    overridden; BeforeTheDay when it is early and no reason was given."""
    reason = (override_reason or "").strip()[:MAX_REASON]
    today = local_day(now)
    if today >= day:
        return None
    if reason:
        return reason
    raise BeforeTheDay(
        f"cannot {action} before {day.isoformat()} (today is {today.isoformat()}):"
        " the goods are not made yet; give an override reason if you really mean it",
        action=action,
        day=day.isoformat(),
        today=today.isoformat(),
    )
