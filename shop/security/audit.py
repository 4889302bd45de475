"""The audit log: security-relevant actions, recorded in the same transaction as the action
itself (a refund that rolls back leaves no audit line, one that commits always does).

Recorded today: sign-in failures and locks, sign-outs everywhere, unlocks, users created (with
their role; there is no role-change path yet), API tokens created and revoked, distributor
price changes and refunds. Managers read it at /manager/security/audit and
GET /api/v1/manager/audit.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import has_request_context, request, session
from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.db import utcnow
from shop.security.models import AuditEvent

ACTIONS = (
    "signin.failed",
    "signin.locked",
    "signin.refused_locked",
    "session.ended_everywhere",
    "throttle.unlocked",
    "user.created",
    "user.enabled",
    "user.disabled",
    "token.created",
    "token.revoked",
    "token.throttled",
    "price.changed",
    "order.refunded",
)


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    action: str
    actor: str
    subject: str
    address: str
    details: dict[str, Any]


def _actor(db: Session) -> tuple[int | None, str]:
    if not has_request_context():
        return None, "system"
    uid = session.get("uid")
    if isinstance(uid, int):
        from shop.models import User

        user = db.get(User, uid)
        if user is not None:
            return uid, user.email
    if request.headers.get("Authorization", "").startswith("Bearer "):
        return None, "api-token"
    return None, "anonymous"


def record(db: Session, action: str, subject: str = "", **details: Any) -> None:
    actor_id, actor = _actor(db)
    db.add(
        AuditEvent(
            at=utcnow(),
            action=action[:60],
            actor_user_id=actor_id,
            actor=actor[:300],
            subject=subject[:300],
            address=(request.remote_addr or "")[:64] if has_request_context() else "",
            details=json.dumps(details, ensure_ascii=False, default=str),
        )
    )
    db.flush()


def recent(
    db: Session, *, limit: int = 200, action: str | None = None, before_id: int | None = None
) -> list[Entry]:
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if action:
        query = query.where(AuditEvent.action == action)
    if before_id:
        query = query.where(AuditEvent.id < before_id)
    return [
        Entry(e.id, e.at, e.action, e.actor, e.subject, e.address, json.loads(e.details or "{}"))
        for e in db.scalars(query)
    ]
