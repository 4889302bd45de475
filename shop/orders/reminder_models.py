"""Season reminders: who asked to be reminded ("order before 小年"), and each reminder due.

A subscriber is a signed-in customer (`user:<id>`) or, for a guest who ticked the box at
checkout, a mobile number (`mobile:<number>`): one row each, whatever the number of orders.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from inventory.db import Base, UTCDateTime, utcnow


class ReminderSubscription(Base):
    __tablename__ = "reminder_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber: Mapped[str] = mapped_column(String(60), unique=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    name: Mapped[str] = mapped_column(String(120))
    mobile: Mapped[str] = mapped_column(String(32), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    channel: Mapped[str] = mapped_column(String(8), default="mail")  # "mail" | "sms"
    language: Mapped[str] = mapped_column(String(2), default="zh")
    opted_in: Mapped[bool] = mapped_column(default=True)
    # The unsubscribe link's secret (every message carries the link; no sign-in needed).
    token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class SeasonReminder(Base):
    """One reminder of one kind in one season for one subscriber: the unique key is what makes
    it "once", whichever day of the reminder window the job finds it due."""

    __tablename__ = "season_reminders"
    __table_args__ = (UniqueConstraint("subscription_id", "season_year", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("reminder_subscriptions.id"))
    season_year: Mapped[int] = mapped_column(Integer)  # the Gregorian year of its 春节
    kind: Mapped[str] = mapped_column(String(16))  # "xiaonian" | "last_fresh"
    target_day: Mapped[date] = mapped_column(Date)  # the day the reminder is about
    event_id: Mapped[str] = mapped_column(String(36))  # the season.reminder_due event
    channel: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set by the consumer that sent it; None while the event waits (or when the customer
    # opted out meanwhile: then `skipped` says so and nothing is sent).
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    skipped: Mapped[bool] = mapped_column(default=False)
