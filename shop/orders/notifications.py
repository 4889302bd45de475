"""Customer mails, sent by outbox consumers: confirmation, ready, cancellation.

With SMTP configured the mail goes out through smtplib; otherwise it is written as an RFC 822
`.eml` file in `settings.mail_dir` that a developer can open with any mail reader. A file is
named by the event id, so a redelivered event finds its file and writes nothing; the relay's
inbox record (consumer, event id) keeps SMTP from sending twice.
"""

from __future__ import annotations

import logging
import os
import smtplib
import tempfile
from collections.abc import Callable, Mapping
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from inventory.events import Event, registry
from inventory.runtime import Runtime
from inventory.settings import Settings, public_url
from shop.i18n import translate, yuan
from shop.orders import pickup_code, sms
from shop.orders.models import Order

log = logging.getLogger("gaogan.mail")

# event type -> (consumer name, message kind). Consumer names are inbox keys: never rename.
# `order.ready` is not here: its consumer (`orders.ready` in shop.orders.consumers) makes the
# order ready and sends the "ready" mail once per order through `send_order_mail`.
MAILS: Mapping[str, tuple[str, str]] = {
    "order.paid": ("mail.order_paid", "order_confirmed"),
    "order.confirmed": ("mail.order_confirmed", "order_confirmed"),
    "order.cancelled": ("mail.order_cancelled", "order_cancelled"),
    "order.reduced": ("mail.order_reduced", "order_reduced"),
}


def build_message(
    settings: Settings, order: Order, event: Event, kind: str, status_url: str
) -> EmailMessage:
    """The mail about `order`; customer fields come from the order row, not the event."""
    lang = order.language or "zh"
    public_id = order.public_id
    msg = EmailMessage()
    msg["Subject"] = translate(f"mail.{kind}.subject", lang, id=public_id)
    msg["From"] = settings.mail_from
    msg["To"] = order.contact_email
    msg["Date"] = formatdate(event.occurred_at.timestamp(), localtime=False)
    msg["Message-ID"] = make_msgid(idstring=event.event_id.replace("-", ""), domain="gaogan.local")
    msg["X-Gaogan-Event"] = f"{event.type} {event.event_id}"
    paragraphs = [
        translate("mail.greeting", lang, name=order.contact_name),
        translate(
            f"mail.{kind}.body",
            lang,
            id=public_id,
            day=order.day.isoformat(),
            total=yuan(order.total_fen),
        ),
    ]
    # Say why, when the shop cancelled it: the customer did not ask for this.
    if kind == "order_cancelled" and event.payload.get("reason") == "production_shortfall":
        paragraphs.append(translate("mail.order_cancelled.shortfall", lang))
    if kind == "order_reduced":
        paragraphs += part_paragraphs(order, int(event.payload.get("refund_fen") or 0), lang)
    elif kind == "order_ready" and any(ln.ordered_quantity is not None for ln in order.lines):
        # The ready notice may go out before the part-delivery one: it already says what is in
        # the bag.
        paragraphs += part_paragraphs(order, None, lang)
    card = pickup_code.pickup_card(order, settings) if kind == "order_ready" else None
    if card is not None:
        paragraphs.append(pickup_code.mail_lines(card, lang))
    if kind == "order_ready":
        # Made this morning: how to keep it, and when to re-steam it.
        paragraphs.append(translate("aftercare.mail", lang))
    paragraphs += [
        translate("mail.link", lang, url=status_url),
        translate("mail.signature", lang),
    ]
    msg.set_content("\n\n".join(paragraphs), charset="utf-8")
    if card is not None:
        # The QR code as an attachment: mail readers drop inline SVG, and the code in the text
        # is enough at the counter when the attachment is not shown.
        msg.add_attachment(
            str(card.qr).encode(), maintype="image", subtype="svg+xml", filename="pickup-code.svg"
        )
    return msg


