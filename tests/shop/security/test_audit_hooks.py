"""The actions the audit log promises are really recorded, in the transaction of the action."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from inventory.db import transaction
from shop.distributors import prices as distributor_services
from shop.security.models import AuditEvent
from tests.shop.security.conftest import Shop, signed_in
from tests.support.distributors import CLASSIC


def _events(db: sessionmaker[Session], action: str) -> list[AuditEvent]:
    with db() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_a_price_change_is_recorded_with_before_and_after(
    shop: Shop, db: sessionmaker[Session]
) -> None:
    with transaction(db) as s:
        distributor_services.set_price(s, shop.distributor_id, CLASSIC, 9900)
        distributor_services.set_price(s, shop.distributor_id, CLASSIC, 9900)  # no change
    changes = [e for e in _events(db, "price.changed") if '"after_fen": 9900' in e.details]
    assert len(changes) == 1
    assert '"before_fen": 9600' in changes[0].details
    assert changes[0].actor == "system"  # no request: the CLI or a job


def test_a_price_change_that_rolls_back_leaves_no_audit_line(
    shop: Shop, db: sessionmaker[Session]
) -> None:
    before = len(_events(db, "price.changed"))
    try:
        with transaction(db) as s:
            distributor_services.set_price(s, shop.distributor_id, CLASSIC, 1)
            raise RuntimeError("abandon")
    except RuntimeError:
        pass
    assert len(_events(db, "price.changed")) == before


def test_the_manager_api_signs_a_user_out_everywhere_and_it_is_recorded(
    app: Flask, shop: Shop, db: sessionmaker[Session]
) -> None:
    from shop.models import User

    victim, _ = signed_in(app, shop.customer)
    assert victim.get("/account").status_code == 200
    with db() as s:
        uid = s.scalar(select(User.id).where(User.email == shop.customer))
    manager, csrf = signed_in(app, shop.manager)
    response = manager.delete(
        f"/api/v1/manager/users/{uid}/sessions", headers={"X-CSRF-Token": csrf}
    )
    assert response.status_code == 200 and response.get_json()["email"] == shop.customer
    assert victim.get("/account").status_code == 302
    entry = _events(db, "session.ended_everywhere")[-1]
    assert entry.subject == shop.customer and entry.actor == shop.manager
    distributor, dcsrf = signed_in(app, shop.distributor)
    refused = distributor.delete(
        f"/api/v1/manager/users/{uid}/sessions", headers={"X-CSRF-Token": dcsrf}
    )
    assert refused.status_code == 403
