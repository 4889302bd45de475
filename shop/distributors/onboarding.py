"""Distributor onboarding use cases: accounts, contacts, terms, price lists, portal users
invited by link, suspension, and payments received against the monthly statement.

Plain functions over a Session; they never commit. Kept apart from the booking services,
which are being split by topic, so the two can change independently.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.security import generate_password_hash

from inventory.errors import DomainError
from inventory.events import publish
from shop.auth import MIN_PASSWORD_LENGTH, create_user
from shop.distributors import accounts, credit
from shop.distributors import prices as bookings
from shop.distributors.models import (
    Distributor,
    DistributorContact,
)
from shop.distributors.onboarding_models import (
    AccountPayment,
    DistributorTerms,
    PortalInvitation,
)
from shop.models import Role, User
from shop.refusals import Refused

INVITATION_DAYS = 7
PAYMENT_METHODS = ("transfer", "cash", "cheque")
PREFERENCES = ("pickup", "delivery")
CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,19}$")
SLOT = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
MAX_FEN = 10**10


@dataclass(frozen=True)
class ContactIn:
    name: str
    phone: str = ""
    email: str = ""
    role: str = ""


@dataclass
class AccountView:
    id: int
    code: str
    company: str
    region: str
    address: str
    active: bool
    credit_limit_fen: int
    payment_days: int
    preference: str
    preferred_slot: str
    note: str
    balance_fen: int  # the statement: collected goods less payments
    open_bookings_fen: int  # booked, not yet collected
    open_balance_fen: int  # the two together: what the credit limit is held against
    credit_available_fen: int | None  # None: no credit limit set
    accept_part_delivery: bool = False
    contacts: list[dict[str, str]] = field(default_factory=list)
    users: list[dict[str, object]] = field(default_factory=list)


def _distributor(session: Session, distributor_id: int) -> Distributor:
    distributor = session.get(Distributor, distributor_id)
    if distributor is None:
        raise Refused("onb.err.unknown", status=404, code="unknown_distributor")
    return distributor


def _terms(session: Session, distributor_id: int) -> DistributorTerms:
    terms = session.scalar(
        select(DistributorTerms).where(DistributorTerms.distributor_id == distributor_id)
    )
    if terms is None:
        terms = DistributorTerms(distributor_id=distributor_id)
        session.add(terms)
        session.flush()
    return terms


def _check_terms(
    credit_limit_fen: int, payment_days: int, preference: str, preferred_slot: str
) -> None:
    if not 0 <= credit_limit_fen <= MAX_FEN:
        raise Refused("onb.err.credit", code="bad_credit")
    if not 0 <= payment_days <= 180:
        raise Refused("onb.err.payment_days", code="bad_payment_days")
    if preference not in PREFERENCES:
        raise Refused("onb.err.preference", code="bad_preference")
    if preferred_slot and not SLOT.match(preferred_slot):
        raise Refused("onb.err.slot", code="bad_slot")


def _contacts(contacts: Sequence[ContactIn]) -> list[DistributorContact]:
    out = []
    for c in contacts:
        if not c.name.strip():
            continue
        if len(c.name) > 120 or len(c.phone) > 32 or len(c.email) > 254 or len(c.role) > 60:
            raise Refused("onb.err.contact", code="bad_contact")
        out.append(
            DistributorContact(
                name=c.name.strip(), phone=c.phone.strip(), email=c.email.strip(), role=c.role
            )
        )
    return out


def balance_fen(session: Session, distributor_id: int, *, before: date | None = None) -> int:
    """What the distributor owes on its statement (`shop.distributors.credit`)."""
    return credit.statement_balance_fen(session, distributor_id, before=before)


def account_view(session: Session, distributor_id: int) -> AccountView:
    d = _distributor(session, distributor_id)
    terms = session.scalar(
        select(DistributorTerms).where(DistributorTerms.distributor_id == distributor_id)
    )
    users = session.scalars(
        select(User).where(User.distributor_id == distributor_id).order_by(User.id)
    )
    standing = credit.credit_of(session, distributor_id)
    return AccountView(
        id=d.id,
        code=d.code,
        company=d.company,
        region=d.region,
        address=d.address,
        active=d.active,
        credit_limit_fen=terms.credit_limit_fen if terms else 0,
        payment_days=terms.payment_days if terms else 30,
        preference=terms.preference if terms else "pickup",
        preferred_slot=terms.preferred_slot if terms else "",
        note=terms.note if terms else "",
        balance_fen=standing.statement_fen,
        open_bookings_fen=standing.open_bookings_fen,
        open_balance_fen=standing.open_fen,
        credit_available_fen=standing.available_fen,
        accept_part_delivery=d.accept_part_delivery,
        contacts=[
            {"name": c.name, "phone": c.phone, "email": c.email, "role": c.role} for c in d.contacts
        ],
        users=[{"id": u.id, "email": u.email, "name": u.name, "active": u.active} for u in users],
    )


def list_accounts(session: Session) -> list[AccountView]:
    ids = session.scalars(select(Distributor.id).order_by(Distributor.code)).all()
    return [account_view(session, i) for i in ids]


def create_account(
    session: Session,
    *,
    code: str,
    company: str,
    user_id: int,
    region: str = "",
    address: str = "",
    contacts: Sequence[ContactIn] = (),
    credit_limit_fen: int = 0,
    payment_days: int = 30,
    preference: str = "pickup",
    preferred_slot: str = "",
    note: str = "",
    accept_part_delivery: bool | None = None,
) -> AccountView:
    code = code.strip().upper()
    if not CODE.match(code):
        raise Refused("onb.err.code", code="bad_code")
    if not company.strip() or len(company) > 160 or len(region) > 40 or len(address) > 240:
        raise Refused("onb.err.company", code="bad_company")
    _check_terms(credit_limit_fen, payment_days, preference, preferred_slot)
    if session.scalar(select(Distributor.id).where(Distributor.code == code)) is not None:
        raise Refused("onb.err.code_taken", status=409, code="code_taken", dcode=code)
    distributor = accounts.create_distributor(
        session, code=code, company=company, region=region, address=address
    )
    distributor.contacts.extend(_contacts(contacts))
    distributor.accept_part_delivery = bool(accept_part_delivery)
    session.add(
        DistributorTerms(
            distributor_id=distributor.id,
            credit_limit_fen=credit_limit_fen,
            payment_days=payment_days,
            preference=preference,
            preferred_slot=preferred_slot,
            note=note.strip()[:300],
        )
    )
    session.flush()
    publish(
        session,
        "distributor.created",
        {"distributor_id": distributor.id, "code": code, "by": user_id},
        key=f"distributor:{distributor.id}",
    )
    return account_view(session, distributor.id)


def update_account(
    session: Session,
    distributor_id: int,
    *,
    company: str,
    region: str,
    address: str,
    contacts: Sequence[ContactIn],
    credit_limit_fen: int,
    payment_days: int,
    preference: str,
    preferred_slot: str,
    note: str = "",
    accept_part_delivery: bool | None = None,
    by: str = "",
) -> AccountView:
    """Change the account; `accept_part_delivery` None leaves that setting as it is."""
    d = _distributor(session, distributor_id)
    if not company.strip() or len(company) > 160 or len(region) > 40 or len(address) > 240:
        raise Refused("onb.err.company", code="bad_company")
    _check_terms(credit_limit_fen, payment_days, preference, preferred_slot)
    d.company, d.region, d.address = company.strip(), region.strip(), address.strip()
    d.contacts.clear()
    session.flush()
    d.contacts.extend(_contacts(contacts))
    terms = _terms(session, distributor_id)
    terms.credit_limit_fen, terms.payment_days = credit_limit_fen, payment_days
    terms.preference, terms.preferred_slot = preference, preferred_slot
    terms.note = note.strip()[:300]
    if accept_part_delivery is not None:
        accounts.set_part_delivery(session, distributor_id, accept_part_delivery, by=by)
    session.flush()
    return account_view(session, distributor_id)


def set_active(session: Session, distributor_id: int, active: bool, *, user_id: int) -> AccountView:
    """Suspend (no new bookings; the booking service refuses them) or reinstate."""
    d = _distributor(session, distributor_id)
    if d.active != active:
        d.active = active
        publish(
            session,
            "distributor.suspended" if not active else "distributor.reinstated",
            {"distributor_id": d.id, "by": user_id},
            key=f"distributor:{d.id}",
        )
    return account_view(session, distributor_id)


def set_prices(
    session: Session, distributor_id: int, prices: dict[str, int], *, user_id: int, now: datetime
) -> AccountView:
    """The distributor's price list: case price per SKU (recorded in the price history)."""
    from shop.catalogue import services as catalogue

    _distributor(session, distributor_id)
    for sku, fen in sorted(prices.items()):
        catalogue.set_distributor_price(session, distributor_id, sku, fen, user_id=user_id, now=now)
    return account_view(session, distributor_id)


