"""Distributor tables: accounts, price lists, API tokens, bookings, standing orders, peak
quotas and waitlist, and the outgoing webhook deliveries."""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inventory.db import Base, UTCDateTime, enum_column, utcnow


class Distributor(Base):
    """A shop or market that collects at the factory and pays on account, monthly."""

    __tablename__ = "distributors"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(20), unique=True)
    company: Mapped[str] = mapped_column(String(160))
    region: Mapped[str] = mapped_column(String(40), default="")  # 天津 / 北京 / 河北
    address: Mapped[str] = mapped_column(String(240), default="")
    # Monthly statement of collected goods instead of card payment.
    payment_terms: Mapped[str] = mapped_column(String(20), default="account")
    webhook_url: Mapped[str] = mapped_column(String(500), default="")
    webhook_secret: Mapped[str] = mapped_column(String(80), default="")
    no_shows: Mapped[int] = mapped_column(Integer, default=0)
    # When the day's last batch falls short: serve the lines (and whole cases) that were made
    # and re-price the booking (True), or cancel the whole booking (False, the default).
    accept_part_delivery: Mapped[bool] = mapped_column(default=False, server_default=false())
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    contacts: Mapped[list[DistributorContact]] = relationship(
        order_by="DistributorContact.id", lazy="selectin", cascade="all, delete-orphan"
    )
    prices: Mapped[list[DistributorPrice]] = relationship(
        order_by="DistributorPrice.sku", lazy="selectin", cascade="all, delete-orphan"
    )


class DistributorContact(Base):
    __tablename__ = "distributor_contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(32), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    role: Mapped[str] = mapped_column(String(60), default="")  # 采购 / 司机 / 财务