def part_paragraphs(order: Order, refund_fen: int | None, lang: str) -> list[str]:
    """A part delivery: every line, served against ordered; with `refund_fen` (the
    `order.reduced` mail) also what happens to the money."""
    lines = []
    for ln in order.lines:
        name = ln.name_zh if lang == "zh" else ln.name_en
        if ln.ordered_quantity is None:
            lines.append(
                translate("part.mail.order.line_full", lang, name=name, quantity=ln.quantity)
            )
        else:
            key = "part.mail.order.line_reduced" if ln.quantity else "part.mail.order.line_none"
            lines.append(
                translate(key, lang, name=name, served=ln.quantity, ordered=ln.ordered_quantity)
            )
    if refund_fen is None:
        return ["\n".join(lines)]
    money = (
        translate("part.mail.order.refund", lang, refund=yuan(refund_fen))
        if refund_fen
        else translate("part.mail.order.pay_new_total", lang, total=yuan(order.total_fen))
    )
    return ["\n".join(lines), money]


def deliver(settings: Settings, message: EmailMessage, event_id: str) -> bool:
    """Send or write one message; False if this event's mail was already written."""
    if settings.smtp_host:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=20) as smtp:
            if settings.smtp_user:
                smtp.starttls()
                smtp.login(settings.smtp_user, settings.smtp_password)
            smtp.send_message(message)
        return True
    folder = Path(settings.mail_dir)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{event_id}.eml"
    if target.exists():
        return False
    # Written whole or not at all: a crash mid-write leaves no half mail to be "already sent".
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "wb") as handle:
        handle.write(bytes(message))
    try:
        os.link(tmp, target)  # fails if another delivery of the same event got there first
    except FileExistsError:
        return False
    finally:
        os.unlink(tmp)
    return True


# The registry keeps the first handler registered under a consumer name, while a process may
# build several apps (tests, the CLI): handlers read the settings of the latest one from here.
_current: dict[str, Settings] = {}


def mail_settings() -> Settings:
    """The settings the mail consumers were wired with (by init_app), for other areas' mails."""
    return _current["settings"]


def order_of_event(session: Session, event: Event) -> Order | None:
    """The order an event is about: storefront events carry `order_id`, the production
    events (`order.ready`, `order.unserved`) the reservation ref `order:<id>`."""
    order_id = event.payload.get("order_id")
    if isinstance(order_id, int):
        return session.get(Order, order_id)
    ref = str(event.payload.get("ref") or "")
    prefix, _, raw = ref.partition(":")
    if prefix == "order" and raw.isdigit():
        return session.get(Order, int(raw))
    return None


def send_order_mail(session: Session, order: Order, event: Event, kind: str) -> bool:
    """Send (or write) the `kind` notice about `order` for `event` by the channel the customer
    chose (mail, or a text message); False if already sent."""
    settings = _current["settings"]
    if order.notify_channel == "none":
        return False  # a gift recipient's order: the buyer has the gift's page instead
    if order.notify_channel == "sms":
        return sms.send_order_sms(settings, order, kind, event.event_id, dict(event.payload))
    url = f"{public_url(settings)}/track/{order.public_id}/{order.access_token}"
    sent = deliver(settings, build_message(settings, order, event, kind, url), event.event_id)
    if sent:
        log.info("mail %s for order %s", kind, order.public_id)
    return sent


def make_handler(kind: str) -> Callable[[Session, Event], None]:
    def handle(session: Session, event: Event) -> None:
        order = order_of_event(session, event)
        if order is not None:
            send_order_mail(session, order, event, kind)

    return handle


def init_app(app: Flask, runtime: Runtime) -> None:
    _current["settings"] = runtime.settings
    for event_type, (consumer, kind) in MAILS.items():
        registry.subscribe(event_type, consumer, make_handler(kind))


def mails_in(folder: Path) -> list[dict[str, Any]]:
    """The .eml files in a mail folder, parsed (for the developer CLI and tests)."""
    from email import policy
    from email.parser import BytesParser

    out = []
    for path in sorted(folder.glob("*.eml")):
        msg = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        body = msg.get_body(preferencelist=("plain",))
        out.append(
            {
                "file": path.name,
                "to": msg["To"],
                "subject": msg["Subject"],
                "body": body.get_content() if body else "",
            }
        )
    return out
