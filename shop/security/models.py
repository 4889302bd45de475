"""Tables of the security area: sign-in throttles and the audit log."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from inventory.db import Base, UTCDateTime, utcnow


class Throttle(Base):
    """Failures counted for one key ("account:<email>", "address:<ip>", ...).

    A row per key rather than a row per attempt: the check on every sign-in is one primary-key
    read, and the table stays as small as the set of keys that failed recently.
    """

    __tablename__ = "security_throttles"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    locks: Mapped[int] = mapped_column(Integer, default=0)  # how often locked: the next is longer
    last_failure_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class AuditEvent(Base):
    """One security-relevant action: who, what, on what, from where. Append-only by use."""

    __tablename__ = "security_audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    action: Mapped[str] = mapped_column(String(60), index=True)
    actor_user_id: Mapped[int | None] = mapped_column(Integer, default=None)
    actor: Mapped[str] = mapped_column(String(300), default="")  # email, "system" or "cli"
    subject: Mapped[str] = mapped_column(String(300), default="")
    address: Mapped[str] = mapped_column(String(64), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")  # JSON