def price_list(session: Session, distributor_id: int) -> list[bookings.PriceListEntry]:
    _distributor(session, distributor_id)
    return bookings.price_list(session, distributor_id)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invite_user(
    session: Session, distributor_id: int, *, email: str, name: str, now: datetime
) -> tuple[int, str]:
    """A portal user who sets their own password through a one-time link. Returns the user's
    id and the token (shown once; only its hash is stored)."""
    _distributor(session, distributor_id)
    if not name.strip() or len(name) > 120:
        raise Refused("onb.err.name", code="bad_name")
    try:
        user = create_user(
            session,
            email=email,
            name=name,
            # Nobody knows this password: the link is the only way in.
            password=secrets.token_urlsafe(32),
            role=Role.DISTRIBUTOR,
            distributor_id=distributor_id,
        )
    except DomainError as exc:
        key = "onb.err.email_taken" if exc.code == "email_taken" else "onb.err.email"
        raise Refused(key, status=exc.status, code=exc.code) from exc
    token = secrets.token_urlsafe(32)
    session.add(
        PortalInvitation(
            user_id=user.id,
            token_hash=hash_token(token),
            expires_at=now + timedelta(days=INVITATION_DAYS),
            created_at=now,
        )
    )
    session.flush()
    return user.id, token


def invitation_user(session: Session, token: str, *, now: datetime) -> str:
    """The invited person's email if the link is still good; Refused otherwise."""
    invitation = session.scalar(
        select(PortalInvitation).where(PortalInvitation.token_hash == hash_token(token))
    )
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= now:
        raise Refused("onb.err.invitation", status=404, code="invitation_invalid")
    return session.get_one(User, invitation.user_id).email


