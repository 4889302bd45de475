"""The season reminder's words: a short text message or a mail, in the subscriber's language,
each saying the day, when orders for it close, and linking to the season's order calendar
and to the unsubscribe page."""

from __future__ import annotations

from datetime import date
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from inventory.events import Event
from inventory.settings import Settings, public_url
from scheduling.cutoff import cutoff_for
from scheduling.planning.calendar import lunar_markers
from shop.i18n import translate
from shop.orders.reminder_models import ReminderSubscription
from shop.orders.reminder_rules import say_day


def links(settings: Settings, sub: ReminderSubscription, year: int) -> dict[str, str]:
    base = public_url(settings).rstrip("/")
    return {
        "calendar": f"{base}/season?year={year}",
        "unsubscribe": f"{base}/reminders/{sub.id}/{sub.token}",
    }


def params(
    settings: Settings, sub: ReminderSubscription, kind: str, day: date, year: int
) -> dict[str, Any]:
    lang = sub.language or "zh"
    closes = cutoff_for(day, settings.order_cutoff)
    return {
        "day": say_day(day, lang),
        "eve": say_day(lunar_markers(year)["chuxi"], lang),
        # Orders for a day close the evening before it (the soak starts): say when.
        "cutoff": f"{say_day(closes.date(), lang)} {closes:%H:%M}",
        "name": sub.name,
        **links(settings, sub, year),
    }


def text(settings: Settings, sub: ReminderSubscription, kind: str, day: date, year: int) -> str:
    return translate(
        f"reminder.sms.{kind}", sub.language or "zh", **params(settings, sub, kind, day, year)
    )


def mail(
    settings: Settings,
    sub: ReminderSubscription,
    kind: str,
    day: date,
    year: int,
    event: Event,
) -> EmailMessage:
    lang = sub.language or "zh"
    values = params(settings, sub, kind, day, year)
    msg = EmailMessage()
    msg["Subject"] = translate(f"reminder.mail.{kind}.subject", lang, **values)
    msg["From"] = settings.mail_from
    msg["To"] = sub.email
    msg["Date"] = formatdate(event.occurred_at.timestamp(), localtime=False)
    msg["Message-ID"] = make_msgid(idstring=event.event_id.replace("-", ""), domain="gaogan.local")
    msg["X-Gaogan-Event"] = f"{event.type} {event.event_id}"
    # Mail readers offer their own "unsubscribe" button from this header (RFC 2369).
    msg["List-Unsubscribe"] = f"<{values['unsubscribe']}>"
    body = [
        translate("mail.greeting", lang, name=sub.name),
        translate(f"reminder.mail.{kind}.body", lang, **values),
        translate("reminder.mail.calendar", lang, **values),
        translate("reminder.mail.unsubscribe", lang, **values),
        translate("mail.signature", lang),
    ]
    msg.set_content("\n\n".join(body), charset="utf-8")
    return msg
