"""Events: the publish port and the subscriber registry.

`publish()` only adds an outbox row to the caller's session, so the event commits or rolls back
with the change it reports; nothing leaves the process before commit. The relay
(`inventory.relay`) later hands each event to the subscribers registered here.

Subscribers register by type *name*, so a lower package can react to a higher one's events
("order.paid") without importing it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from inventory.db import utcnow
from inventory.models import OutboxEvent, OutboxStatus


class EventRecord(Protocol):
    """What an event is made from: an outbox row, or the relay's plain copy of one."""

    @property
    def event_id(self) -> str: ...
    @property
    def type(self) -> str: ...
    @property
    def version(self) -> int: ...
    @property
    def occurred_at(self) -> datetime: ...
    @property
    def key(self) -> str: ...
    @property
    def payload(self) -> Mapping[str, Any]: ...


@dataclass(frozen=True)
class Event:
    """The immutable record a subscriber receives."""

    event_id: str
    type: str
    version: int
    occurred_at: datetime
    key: str
    payload: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: EventRecord) -> Event:
        return cls(
            event_id=row.event_id,
            type=row.type,
            version=row.version,
            occurred_at=row.occurred_at,
            key=row.key,
            payload=dict(row.payload),
        )


Handler = Callable[[Session, Event], None]


@dataclass(frozen=True)
class Subscriber:
    consumer: str  # stable name: it is the inbox key, so renaming one replays history
    event_type: str
    handler: Handler


class Registry:
    def __init__(self) -> None:
        self._by_type: dict[str, list[Subscriber]] = {}

    def subscribe(self, event_type: str, consumer: str, handler: Handler) -> None:
        subscribers = self._by_type.setdefault(event_type, [])
        if any(s.consumer == consumer for s in subscribers):
            return  # registering twice (two create_app calls in one process) is harmless
        subscribers.append(Subscriber(consumer, event_type, handler))

    def subscribers(self, event_type: str) -> list[Subscriber]:
        return list(self._by_type.get(event_type, []))

    def clear(self) -> None:
        self._by_type.clear()


registry = Registry()


def subscribe(event_type: str, consumer: str) -> Callable[[Handler], Handler]:
    """Decorator form of `registry.subscribe`, used inside a package's registration function."""

    def decorate(handler: Handler) -> Handler:
        registry.subscribe(event_type, consumer, handler)
        return handler

    return decorate


def publish(
    session: Session,
    event_type: str,
    payload: Mapping[str, Any],
    *,
    key: str = "",
    version: int = 1,
) -> OutboxEvent:
    """Record an event in the caller's transaction. Payload must be JSON-serialisable."""
    row = OutboxEvent(
        event_id=str(uuid.uuid4()),
        type=event_type,
        version=version,
        occurred_at=utcnow(),
        key=key,
        payload=dict(payload),
        status=OutboxStatus.PENDING,
        attempts=0,
        next_attempt_at=utcnow(),
    )
    session.add(row)
    return row
