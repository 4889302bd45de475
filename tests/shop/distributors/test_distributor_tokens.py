"""API tokens: shown once, stored as a hash, scoped to one distributor, revocable."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from shop.distributors import accounts
from shop.distributors.errors import InvalidToken
from shop.distributors.models import ApiToken
from shop.distributors.tokens import authenticate_token, create_token, list_tokens, revoke_token


def _distributor(db: sessionmaker[Session], code: str) -> int:
    with transaction(db) as s:
        return accounts.create_distributor(s, code=code, company=f"{code} 商行").id


def test_only_the_hash_of_a_token_is_stored_and_the_token_finds_its_distributor(
    db: sessionmaker[Session],
) -> None:
    a = _distributor(db, "BJ01")
    with transaction(db) as s:
        issued = create_token(s, a, "ERP")
    with db() as s:
        row = s.scalars(select(ApiToken)).one()
        assert row.token_hash == hashlib.sha256(issued.plaintext.encode()).hexdigest()
        assert issued.plaintext not in (row.token_hash, row.prefix, row.name)
        assert issued.plaintext.startswith(f"ggd_{row.prefix}_")
    with transaction(db) as s:
        assert authenticate_token(s, issued.plaintext).id == a
        assert list_tokens(s, a)[0].last_used_at is not None


def test_a_revoked_a_tampered_or_a_malformed_token_is_refused(db: sessionmaker[Session]) -> None:
    a = _distributor(db, "BJ01")
    with transaction(db) as s:
        issued = create_token(s, a, "ERP")
        token_id = issued.token.id
    tampered = issued.plaintext[:-2] + ("AA" if not issued.plaintext.endswith("AA") else "BB")
    for bad in (tampered, "ggd_short_x", "Bearer nonsense", ""):
        with transaction(db) as s, pytest.raises(InvalidToken):
            authenticate_token(s, bad)
    with transaction(db) as s:
        revoke_token(s, a, token_id)
    with transaction(db) as s, pytest.raises(InvalidToken):
        authenticate_token(s, issued.plaintext)


def test_a_distributor_cannot_revoke_another_distributor_s_token(db: sessionmaker[Session]) -> None:
    a, b = _distributor(db, "BJ01"), _distributor(db, "HB01")
    with transaction(db) as s:
        token_id = create_token(s, a, "ERP").token.id
    with transaction(db) as s, pytest.raises(Exception, match="no such token"):
        revoke_token(s, b, token_id)
    with db() as s:
        assert s.get(ApiToken, token_id).revoked_at is None  # type: ignore[union-attr]


def test_every_issued_token_authenticates_whatever_characters_its_secret_has(
    db: sessionmaker[Session],
) -> None:
    a = _distributor(db, "TJ02")
    with transaction(db) as s:
        issued = [create_token(s, a, f"t{i}").plaintext for i in range(40)]
    assert any("_" in t.split("_", 2)[2] or "-" in t for t in issued)
    with transaction(db) as s:
        assert all(authenticate_token(s, t).id == a for t in issued)
