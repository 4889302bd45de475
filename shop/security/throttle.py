"""Throttling of guessable secrets: sign-in per account and per client address, and API-token
creation per distributor.

After `signin_max_failures` failures for one account (or `signin_address_max_failures` from one
address) the key is locked for `signin_lock_seconds`; each further lock of the same key lasts
twice as long, up to a day. A locked key is answered 429 with Retry-After *before* the password
is checked, so guessing during a lock learns nothing, not even whether a guess was right.
A lock ends by time or when a manager unlocks it (`unlock`). A success clears the account's
count, not the address's: otherwise an attacker could reset the address counter by signing
in to an account of their own between guesses.
Counts live in the database (`security_throttles`), so every worker process sees them.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from inventory.db import utcnow
from inventory.errors import DomainError
from inventory.settings import Settings
from shop.security.models import Throttle

log = logging.getLogger("gaogan.security")
MAX_LOCK = timedelta(days=1)


class Throttled(DomainError):
    code = "too_many_attempts"
    status = 429

    def __init__(self, message: str, retry_after: int, **details: object) -> None:
        super().__init__(message, retry_after_seconds=retry_after, **details)
        self.retry_after = retry_after


@dataclass(frozen=True)
class Lock:
    key: str
    failures: int
    locked_until: datetime | None


def account_key(email: str) -> str:
    return f"account:{email.strip().lower()[:254]}"


def address_key(address: str | None) -> str:
    return f"address:{(address or 'unknown')[:64]}"


def _row(db: Session, key: str, *, lock: bool = False) -> Throttle | None:
    query = select(Throttle).where(Throttle.key == key)
    if lock:
        query = query.with_for_update()
    return db.scalar(query)


def seconds_locked(db: Session, keys: list[str], now: datetime | None = None) -> int:
    """How long the longest lock among `keys` still lasts (0: none is locked)."""
    now = now or utcnow()
    longest = 0
    for row in db.scalars(select(Throttle).where(Throttle.key.in_(keys))):
        if row.locked_until is not None and row.locked_until > now:
            longest = max(longest, int((row.locked_until - now).total_seconds()) + 1)
    return longest


def record_failure(
    db: Session, key: str, limit: int, settings: Settings, now: datetime | None = None
) -> bool:
    """Count a failure; True when this failure locked the key."""
    now = now or utcnow()
    row = _row(db, key, lock=True)
    if row is None:
        try:
            with db.begin_nested():  # two first failures at once: one insert wins
                db.add(Throttle(key=key, failures=0, locks=0))
        except IntegrityError:
            pass
        row = _row(db, key, lock=True)
        assert row is not None
    window = timedelta(seconds=settings.signin_lock_seconds)
    # Failures spread out wider than a lock period are forgotten: a typo a week is no attack.
    if row.last_failure_at is not None and now - row.last_failure_at > max(window, MAX_LOCK / 24):
        row.failures = 0
    row.failures = (row.failures or 0) + 1
    row.last_failure_at = now
    if row.failures >= limit:
        duration = min(window * (2 ** (row.locks or 0)), MAX_LOCK)
        row.locked_until = now + duration
        row.locks = (row.locks or 0) + 1
        row.failures = 0
        db.flush()
        log.warning("throttle: %s locked for %d s", key, duration.total_seconds())
        return True
    db.flush()
    return False


def record_success(db: Session, key: str) -> None:
    db.execute(delete(Throttle).where(Throttle.key == key))


def unlock(db: Session, key: str) -> bool:
    return bool(db.execute(delete(Throttle).where(Throttle.key == key)).rowcount)  # type: ignore[attr-defined]


def active_locks(db: Session, now: datetime | None = None) -> list[Lock]:
    now = now or utcnow()
    return [
        Lock(row.key, row.failures, row.locked_until)
        for row in db.scalars(
            select(Throttle).where(Throttle.locked_until > now).order_by(Throttle.key)
        )
    ]


def check_token_creation(db: Session, distributor_id: int, limit: int) -> None:
    """At most `limit` new API tokens per distributor per hour."""
    from shop.distributors.models import ApiToken

    since = utcnow() - timedelta(hours=1)
    made = db.scalar(
        select(func.count())
        .select_from(ApiToken)
        .where(ApiToken.distributor_id == distributor_id, ApiToken.created_at >= since)
    )
    if (made or 0) >= limit:
        from shop.i18n import translate

        raise Throttled(translate("security.token_throttled", limit=limit), 3600)
