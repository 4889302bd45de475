"""Sessions that end.

The signed cookie carries the user id, a fingerprint of (password hash, session version), the
moment of sign-in and the moment last seen. A cookie is refused when
- the user's session version moved on: sign-out, a manager's "sign out everywhere", or a
  password change (the hash is in the fingerprint), so every copy of an older cookie is dead;
- it is older than the lifetime, or was idle longer than the idle timeout (both settings).
Bumping a version signs that user out on every device: a copied cookie cannot outlive the
owner's sign-out, which is the point.
"""

from __future__ import annotations

import time

from flask import session
from sqlalchemy import update
from sqlalchemy.orm import Session

from shop.models import User

ISSUED = "iat"
SEEN = "seen"
SEEN_GRANULARITY = 60  # rewrite the cookie at most once a minute just to say "still here"


def start(now: float | None = None) -> None:
    stamp = int(now if now is not None else time.time())
    session[ISSUED] = stamp
    session[SEEN] = stamp


def end_everywhere(db: Session, user_id: int) -> None:
    """Invalidate every session cookie of this user, on every device (caller commits)."""
    db.execute(
        update(User).where(User.id == user_id).values(session_version=User.session_version + 1)
    )


def still_valid(now: float | None = None) -> bool:
    """Checks lifetime and idle time of the current cookie; refreshes "last seen"."""
    from shop.runtime import current_runtime

    settings = current_runtime().settings
    moment = int(now if now is not None else time.time())
    issued = session.get(ISSUED)
    seen = session.get(SEEN)
    if not isinstance(issued, int) or not isinstance(seen, int):
        # A cookie from before lifetimes existed (or made by a test helper): its age starts now.
        start(moment)
        return True
    if moment - issued > settings.session_lifetime_minutes * 60:
        return False
    if moment - seen > settings.session_idle_minutes * 60:
        return False
    if moment - seen >= SEEN_GRANULARITY:
        session[SEEN] = moment
    return True
