"""A distributor whose booking the morning could not make is told by mail as well as webhook.

The webhook reaches only a distributor that set one up; every distributor has people who sign
in or are listed as contacts with an address. A shortfall cancels goods a shop was counting on
at 06:00, so it is always mailed (issue 10: the demo distributor heard nothing).
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.events import Event, Registry
from shop.distributors.models import Distributor
from shop.i18n import translate
from shop.models import User
from shop.orders.notifications import deliver, mail_settings

log = logging.getLogger("gaogan.mail")

# Inbox key: never rename.
SHORTFALL_MAIL_CONSUMER = "mail.booking_shortfall"


def recipients(session: Session, distributor: Distributor) -> list[str]:
    """Everyone who speaks for the distributor: its contacts' and its sign-ins' addresses."""
    users = session.scalars(
        select(User.email).where(User.distributor_id == distributor.id, User.active.is_(True))
    )
    found = [c.email for c in distributor.contacts if c.email] + list(users)
    return sorted(set(found))


def shortfall_message(distributor: Distributor, to: list[str], event: Event) -> EmailMessage:
    payload = event.payload
    lang = "zh"  # distributors are Chinese shops; the English follows in the same mail
    short = payload.get("short") or []
    lines = [
        translate("dist.mail.shortfall.line", lang, sku=s.get("sku", ""), qty=s.get("quantity", ""))
        for s in short
        if isinstance(s, dict)
    ]
    params = {
        "id": payload.get("booking_id"),
        "day": payload.get("day"),
        "company": distributor.company,
    }
    msg = EmailMessage()
    msg["Subject"] = translate("dist.mail.shortfall.subject", lang, **params)
    msg["From"] = mail_settings().mail_from
    msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(event.occurred_at.timestamp(), localtime=False)
    msg["Message-ID"] = make_msgid(idstring=event.event_id.replace("-", ""), domain="gaogan.local")
    msg["X-Gaogan-Event"] = f"{event.type} {event.event_id}"
    body = [
        translate("dist.mail.shortfall.body", "zh", **params),
        *lines,
        translate("dist.mail.shortfall.body", "en", **params),
        translate("mail.signature", "zh"),
    ]
    msg.set_content("\n\n".join(body), charset="utf-8")
    return msg


def on_booking_cancelled(session: Session, event: Event) -> None:
    if event.payload.get("reason") != "production_shortfall":
        return
    raw_id = event.payload.get("distributor_id")
    distributor = session.get(Distributor, raw_id) if isinstance(raw_id, int) else None
    if distributor is None:
        return
    to = recipients(session, distributor)
    if not to:
        log.warning("shortfall of booking %s: distributor %s has no address", event.key, raw_id)
        return
    if deliver(mail_settings(), shortfall_message(distributor, to, event), event.event_id):
        log.info("shortfall mail for booking %s to %s", event.payload.get("booking_id"), to)


def register_subscribers(registry: Registry) -> None:
    registry.subscribe("booking.cancelled", SHORTFALL_MAIL_CONSUMER, on_booking_cancelled)
