"""A distributor whose booking the morning could not make is told by mail as well as webhook.

The webhook reaches only a distributor that set one up; every distributor has people who sign
in or are listed as contacts with an address. A shortfall cancels (or, when the distributor
accepts part delivery, cuts) goods a shop was counting on at 06:00, so it is always mailed
(issue 10: the demo distributor heard nothing). The mail says what was served and what was
not, in Chinese and then in English.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.events import Event, Registry
from inventory.models import Item
from shop.distributors.models import Distributor
from shop.i18n import translate, yuan
from shop.models import User
from shop.orders.notifications import deliver, mail_settings

log = logging.getLogger("gaogan.mail")

# Inbox keys: never rename.
SHORTFALL_MAIL_CONSUMER = "mail.booking_shortfall"
REDUCED_MAIL_CONSUMER = "mail.booking_reduced"
LANGUAGES = ("zh", "en")  # distributors are Chinese shops; the English follows in the same mail


def recipients(session: Session, distributor: Distributor) -> list[str]:
    """Everyone who speaks for the distributor: its contacts' and its sign-ins' addresses."""
    users = session.scalars(
        select(User.email).where(User.distributor_id == distributor.id, User.active.is_(True))
    )
    found = [c.email for c in distributor.contacts if c.email] + list(users)
    return sorted(set(found))


def _names(session: Session, skus: list[str]) -> dict[str, tuple[str, str]]:
    rows = session.execute(
        select(Item.sku, Item.name_zh, Item.name_en).where(Item.sku.in_(sorted(set(skus))))
    ).all()
    return {sku: (zh, en) for sku, zh, en in rows}


def _name(names: Mapping[str, tuple[str, str]], sku: str, lang: str) -> str:
    zh, en = names.get(sku, (sku, sku))
    return f"{zh if lang == 'zh' else en} ({sku})"


def _lines(session: Session, payload: Mapping[str, Any], lang: str) -> list[str]:
    """What was served and what was not, one line per product of the booking."""
    booked = [ln for ln in payload.get("lines") or [] if isinstance(ln, dict)]
    part = {p.get("sku"): p for p in payload.get("part") or [] if isinstance(p, dict)}
    short = {s.get("sku"): s for s in payload.get("short") or [] if isinstance(s, dict)}
    names = _names(session, [str(ln.get("sku")) for ln in booked] + [str(s) for s in short])
    out = []
    if payload.get("type") == "booking.cancelled":
        for sku, item in short.items():
            out.append(
                translate(
                    "dist.mail.shortfall.line",
                    lang,
                    sku=_name(names, str(sku), lang),
                    qty=item.get("quantity", ""),
                )
            )
        return out
    for ln in booked:
        sku = str(ln.get("sku"))
        if sku in part:
            key = "part.mail.dist.line_reduced" if ln.get("cases") else "part.mail.dist.line_none"
            out.append(
                translate(
                    key,
                    lang,
                    name=_name(names, sku, lang),
                    served=ln.get("cases"),
                    ordered=part[sku].get("ordered_cases"),
                )
            )
        else:
            out.append(
                translate(
                    "part.mail.dist.line_full",
                    lang,
                    name=_name(names, sku, lang),
                    cases=ln.get("cases"),
                )
            )
    return out


def shortfall_message(
    session: Session, distributor: Distributor, to: list[str], event: Event
) -> EmailMessage:
    """The mail for a booking a shortfall cancelled (`booking.cancelled`) or cut to what was
    made (`booking.reduced`)."""
    payload = {**event.payload, "type": event.type}
    prefix = "dist.mail.shortfall" if event.type == "booking.cancelled" else "part.mail.dist"
    params = {
        "id": payload.get("booking_id"),
        "day": payload.get("day"),
        "company": distributor.company,
        "total": yuan(int(payload.get("total_fen") or 0)),
        "was": yuan(int(payload.get("was_total_fen") or 0)),
    }
    msg = EmailMessage()
    msg["Subject"] = translate(f"{prefix}.subject", "zh", **params)
    msg["From"] = mail_settings().mail_from
    msg["To"] = ", ".join(to)
    msg["Date"] = formatdate(event.occurred_at.timestamp(), localtime=False)
    msg["Message-ID"] = make_msgid(idstring=event.event_id.replace("-", ""), domain="gaogan.local")
    msg["X-Gaogan-Event"] = f"{event.type} {event.event_id}"
    body: list[str] = []
    for lang in LANGUAGES:
        body.append(translate(f"{prefix}.body", lang, **params))
        body.append("\n".join(_lines(session, payload, lang)))
        if event.type == "booking.reduced":
            body.append(translate("part.mail.dist.total", lang, **params))
    body.append(translate("mail.signature", "zh"))
    msg.set_content("\n\n".join(part for part in body if part), charset="utf-8")
    return msg


def on_booking_shortfall(session: Session, event: Event) -> None:
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
    message = shortfall_message(session, distributor, to, event)
    if deliver(mail_settings(), message, event.event_id):
        log.info("shortfall mail for booking %s to %s", event.payload.get("booking_id"), to)


def register_subscribers(registry: Registry) -> None:
    registry.subscribe("booking.cancelled", SHORTFALL_MAIL_CONSUMER, on_booking_shortfall)
    registry.subscribe("booking.reduced", REDUCED_MAIL_CONSUMER, on_booking_shortfall)
