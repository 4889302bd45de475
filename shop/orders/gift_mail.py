"""The gift buyer's mails, sent by outbox consumers:

- `gift.placed` of a gift paid by bank transfer: the order and invoice-request confirmation
  (every recipient with their day and place, the 发票 title and tax number, the amount to
  transfer);
- `gift.paid` (one online payment for all recipients): the receipt, with the same list and
  invoice details, what was paid, how and when.

Sent like the order mails (shop.orders.notifications.deliver: SMTP, or an .eml file named by
the event id), and once: the relay's inbox records (consumer, event id).
"""

from __future__ import annotations

import logging
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from sqlalchemy.orm import Session

from inventory.events import Event, Registry, registry
from inventory.rules import LOCAL_ZONE
from inventory.settings import Settings, public_url
from shop.i18n import translate, yuan
from shop.orders import gifts, notifications
from shop.orders.models import GiftOrder, Order

log = logging.getLogger("gaogan.mail")

# Consumer names are inbox keys: never rename.
PLACED_CONSUMER = "mail.gift_placed"
PAID_CONSUMER = "mail.gift_paid"


def _where(order: Order, lang: str) -> str:
    if order.pickup_point is not None:
        name = order.pickup_point.name_zh if lang == "zh" else order.pickup_point.name_en
        return translate("gift.mail.pickup", lang, place=name)
    if order.delivery_zone is not None:
        zone = order.delivery_zone.name_zh if lang == "zh" else order.delivery_zone.name_en
        return translate("gift.mail.delivery", lang, zone=zone, address=order.delivery_address)
    return ""


def recipient_lines(orders: list[Order], lang: str) -> str:
    """One line per recipient: name, day, what, where (the buyer's list; prices per row)."""
    lines = []
    for n, order in enumerate(orders, start=1):
        goods = ", ".join(
            f"{ln.name_zh if lang == 'zh' else ln.name_en} × {ln.quantity}" for ln in order.lines
        )
        lines.append(
            f"{n}. {order.contact_name} · {order.day.isoformat()} · {goods} · "
            f"{_where(order, lang)} · {yuan(order.total_fen)}"
        )
    return "\n".join(lines)


def build_gift_message(
    settings: Settings, gift: GiftOrder, orders: list[Order], event: Event, kind: str
) -> EmailMessage:
    """`kind`: "gift_invoice_request" (bank transfer) or "gift_receipt" (paid online)."""
    lang = gift.language or "zh"
    msg = EmailMessage()
    msg["Subject"] = translate(f"mail.{kind}.subject", lang, id=gift.public_id)
    msg["From"] = settings.mail_from
    msg["To"] = gift.buyer_email
    msg["Date"] = formatdate(event.occurred_at.timestamp(), localtime=False)
    msg["Message-ID"] = make_msgid(idstring=event.event_id.replace("-", ""), domain="gaogan.local")
    msg["X-Gaogan-Event"] = f"{event.type} {event.event_id}"
    paid_at = gift.paid_at.astimezone(LOCAL_ZONE).strftime("%Y-%m-%d %H:%M") if gift.paid_at else ""
    paragraphs = [
        translate("mail.greeting", lang, name=gift.buyer_name),
        translate(
            f"mail.{kind}.body",
            lang,
            id=gift.public_id,
            count=len(orders),
            total=yuan(gift.total_fen),
            paid=yuan(int(event.payload.get("paid_fen") or 0)),
            method=translate(f"store.method.{gift.payment_method}", lang),
            paid_at=paid_at,
        ),
        translate("mail.gift.invoice", lang, title=gift.invoice_title, tax_number=gift.tax_number),
        translate("mail.gift.recipients", lang) + "\n" + recipient_lines(orders, lang),
        translate(
            "mail.gift.link",
            lang,
            url=f"{public_url(settings)}/gift/{gift.public_id}/{gift.access_token}",
        ),
        translate("mail.signature", lang),
    ]
    msg.set_content("\n\n".join(paragraphs), charset="utf-8")
    return msg


def _send(session: Session, event: Event, kind: str) -> None:
    gift = session.get(GiftOrder, int(event.payload.get("gift_id") or 0))
    if gift is None:
        return
    settings = notifications.mail_settings()
    orders = gifts.recipients_of(session, gift)
    message = build_gift_message(settings, gift, orders, event, kind)
    if notifications.deliver(settings, message, event.event_id):
        log.info("mail %s for gift %s", kind, gift.public_id)


def on_gift_placed(session: Session, event: Event) -> None:
    """Paid by bank transfer: confirm the order and the invoice request now. Paid online,
    the receipt waits for the payment (`gift.paid`)."""
    if event.payload.get("payment_method") == gifts.BANK_TRANSFER:
        _send(session, event, "gift_invoice_request")


def on_gift_paid(session: Session, event: Event) -> None:
    _send(session, event, "gift_receipt")


def register_subscribers(target: Registry = registry) -> None:
    target.subscribe("gift.placed", PLACED_CONSUMER, on_gift_placed)
    target.subscribe("gift.paid", PAID_CONSUMER, on_gift_paid)
