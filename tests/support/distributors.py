"""Shared set-up for distributor tests: two products sold in cases, supply, distributors."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy.orm import Session, sessionmaker

from inventory import catalog, supply
from inventory.db import transaction
from inventory.rules import local_moment
from shop.distributors import accounts, prices

CLASSIC = "GG-CLASSIC"
OSMANTHUS = "GG-OSMANTHUS"
CASE = 10  # pieces per case


def setup_products(db: sessionmaker[Session], days: list[date], cases_per_day: int) -> None:
    with transaction(db) as s:
        catalog.create_product(
            s, CLASSIC, "杨村糕干（原味）", "Yangcun gaogan, classic", 1200, 250, 2, 7
        )
        catalog.create_product(s, OSMANTHUS, "桂花糕干", "Osmanthus gaogan", 1500, 250, 2, 7)
        prices.set_case_pack(s, CLASSIC, CASE)
        prices.set_case_pack(s, OSMANTHUS, CASE)
        supply.set_planned_supply(
            s,
            "test-plan",
            {(sku, d): cases_per_day * CASE for d in days for sku in (CLASSIC, OSMANTHUS)},
        )


def make_distributor(db: sessionmaker[Session], code: str, webhook_url: str = "") -> int:
    with transaction(db) as s:
        d = accounts.create_distributor(
            s, code=code, company=f"{code} 副食商行", region="天津", webhook_url=webhook_url
        )
        prices.set_price(s, d.id, CLASSIC, 9600)
        prices.set_price(s, d.id, OSMANTHUS, 12000)
        return d.id


def local(day: date, hh: int, mm: int = 0) -> datetime:
    return local_moment(day, time(hh, mm))


def before_cutoff(day: date) -> datetime:
    """Noon, two days before pickup: well before the 20:00 cut-off."""
    return local(day - timedelta(days=2), 12)


def after_cutoff(day: date) -> datetime:
    return local(day - timedelta(days=1), 20, 1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def open_day_from(start: date, step: int = 1) -> date:
    """The first day from `start` (going forward or backward) that is not an official holiday."""
    import holidays

    official = holidays.country_holidays("CN", years=range(start.year - 1, start.year + 2))
    day = start
    while day in official:
        day += timedelta(days=step)
    return day


def local_day() -> date:
    from inventory.db import utcnow
    from inventory.rules import LOCAL_ZONE as LOCAL

    return utcnow().astimezone(LOCAL).date()


def make_user(
    db: sessionmaker[Session], email: str, role: object, distributor_id: int | None = None
) -> int:
    from shop.auth import create_user
    from shop.models import Role

    assert isinstance(role, Role)
    with transaction(db) as s:
        return create_user(
            s,
            email=email,
            name=email.split("@")[0],
            password="long-enough-pw",
            role=role,
            distributor_id=distributor_id,
        ).id


def sign_in(client: object, db: sessionmaker[Session], user_id: int) -> None:
    """Put the user's id and password fingerprint in the session cookie, as shop.auth.login does."""
    from shop.auth import session_fingerprint
    from shop.models import User

    with db() as s:
        user = s.get(User, user_id)
        assert user is not None
        fingerprint = session_fingerprint(user)
    with client.session_transaction() as sess:  # type: ignore[attr-defined]
        sess["uid"] = user_id
        sess["ufp"] = fingerprint
