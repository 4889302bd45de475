"""Who is signed in, and who may see what.

Passwords are hashed with werkzeug's scrypt; the session cookie holds only the user id and a
fingerprint of the password hash and the user's session version, so changing a password,
signing out or a manager's "sign out everywhere" ends every copy of every session cookie
(`shop.security.sessions`, which also enforces lifetime and idle timeout).
Customers see only their own orders, distributors only their own bookings, managers all:
views ask `require_role(...)` and then scope their queries by `current_user().id`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import abort, g, redirect, request, session, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from inventory.db import transaction
from inventory.errors import DomainError
from shop.models import Role, User
from shop.runtime import current_runtime
from shop.security import sessions

F = TypeVar("F", bound=Callable[..., Any])
MIN_PASSWORD_LENGTH = 8


class EmailTaken(DomainError):
    code = "email_taken"
    status = 409


class WeakPassword(DomainError):
    code = "weak_password"


def session_fingerprint(user: User) -> str:
    """What the session keeps of the password hash and session version: a new password or a
    new version signs every existing session out."""
    material = f"{user.password_hash}\x00{user.session_version or 0}"
    return hashlib.sha256(material.encode()).hexdigest()[:16]


def normalise_email(email: str) -> str:
    return email.strip().lower()


def create_user(
    db: Session,
    *,
    email: str,
    name: str,
    password: str,
    role: Role,
    mobile: str = "",
    distributor_id: int | None = None,
) -> User:
    email = normalise_email(email)
    if "@" not in email or len(email) > 254:
        raise DomainError("a valid email address is required", field="email")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise WeakPassword(
            f"password must be at least {MIN_PASSWORD_LENGTH} characters", field="password"
        )
    if db.scalar(select(func.count()).select_from(User).where(User.email == email)):
        raise EmailTaken("an account with this email already exists", field="email")
    user = User(
        email=email,
        name=name.strip(),
        mobile=mobile.strip(),
        role=role,
        password_hash=generate_password_hash(password),
        distributor_id=distributor_id,
    )
    db.add(user)
    db.flush()
    from shop.security import audit

    audit.record(db, "user.created", email, role=role.value)
    return user


def authenticate(db: Session, email: str, password: str) -> User | None:
    user = db.scalar(select(User).where(User.email == normalise_email(email)))
    if user is None or not user.active:
        # Same work as a real check so response time does not reveal which emails exist.
        check_password_hash(generate_password_hash("x"), password)
        return None
    return user if check_password_hash(user.password_hash, password) else None


def login(user: User) -> None:
    session.clear()  # a fresh session on sign-in: no fixation
    session["uid"] = user.id
    session["ufp"] = session_fingerprint(user)
    session.permanent = True
    sessions.start()


def logout() -> None:
    """Sign out here and everywhere: a copy of this cookie must not outlive the sign-out."""
    uid = session.get("uid")
    session.clear()
    g.pop("user", None)
    if isinstance(uid, int):
        with transaction(current_runtime().sessions) as db:
            sessions.end_everywhere(db, uid)


def current_user(db: Session | None = None) -> User | None:
    """The signed-in user, loaded once per request."""
    if "user" in g:
        cached: User | None = g.user
        return cached
    user: User | None = None
    uid = session.get("uid")
    if uid is not None:
        if db is None:
            with current_runtime().sessions() as own:
                user = own.get(User, uid)
        else:
            user = db.get(User, uid)
        if (
            user is None
            or not user.active
            or session.get("ufp") != session_fingerprint(user)
            or not sessions.still_valid()
        ):
            user = None
            session.clear()
    g.user = user
    return user


def require_role(*roles: Role) -> Callable[[F], F]:
    """Signed out: pages redirect to sign-in, the API answers 401. Wrong role: 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            user = current_user()
            if user is None:
                if request.path.startswith("/api/"):
                    abort(401, description="sign in first")
                return redirect(url_for("accounts.signin", next=request.full_path))
            if roles and user.role not in roles:
                abort(403, description="not allowed for this account")
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorate
