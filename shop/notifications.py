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
from datetime import date
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory.events import Event, registry
from inventory.runtime import Runtime
from inventory.settings import Settings
from shop.i18n import translate, yuan
from shop.orders.models import Order

log = logging.getLogger("gaogan.mail")

# event type -> (consumer name, message kind). Consumer names are inbox keys: never rename.
MAILS: Mapping[str, tuple[str, str]] = {
    "order.paid": ("mail.order_paid", "order_confirmed"),
    "order.confirmed": ("mail.order_confirmed", "order_confirmed"),
    "order.ready": ("mail.order_ready", "order_ready"),
    "order.cancelled": ("mail.order_cancelled", "order_cancelled"),
}


def build_message(settings: Settings, event: Event, kind: str, status_url: str) -> EmailMessage:
    payload = event.payload
    lang = str(payload.get("language") or "zh")
    public_id = str(payload["public_id"])
    day = date.fromisoformat(str(payload["day"]))
    msg = EmailMessage()
    msg["Subject"] = translate(f"mail.{kind}.subject", lang, id=public_id)
    msg["From"] = settings.mail_from
    msg["To"] = str(payload["email"])
    msg["Date"] = formatdate(event.occurred_at.timestamp(), localtime=False)
    msg["Message-ID"] = make_msgid(idstring=event.event_id.replace("-", ""), domain="gaogan.local")
    msg["X-Gaogan-Event"] = f"{event.type} {event.event_id}"
    body = "\n\n".join(
        [
            translate("mail.greeting", lang, name=payload.get("name", "")),
            translate(
                f"mail.{kind}.body",
                lang,
                id=public_id,
                day=day.isoformat(),
                total=yuan(int(payload.get("total_fen", 0))),
            ),
            translate("mail.link", lang, url=status_url),
            translate("mail.signature", lang),
        ]
    )
    msg.set_content(body, charset="utf-8")
    return msg


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


def make_handler(kind: str) -> Callable[[Session, Event], None]:
    def handle(session: Session, event: Event) -> None:
        settings = _current["settings"]
        token = session.scalar(
            select(Order.access_token).where(Order.public_id == event.payload["public_id"])
        )
        url = f"{settings.public_url}/track/{event.payload['public_id']}/{token or ''}"
        if deliver(settings, build_message(settings, event, kind, url), event.event_id):
            log.info("mail %s for order %s", kind, event.payload["public_id"])

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