class CasePack(Base):
    """How many pieces of a product one case holds: distributors order in cases."""

    __tablename__ = "case_packs"
    __table_args__ = (CheckConstraint("pieces > 0", name="pieces_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(40), unique=True)
    pieces: Mapped[int] = mapped_column(Integer)


class DistributorPrice(Base):
    """The distributor's price per case of a product; a product without one is not on their
    list and cannot be booked."""

    __tablename__ = "distributor_prices"
    __table_args__ = (
        UniqueConstraint("distributor_id", "sku"),
        CheckConstraint("case_price_fen >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), index=True)
    sku: Mapped[str] = mapped_column(String(40))
    case_price_fen: Mapped[int] = mapped_column(Integer)


class ApiToken(Base):
    """A token for a distributor's own system. Only the SHA-256 of the token is stored; the
    prefix (shown in lists) finds the row without scanning every hash."""

    __tablename__ = "distributor_api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    prefix: Mapped[str] = mapped_column(String(16), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class BookingStatus(enum.StrEnum):
    CONFIRMED = "confirmed"
    CHECKED_IN = "checked_in"
    COLLECTED = "collected"
    CANCELLED = "cancelled"
    NO_SHOW = "no_show"


class Booking(Base):
    """A bulk order plus a pickup slot; its stock is the reservation `booking:<id>`."""

    __tablename__ = "bookings"
    __table_args__ = (
        # A standing order makes at most one booking a day, however often the job runs.
        UniqueConstraint("standing_order_id", "day"),
        Index("ix_bookings_day_status", "day", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    slot_id: Mapped[int] = mapped_column(ForeignKey("pickup_slots.id"), index=True)
    status: Mapped[BookingStatus] = mapped_column(enum_column(BookingStatus, "booking_status"))
    source: Mapped[str] = mapped_column(
        String(16), default="portal"
    )  # portal/api/standing/waitlist
    standing_order_id: Mapped[int | None] = mapped_column(ForeignKey("standing_orders.id"))
    note: Mapped[str] = mapped_column(String(240), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    checked_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    collected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    lines: Mapped[list[BookingLine]] = relationship(
        order_by="BookingLine.sku", lazy="selectin", cascade="all, delete-orphan"
    )

    @property
    def ref(self) -> str:
        return f"booking:{self.id}"


class BookingLine(Base):
    __tablename__ = "booking_lines"
    __table_args__ = (
        UniqueConstraint("booking_id", "sku"),
        # 0 only for a line a production shortfall left with nothing (`ordered_cases` says
        # what was booked); bookings themselves never take a line of 0 cases.
        CheckConstraint("cases >= 0", name="cases_not_negative"),
        CheckConstraint("ordered_cases IS NULL OR ordered_cases > cases", name="ordered_more"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    booking_id: Mapped[int] = mapped_column(ForeignKey("bookings.id"), index=True)
    sku: Mapped[str] = mapped_column(String(40))
    # What the distributor gets and pays for: after a part delivery, the cases served.
    cases: Mapped[int] = mapped_column(Integer)
    pieces: Mapped[int] = mapped_column(Integer)
    case_price_fen: Mapped[int] = mapped_column(Integer)  # the price list at booking time
    # The cases booked, kept when a shortfall served fewer (part delivery); None: as booked.
    ordered_cases: Mapped[int | None] = mapped_column(Integer)

    @property
    def reduced(self) -> bool:
        return self.ordered_cases is not None


class StandingOrder(Base):
    __tablename__ = "standing_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), index=True)
    slot_time: Mapped[time] = mapped_column(Time)  # local start of the default slot
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    lines: Mapped[list[StandingOrderLine]] = relationship(
        order_by="(StandingOrderLine.weekday, StandingOrderLine.sku)",
        lazy="selectin",
        cascade="all, delete-orphan",
    )


class StandingOrderLine(Base):
    __tablename__ = "standing_order_lines"
    __table_args__ = (
        UniqueConstraint("standing_order_id", "weekday", "sku"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("cases > 0", name="cases_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    standing_order_id: Mapped[int] = mapped_column(ForeignKey("standing_orders.id"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)  # 0 = Monday
    sku: Mapped[str] = mapped_column(String(40))
    cases: Mapped[int] = mapped_column(Integer)


class StandingSkip(Base):
    """An occurrence the distributor skipped before it was turned into a booking."""

    __tablename__ = "standing_order_skips"
    __table_args__ = (UniqueConstraint("standing_order_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    standing_order_id: Mapped[int] = mapped_column(ForeignKey("standing_orders.id"), index=True)
    day: Mapped[date] = mapped_column(Date)


class Quota(Base):
    """Peak rationing: at most `cases` of a product for a distributor on a pickup day."""

    __tablename__ = "distributor_quotas"
    __table_args__ = (
        UniqueConstraint("day", "distributor_id", "sku"),
        CheckConstraint("cases >= 0", name="cases_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"))
    sku: Mapped[str] = mapped_column(String(40))
    cases: Mapped[int] = mapped_column(Integer)


class WaitlistStatus(enum.StrEnum):
    WAITING = "waiting"
    SERVED = "served"
    CANCELLED = "cancelled"


class WaitlistEntry(Base):
    """A booking that could not be made (sold out, slot full); served first come, first served
    when stock or a seat is released for that day."""

    __tablename__ = "distributor_waitlist"
    __table_args__ = (Index("ix_waitlist_day_status", "day", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), index=True)
    day: Mapped[date] = mapped_column(Date)
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("pickup_slots.id"))
    lines: Mapped[dict[str, int]] = mapped_column(JSON)  # sku -> cases
    status: Mapped[WaitlistStatus] = mapped_column(enum_column(WaitlistStatus, "waitlist_status"))
    reason: Mapped[str] = mapped_column(String(40), default="")
    standing_order_id: Mapped[int | None] = mapped_column(ForeignKey("standing_orders.id"))
    booking_id: Mapped[int | None] = mapped_column(ForeignKey("bookings.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


class WebhookDelivery(Base):
    """One event to POST to a distributor's URL. Written by the outbox subscriber in the
    relay's transaction, sent by `deliver_webhooks` outside any transaction (a slow receiver
    must never hold a database lock), retried with backoff, in order per booking."""

    __tablename__ = "distributor_webhook_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "distributor_id"),
        Index("ix_webhook_due", "status", "next_attempt_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), index=True)
    event_id: Mapped[str] = mapped_column(String(36))
    event_type: Mapped[str] = mapped_column(String(60))
    key: Mapped[str] = mapped_column(String(80), index=True)  # "booking:7": order per booking
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(enum_column(DeliveryStatus, "webhook_status"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_status: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
