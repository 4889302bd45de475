"""Use cases for console accounts: list, create, enable and disable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.errors import DomainError
from shop.auth import EmailTaken, WeakPassword, create_user
from shop.models import Role, User
from shop.refusals import Refused
from shop.security import audit, sessions
from shop.staff.rules import CONSOLE_ROLES, MAX_NAME


@dataclass(frozen=True)
class Account:
    id: int
    email: str
    name: str
    mobile: str
    role: str
    active: bool
    created_at: datetime


def _account(user: User) -> Account:
    return Account(
        user.id, user.email, user.name, user.mobile, user.role.value, user.active, user.created_at
    )


def list_accounts(session: Session) -> list[Account]:
    users = session.scalars(
        select(User).where(User.role.in_(list(CONSOLE_ROLES))).order_by(User.role, User.name)
    )
    return [_account(u) for u in users]


def create_account(
    session: Session, *, email: str, name: str, password: str, role: str, mobile: str = ""
) -> Account:
    if role not in {r.value for r in CONSOLE_ROLES}:
        raise Refused("staff.err.role", code="bad_role")
    if not name.strip() or len(name.strip()) > MAX_NAME:
        raise Refused("staff.err.name", code="bad_name")
    try:
        user = create_user(
            session, email=email, name=name, password=password, role=Role(role), mobile=mobile
        )
    except EmailTaken as exc:
        raise Refused("staff.err.email_taken", status=409, code="email_taken") from exc
    except WeakPassword as exc:
        raise Refused("staff.err.password", code="weak_password") from exc
    except DomainError as exc:
        raise Refused("staff.err.email", code="bad_email") from exc
    return _account(user)


def set_active(session: Session, user_id: int, active: bool, *, acting_user_id: int) -> Account:
    user = session.get(User, user_id)
    if user is None or user.role not in CONSOLE_ROLES:
        raise Refused("staff.err.not_found", status=404, code="not_found")
    if user.id == acting_user_id and not active:
        raise Refused("staff.err.self", status=409, code="self")
    if user.active != active:
        user.active = active
        # Who may use the console is a security matter: every grant and removal is audited.
        audit.record(session, "user.enabled" if active else "user.disabled", user.email)
        if not active:
            sessions.end_everywhere(session, user.id)  # a disabled account's cookies die now
    return _account(user)
