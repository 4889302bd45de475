"""Season reminders ("order before 小年") for customers who opted in.

A customer opts in or out on the account page, or ticks the box at checkout (a guest too:
then the mobile number is the subscriber). The daily job `orders.season_reminders` finds the
reminders due (`reminder_rules.due_reminders`: a configurable number of days before 小年 and
before the last fresh day before 除夕) and, in its own run transaction, writes for every
opted-in subscriber not yet reminded one `SeasonReminder` row (unique per subscriber, season
and kind) and one `season.reminder_due` event. The consumer sends the message by the
subscriber's channel, mail or SMS, after claiming the row with one guarded UPDATE, so neither a
second run nor a redelivered event sends it twice. Every message carries the unsubscribe link.
"""

from __future__ import annotations

import logging
import secrets
from datetime import date, datetime, timedelta

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from inventory.db import utcnow
from inventory.errors import DomainError
from inventory.events import Event, Registry, publish, registry
from inventory.rules import local_day
from inventory.settings import Settings
from scheduling.planning import calendar as production_calendar
from scheduling.planning.calendar import lunar_markers
from scheduling.scheduler.jobs import JobRegistry
from scheduling.scheduler.jobs import registry as job_registry
from shop.orders import notifications, placing, reminder_messages, season, sms
from shop.orders.models import Order
from shop.orders.reminder_models import ReminderSubscription, SeasonReminder
from shop.orders.reminder_rules import CHANNELS, due_reminders, subscriber_key

log = logging.getLogger("gaogan.reminders")

JOB = "orders.season_reminders"
EVENT = "season.reminder_due"
# Consumer names are inbox keys: never rename.
CONSUMER = "reminders.send"


class ReminderNotFound(DomainError):
    code = "reminder_not_found"
    status = 404


# --------------------------------------------------------------------- opting in and out


def subscription_of_user(session: Session, user_id: int) -> ReminderSubscription | None:
    return session.scalar(
        select(ReminderSubscription).where(
            ReminderSubscription.subscriber == subscriber_key(user_id, "")
        )
    )


def _check(channel: str, mobile: str, email: str) -> None:
    if channel not in CHANNELS:
        raise DomainError(
            "choose mail or sms for notices",
            key="msg.checkout.notify_channel",
            field="channel",
        )
    if channel == "sms" and not placing.MOBILE.match(mobile):
        raise DomainError(
            "please give a mobile number we can call", key="msg.checkout.mobile", field="mobile"
        )
    if channel == "mail" and not placing.EMAIL.match(email):
        raise DomainError(
            "please give a valid email address", key="msg.checkout.email", field="email"
        )


def set_preference(
    session: Session,
    *,
    user_id: int | None,
    name: str,
    mobile: str,
    email: str,
    channel: str,
    language: str,
    opted_in: bool,
    now: datetime,
) -> ReminderSubscription:
    """Opt in (with the channel and language to be reminded in) or out. Opting out keeps the
    row, so the choice is remembered; the address is checked only when opting in."""
    mobile, email = mobile.strip(), email.strip().lower()
    if opted_in:
        _check(channel, mobile, email)
    if user_id is None and not placing.MOBILE.match(mobile):
        # A guest is known by the mobile number only.
        raise DomainError(
            "please give a mobile number we can call", key="msg.checkout.mobile", field="mobile"
        )
    key = subscriber_key(user_id, mobile)
    row = session.scalar(select(ReminderSubscription).where(ReminderSubscription.subscriber == key))
    if row is None:
        row = ReminderSubscription(
            subscriber=key, user_id=user_id, token=secrets.token_urlsafe(24), created_at=now
        )
        session.add(row)
    if opted_in or row.id is None:
        row.name, row.mobile, row.email = name.strip()[:120], mobile[:32], email[:254]
        row.channel = channel if channel in CHANNELS else "mail"
        row.language = language if language in {"zh", "en"} else "zh"
    row.opted_in = opted_in
    row.updated_at = now
    session.flush()
    return row


def opt_in_from_checkout(
    session: Session, order: Order, user_id: int | None, now: datetime
) -> ReminderSubscription:
    """The box ticked at checkout: remind this customer by the channel chosen for the order."""
    return set_preference(
        session,
        user_id=user_id,
        name=order.contact_name,
        mobile=order.contact_mobile,
        email=order.contact_email,
        channel=order.notify_channel if order.notify_channel in CHANNELS else "mail",
        language=order.language,
        opted_in=True,
        now=now,
    )


def get_by_link(session: Session, subscription_id: int, token: str) -> ReminderSubscription:
    row = session.get(ReminderSubscription, subscription_id)
    expected = row.token if row is not None else "x" * 32
    if row is None or not secrets.compare_digest(expected.encode(), token.encode()):
        raise ReminderNotFound("no such reminder subscription", subscription=subscription_id)
    return row


