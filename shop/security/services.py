"""The security console's use cases: what the audit page shows, unlocking a sign-in lock and
signing an account out everywhere, each audited in the same transaction as its effect."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.errors import UnknownItem
from shop.models import User
from shop.security import audit, sessions, throttle


@dataclass(frozen=True)
class AuditPage:
    entries: Sequence[Any]
    locks: Sequence[Any]


def audit_page(session: Session, action: str | None) -> AuditPage:
    return AuditPage(
        list(audit.recent(session, action=action)), list(throttle.active_locks(session))
    )


def unlock(session: Session, key: str) -> bool:
    """Lift a lock on an account ("account:<email>") or address ("address:<ip>") now."""
    if not throttle.unlock(session, key):
        return False
    audit.record(session, "throttle.unlocked", key)
    return True


def end_sessions_of_email(session: Session, email: str) -> User | None:
    """Sign the account out everywhere; None when no account has that address."""
    user = session.scalar(select(User).where(User.email == email))
    if user is not None:
        _end_everywhere(session, user)
    return user


def end_sessions_of_user(session: Session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise UnknownItem("no such user", user_id=user_id)
    _end_everywhere(session, user)
    return user


def _end_everywhere(session: Session, user: User) -> None:
    sessions.end_everywhere(session, user.id)
    audit.record(session, "session.ended_everywhere", user.email)
