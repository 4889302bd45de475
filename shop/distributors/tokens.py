"""API tokens for distributors' own systems.

A token looks like `ggd_<prefix>_<secret>`. Only SHA-256 of the whole token is stored: a
database leak gives no usable token, and (the token being 190+ random bits) a fast hash is
enough, unlike passwords. The prefix is stored in clear to find the row and to show in lists;
the hash is compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.db import utcnow
from inventory.errors import DomainError
from shop.distributors.errors import InvalidToken
from shop.distributors.models import ApiToken, Distributor
from shop.security import audit, throttle

TOKEN_PREFIX = "ggd"


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    plaintext: str  # shown once, never stored


def hash_token(plaintext: str) -> str:
    return hashlib.sha256(plaintext.encode()).hexdigest()


def split_token(plaintext: str) -> str | None:
    """The lookup prefix of a well-formed token, or None."""
    parts = plaintext.split("_", 2)  # the secret part may itself contain "_"
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or len(parts[1]) != 12 or not parts[2]:
        return None
    return parts[1]


def create_token(
    session: Session, distributor_id: int, name: str, *, max_per_hour: int | None = None
) -> IssuedToken:
    """A new token; with `max_per_hour`, refused (429) once the distributor made that many in
    the last hour, so a stolen portal session cannot mint tokens without bound."""
    name = name.strip()
    if not name or len(name) > 80:
        raise DomainError("a token needs a name of 1-80 characters", field="name")
    if session.get(Distributor, distributor_id) is None:
        raise DomainError("no such distributor", distributor_id=distributor_id)
    if max_per_hour is not None:
        try:
            throttle.check_token_creation(session, distributor_id, max_per_hour)
        except throttle.Throttled:
            audit.record(session, "token.throttled", f"distributor:{distributor_id}")
            raise
    prefix = secrets.token_hex(6)
    plaintext = f"{TOKEN_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    token = ApiToken(
        distributor_id=distributor_id, name=name, prefix=prefix, token_hash=hash_token(plaintext)
    )
    session.add(token)
    session.flush()
    audit.record(
        session, "token.created", f"distributor:{distributor_id}", token_id=token.id, name=name
    )
    return IssuedToken(token, plaintext)


def list_tokens(session: Session, distributor_id: int) -> list[ApiToken]:
    return list(
        session.scalars(
            select(ApiToken).where(ApiToken.distributor_id == distributor_id).order_by(ApiToken.id)
        )
    )


def revoke_token(
    session: Session, distributor_id: int, token_id: int, *, now: datetime | None = None
) -> ApiToken:
    token = session.get(ApiToken, token_id)
    if token is None or token.distributor_id != distributor_id:
        raise DomainError("no such token", token_id=token_id)
    if token.revoked_at is None:
        token.revoked_at = now or utcnow()
        audit.record(session, "token.revoked", f"distributor:{distributor_id}", token_id=token.id)
    return token


def authenticate_token(
    session: Session, plaintext: str, *, now: datetime | None = None
) -> Distributor:
    """The distributor a bearer token belongs to; InvalidToken for anything else (unknown,
    malformed, revoked, or an inactive distributor) with the same message, so a caller learns
    nothing about which tokens exist."""
    refused = InvalidToken("the API token is invalid or has been revoked")
    prefix = split_token(plaintext)
    if prefix is None:
        raise refused
    token = session.scalar(select(ApiToken).where(ApiToken.prefix == prefix))
    expected = token.token_hash if token is not None else hash_token("")
    if not hmac.compare_digest(expected, hash_token(plaintext)) or token is None:
        raise refused
    if token.revoked_at is not None:
        raise refused
    distributor = session.get(Distributor, token.distributor_id)
    if distributor is None or not distributor.active:
        raise refused
    now = now or utcnow()
    # At most one write a minute per token: a busy integration must not queue on this row.
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        token.last_used_at = now
    return distributor