def set_by_link(
    session: Session, subscription_id: int, token: str, opted_in: bool, now: datetime
) -> ReminderSubscription:
    """The message's unsubscribe link (and its undo): no sign-in, the token is the proof."""
    row = get_by_link(session, subscription_id, token)
    row.opted_in = opted_in
    row.updated_at = now
    session.flush()
    return row


# --------------------------------------------------------------------- the daily job


def season_targets(session: Session, year: int) -> dict[str, date | None]:
    """The days the two reminders are about in the season whose 春节 falls in `year`."""
    markers = lunar_markers(year)
    eve = markers["chuxi"]
    closed = production_calendar.closed_days(session, eve - timedelta(days=31), eve)
    # Collection at a pickup point: no transit, so any product arrives fresh; the day is the
    # last baking day up to 除夕 (the season page's "pickup" row).
    last_fresh = season.last_dispatch_day(eve, 0, 1, closed)
    return {"xiaonian": markers["xiaonian"], "last_fresh": last_fresh}


def schedule_due_reminders(session: Session, settings: Settings, now: datetime) -> int:
    """Write a reminder and its event for every opted-in subscriber due one and not yet
    reminded of it this season. Returns how many."""
    year = season.festival_year_ahead(now)
    targets = season_targets(session, year)
    written = 0
    for due in due_reminders(local_day(now), targets, settings.reminder_days_before):
        already = exists().where(
            SeasonReminder.subscription_id == ReminderSubscription.id,
            SeasonReminder.season_year == year,
            SeasonReminder.kind == due.kind,
        )
        waiting = session.scalars(
            select(ReminderSubscription)
            .where(ReminderSubscription.opted_in.is_(True), ~already)
            .order_by(ReminderSubscription.id)
        ).all()
        for sub in waiting:
            event = publish(
                session,
                EVENT,
                {
                    "subscription_id": sub.id,
                    "season_year": year,
                    "kind": due.kind,
                    "day": due.target.isoformat(),
                },
                key=f"reminder:{sub.id}",
            )
            session.add(
                SeasonReminder(
                    subscription_id=sub.id,
                    season_year=year,
                    kind=due.kind,
                    target_day=due.target,
                    event_id=event.event_id,
                    channel=sub.channel,
                    created_at=now,
                )
            )
            written += 1
    session.flush()
    if written:
        log.info("season reminders due: %s", written)
    return written


def register_jobs(jobs: JobRegistry = job_registry) -> None:
    jobs.register(
        JOB,
        # Writes only through the run's transaction: the reminders and the run record commit
        # together, so a run retried after a crash writes nothing twice.
        lambda ctx: schedule_due_reminders(ctx.session, ctx.settings, ctx.now()),
        # Mid-morning: a text at 04:00 with the batch would wake people.
        {"trigger": "cron", "hour": 10, "minute": 0},
        description="remind customers who opted in to order before 小年 and before 除夕",
    )


# --------------------------------------------------------------------- the consumer

_current: dict[str, Settings] = {}


def _claim(session: Session, reminder: SeasonReminder, channel: str, now: datetime) -> bool:
    """Mark the reminder sent; False when another delivery of it got there first."""
    claimed = session.execute(
        update(SeasonReminder)
        .where(
            SeasonReminder.id == reminder.id,
            SeasonReminder.sent_at.is_(None),
            SeasonReminder.skipped.is_(False),
        )
        .values(sent_at=now, channel=channel)
        .returning(SeasonReminder.id)
        .execution_options(synchronize_session=False)
    ).first()
    return claimed is not None


def on_reminder_due(session: Session, event: Event) -> None:
    """Send one reminder by the subscriber's channel, unless they opted out meanwhile. If the
    send fails the transaction (and the claim) rolls back and the relay tries again."""
    payload = event.payload
    reminder = session.scalar(
        select(SeasonReminder).where(
            SeasonReminder.subscription_id == payload.get("subscription_id"),
            SeasonReminder.season_year == payload.get("season_year"),
            SeasonReminder.kind == str(payload.get("kind") or ""),
        )
    )
    if reminder is None:
        return
    sub = session.get_one(ReminderSubscription, reminder.subscription_id)
    if not sub.opted_in:
        session.execute(
            update(SeasonReminder)
            .where(SeasonReminder.id == reminder.id, SeasonReminder.sent_at.is_(None))
            .values(skipped=True)
        )
        return
    if not _claim(session, reminder, sub.channel, utcnow()):
        return
    settings = _current["settings"]
    year, kind, day = reminder.season_year, reminder.kind, reminder.target_day
    if sub.channel == "sms":
        text = reminder_messages.text(settings, sub, kind, day, year)
        sms.sender_for(settings).send(sub.mobile, text, event.event_id)
    else:
        message = reminder_messages.mail(settings, sub, kind, day, year, event)
        notifications.deliver(settings, message, event.event_id)
    log.info("season reminder %s %s by %s to subscription %s", year, kind, sub.channel, sub.id)


def register_subscribers(settings: Settings, target: Registry = registry) -> None:
    _current["settings"] = settings
    target.subscribe(EVENT, CONSUMER, on_reminder_due)