def accept_invitation(session: Session, token: str, password: str, *, now: datetime) -> User:
    """Set the password once; the link then stops working."""
    invitation = session.scalar(
        select(PortalInvitation)
        .where(PortalInvitation.token_hash == hash_token(token))
        .with_for_update()
    )
    if invitation is None or invitation.used_at is not None or invitation.expires_at <= now:
        raise Refused("onb.err.invitation", status=404, code="invitation_invalid")
    if len(password) < MIN_PASSWORD_LENGTH or len(password) > 200:
        raise Refused("onb.err.password", code="weak_password")
    user = session.get_one(User, invitation.user_id)
    user.password_hash = generate_password_hash(password)
    invitation.used_at = now
    session.flush()
    return user


def record_payment(
    session: Session,
    distributor_id: int,
    *,
    amount_fen: int,
    received_on: date,
    method: str,
    reference: str,
    user_id: int,
    today: date,
) -> AccountView:
    _distributor(session, distributor_id)
    if not 0 < amount_fen <= MAX_FEN:
        raise Refused("onb.err.amount", code="bad_amount")
    if method not in PAYMENT_METHODS:
        raise Refused("onb.err.method", code="bad_method")
    if received_on > today:
        raise Refused("onb.err.future", code="future_payment")
    session.add(
        AccountPayment(
            distributor_id=distributor_id,
            amount_fen=amount_fen,
            received_on=received_on,
            method=method,
            reference=reference.strip()[:80],
            recorded_by=user_id,
        )
    )
    session.flush()
    publish(
        session,
        "distributor.payment_received",
        {"distributor_id": distributor_id, "amount_fen": amount_fen, "by": user_id},
        key=f"distributor:{distributor_id}",
    )
    return account_view(session, distributor_id)


@dataclass(frozen=True)
class Statement:
    distributor: AccountView
    year: int
    month: int
    opening_fen: int
    lines: list[bookings.StatementLine]
    payments: list[tuple[date, int, str, str]]  # day, amount, method, reference
    charges_fen: int
    paid_fen: int
    closing_fen: int
    due_on: date


def statement(session: Session, distributor_id: int, year: int, month: int) -> Statement:
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        raise Refused("onb.err.month", code="bad_month")
    first = date(year, month, 1)
    after = date(year + (month == 12), month % 12 + 1, 1)
    view = account_view(session, distributor_id)
    lines = bookings.monthly_statement(session, distributor_id, year, month)
    payments = [
        (p.received_on, p.amount_fen, p.method, p.reference)
        for p in session.scalars(
            select(AccountPayment)
            .where(
                AccountPayment.distributor_id == distributor_id,
                AccountPayment.received_on >= first,
                AccountPayment.received_on < after,
            )
            .order_by(AccountPayment.received_on, AccountPayment.id)
        )
    ]
    opening = balance_fen(session, distributor_id, before=first)
    charges = sum(line.amount_fen for line in lines)
    paid = sum(p[1] for p in payments)
    return Statement(
        distributor=view,
        year=year,
        month=month,
        opening_fen=opening,
        lines=lines,
        payments=payments,
        charges_fen=charges,
        paid_fen=paid,
        closing_fen=opening + charges - paid,
        due_on=after + timedelta(days=view.payment_days - 1) if view.payment_days else after,
    )


def statement_csv(st: Statement) -> str:
    """The statement as CSV: opening balance, each collected line, each payment, closing."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["date", "kind", "reference", "sku", "cases", "case_price_fen", "amount_fen"])
    first = date(st.year, st.month, 1).isoformat()
    writer.writerow([first, "opening_balance", "", "", "", "", st.opening_fen])
    for line in st.lines:
        writer.writerow(
            [
                line.day.isoformat(),
                "collected",
                f"B{line.booking_id}",
                line.sku,
                line.cases,
                line.case_price_fen,
                line.amount_fen,
            ]
        )
    for day, amount, method, reference in st.payments:
        writer.writerow([day.isoformat(), f"payment_{method}", reference, "", "", "", -amount])
    writer.writerow(["", "closing_balance", "", "", "", "", st.closing_fen])
    return out.getvalue()
