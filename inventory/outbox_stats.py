"""Numbers about the outbox for an operator and for /metrics: backlog, dead events, lag."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from inventory.models import InboxRecord, OutboxEvent, OutboxStatus


@dataclass(frozen=True)
class EventStats:
    pending: int
    done: int
    dead: int
    inbox: int
    oldest_pending: datetime | None  # occurred_at of the oldest event the relay still owes
    unforwarded: int  # waiting for the broker (meaningful with GAOGAN_BROKER set)
    oldest_unforwarded: datetime | None

    def relay_lag_seconds(self, now: datetime) -> float:
        return _age(self.oldest_pending, now)

    def broker_lag_seconds(self, now: datetime) -> float:
        return _age(self.oldest_unforwarded, now)


def _age(moment: datetime | None, now: datetime) -> float:
    return max(0.0, (now - moment).total_seconds()) if moment is not None else 0.0


def _aware(value: datetime | None) -> datetime | None:
    # min() over a column comes back without the column type's conversion on SQLite.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def event_stats(session: Session) -> EventStats:
    by_status = dict(
        session.execute(select(OutboxEvent.status, func.count()).group_by(OutboxEvent.status)).all()
    )
    oldest_pending = session.scalar(
        select(func.min(OutboxEvent.occurred_at)).where(OutboxEvent.status == OutboxStatus.PENDING)
    )
    unforwarded, oldest_unforwarded = session.execute(
        select(func.count(), func.min(OutboxEvent.occurred_at)).where(
            OutboxEvent.forwarded_at.is_(None)
        )
    ).one()
    return EventStats(
        pending=int(by_status.get(OutboxStatus.PENDING, 0)),
        done=int(by_status.get(OutboxStatus.DONE, 0)),
        dead=int(by_status.get(OutboxStatus.DEAD, 0)),
        inbox=int(session.scalar(select(func.count()).select_from(InboxRecord)) or 0),
        oldest_pending=_aware(oldest_pending),
        unforwarded=int(unforwarded),
        oldest_unforwarded=_aware(oldest_unforwarded),
    )
