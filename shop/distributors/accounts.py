"""Distributor accounts: company, contacts, payment on account, webhook endpoint, and the
part-delivery setting."""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.errors import DomainError
from inventory.events import publish
from shop.distributors.errors import DistributorNotFound
from shop.distributors.models import Distributor, DistributorContact


def create_distributor(
    session: Session,
    *,
    code: str,
    company: str,
    region: str = "",
    address: str = "",
    webhook_url: str = "",
    contacts: Sequence[Mapping[str, str]] = (),
) -> Distributor:
    code = code.strip().upper()
    if not code or not company.strip():
        raise DomainError(
            "a distributor needs a code and a company name",
            key="msg.dist.code_and_company",
            field="code",
        )
    if session.scalar(select(Distributor.id).where(Distributor.code == code)) is not None:
        raise DomainError(
            "a distributor with this code already exists",
            key="msg.dist.code_taken",
            field="code",
            code=code,
        )
    _check_url(webhook_url)
    distributor = Distributor(
        code=code,
        company=company.strip(),
        region=region.strip(),
        address=address.strip(),
        webhook_url=webhook_url.strip(),
        webhook_secret=secrets.token_hex(32),
        payment_terms="account",
    )
    for contact in contacts:
        distributor.contacts.append(
            DistributorContact(
                name=contact.get("name", "").strip(),
                phone=contact.get("phone", "").strip(),
                email=contact.get("email", "").strip(),
                role=contact.get("role", "").strip(),
            )
        )
    session.add(distributor)
    session.flush()
    return distributor


def _check_url(url: str) -> None:
    if url and not url.startswith(("http://", "https://")):
        raise DomainError(
            "the webhook URL must start with http:// or https://",
            key="dist.error.webhook_url",
            field="webhook_url",
        )


def set_webhook(session: Session, distributor_id: int, url: str) -> Distributor:
    distributor = get_distributor(session, distributor_id)
    _check_url(url.strip())
    distributor.webhook_url = url.strip()
    return distributor


def get_distributor(session: Session, distributor_id: int) -> Distributor:
    distributor = session.get(Distributor, distributor_id)
    if distributor is None:
        raise DistributorNotFound(
            "no such distributor", key="msg.dist.not_found", distributor_id=distributor_id
        )
    return distributor


def set_part_delivery(
    session: Session, distributor_id: int, accept: bool, *, by: str
) -> Distributor:
    """Whether the distributor takes what was made when the morning falls short (接受部分
    交付). Applies to every live booking from the next shortfall on; recorded as an event,
    so who changed it and when stays on file."""
    distributor = get_distributor(session, distributor_id)
    if distributor.accept_part_delivery != bool(accept):
        distributor.accept_part_delivery = bool(accept)
        publish(
            session,
            "distributor.settings_changed",
            {
                "distributor_id": distributor.id,
                "accept_part_delivery": distributor.accept_part_delivery,
                "by": by[:254],
            },
            key=f"distributor:{distributor.id}",
        )
    return distributor
