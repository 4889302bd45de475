"""The storefront's tables: orders and their lines, payment attempts, processed webhook
events, pickup points and delivery zones.

Money is integer fen; times are aware UTC; `day` is the local Asia/Shanghai day the customer
collects (pickup) or the order leaves the plant (delivery).
"""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inventory.db import Base, UTCDateTime, enum_column, utcnow


class OrderStatus(enum.StrEnum):
    PENDING_PAYMENT = "pending_payment"
    PAID = "paid"  # paid online; stock allocated
    CONFIRMED = "confirmed"  # pay at pickup; stock allocated
    READY = "ready"
    COLLECTED = "collected"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    REFUNDED = "refunded"


class Fulfilment(enum.StrEnum):
    PICKUP = "pickup"
    DELIVERY = "delivery"


class PickupPoint(Base):
    __tablename__ = "pickup_points"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    address_zh: Mapped[str] = mapped_column(String(200), default="")
    address_en: Mapped[str] = mapped_column(String(200), default="")
    # Opening hours as the customer reads them on the status page and the "ready" message.
    hours_zh: Mapped[str] = mapped_column(String(120), default="每天 06:00–18:00")
    hours_en: Mapped[str] = mapped_column(String(120), default="Daily 06:00–18:00")
    active: Mapped[bool] = mapped_column(default=True)


class DeliveryZone(Base):
    """Where same-city (and further) delivery goes, its fee and courier transit time."""

    __tablename__ = "delivery_zones"
    __table_args__ = (
        CheckConstraint("fee_fen >= 0", name="fee_not_negative"),
        CheckConstraint("transit_days >= 0", name="transit_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_zh: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    fee_fen: Mapped[int] = mapped_column(Integer)
    transit_days: Mapped[int] = mapped_column(Integer)
    active: Mapped[bool] = mapped_column(default=True)


class Order(Base):
    __tablename__ = "orders"
    __table_args__ = (
        CheckConstraint("total_fen >= 0", name="total_not_negative"),
        Index("ix_orders_status_hold", "status", "hold_expires_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Shown to people and used in URLs instead of the sequential id.
    public_id: Mapped[str] = mapped_column(String(24), unique=True)
    # The status-link secret (secrets.token_urlsafe(24)), compared in constant time. Kept in
    # clear because the confirmation and "ready" mails, sent later by outbox consumers,
    # must repeat the link.
    access_token: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[OrderStatus] = mapped_column(enum_column(OrderStatus, "order_status"))
    day: Mapped[date] = mapped_column(Date, index=True)
    fulfilment: Mapped[Fulfilment] = mapped_column(enum_column(Fulfilment, "fulfilment"))
    pickup_point_id: Mapped[int | None] = mapped_column(ForeignKey("pickup_points.id"))
    delivery_zone_id: Mapped[int | None] = mapped_column(ForeignKey("delivery_zones.id"))
    delivery_address: Mapped[str] = mapped_column(String(300), default="")
    contact_name: Mapped[str] = mapped_column(String(120))
    contact_mobile: Mapped[str] = mapped_column(String(32))
    contact_email: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2), default="zh")
    # How the customer is told of confirmation, ready and shortfall: "mail" or "sms".
    notify_channel: Mapped[str] = mapped_column(String(8), default="mail")
    # The buyer's answer at checkout (from their account's setting, or the checkout form):
    # after a production shortfall, serve what was made (True) or cancel the order (False).
    accept_part_delivery: Mapped[bool] = mapped_column(default=False, server_default=false())
    # A recipient's order inside a gift order (None for an ordinary order).
    gift_id: Mapped[int | None] = mapped_column(ForeignKey("gift_orders.id"), index=True)
    # One day's order of a checkout for several days (None for a one-day checkout).
    purchase_id: Mapped[int | None] = mapped_column(ForeignKey("purchases.id"), index=True)
    payment_method: Mapped[str] = mapped_column(String(24))
    subtotal_fen: Mapped[int] = mapped_column(Integer)
    delivery_fee_fen: Mapped[int] = mapped_column(Integer, default=0)
    total_fen: Mapped[int] = mapped_column(Integer)
    hold_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cutoff_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str] = mapped_column(String(200), default="")

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.line_no", lazy="selectin"
    )
    pickup_point: Mapped[PickupPoint | None] = relationship(lazy="joined")
    delivery_zone: Mapped[DeliveryZone | None] = relationship(lazy="joined")

    @property
    def reservation_ref(self) -> str:
        return f"order:{self.id}"


class OrderLine(Base):
    __tablename__ = "order_lines"
    __table_args__ = (
        UniqueConstraint("order_id", "line_no"),
        # 0 only for a line a production shortfall left with nothing (`ordered_quantity` says
        # what was ordered); a checkout never takes a line of 0.
        CheckConstraint("quantity >= 0", name="quantity_not_negative"),
        CheckConstraint(
            "ordered_quantity IS NULL OR ordered_quantity > quantity", name="ordered_more"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    line_no: Mapped[int] = mapped_column(Integer)
    sku: Mapped[str] = mapped_column(String(40))
    name_zh: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    # What the customer gets and pays for: after a part delivery, the pieces served.
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price_fen: Mapped[int] = mapped_column(Integer)
    line_total_fen: Mapped[int] = mapped_column(Integer)
    # The pieces ordered, kept when a shortfall served fewer (part delivery); None: as ordered.
    ordered_quantity: Mapped[int | None] = mapped_column(Integer)

    @property
    def reduced(self) -> bool:
        return self.ordered_quantity is not None

    order: Mapped[Order] = relationship(back_populates="lines")


class Purchase(Base):
    """One checkout for several pickup days: one order (and one stock hold) per day, placed
    all or nothing, paid with one payment for the total. The payment is recorded per order as
    that order's share (`PaymentAttempt` rows with one provider_ref), so cancelling, refunding
    and the desk work on each day's order as on any other."""

    __tablename__ = "purchases"
    __table_args__ = (CheckConstraint("total_fen >= 0", name="total_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True)
    # The purchase page's link secret, as for an order's status link.
    access_token: Mapped[str] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    payment_method: Mapped[str] = mapped_column(String(24))
    total_fen: Mapped[int] = mapped_column(Integer)
    contact_email: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2), default="zh")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Address(Base):
    """A signed-in customer's named delivery address (address book); at most one default per
    customer, kept by a partial unique index."""

    __tablename__ = "customer_addresses"
    __table_args__ = (
        UniqueConstraint("user_id", "label"),
        Index(
            "uq_customer_addresses_default",
            "user_id",
            unique=True,
            postgresql_where=text("is_default"),
            sqlite_where=text("is_default"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    label: Mapped[str] = mapped_column(String(20))  # "家", "公司", "父母家"
    recipient: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str] = mapped_column(String(32))
    zone_id: Mapped[int] = mapped_column(ForeignKey("delivery_zones.id"))
    address: Mapped[str] = mapped_column(String(300))
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    zone: Mapped[DeliveryZone] = relationship(lazy="joined")


class PaymentAttemptStatus(enum.StrEnum):
    STARTED = "started"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUNDED = "refunded"


class PaymentAttempt(Base):
    """One try at paying an order with a provider; `number` feeds the idempotency key.

    One provider payment may pay several orders at once (a checkout for several days, a gift
    paid online): each order then has its own attempt for its share (`amount_fen`), all with
    the same `provider_ref` and `number`. A provider_ref is unique per order, not overall."""

    __tablename__ = "payment_attempts"
    __table_args__ = (
        UniqueConstraint("order_id", "number"),
        UniqueConstraint("order_id", "provider_ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    provider: Mapped[str] = mapped_column(String(24))
    provider_ref: Mapped[str | None] = mapped_column(String(80), index=True)
    client_secret: Mapped[str | None] = mapped_column(String(200))
    amount_fen: Mapped[int] = mapped_column(Integer)
    status: Mapped[PaymentAttemptStatus] = mapped_column(
        enum_column(PaymentAttemptStatus, "payment_attempt_status")
    )
    refund_ref: Mapped[str | None] = mapped_column(String(80))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class OrderMail(Base):
    """A mail that goes to a customer once per order, whichever event asked first: an order is
    made ready by the morning batch or by staff, possibly both, and is announced once."""

    __tablename__ = "order_mails"
    __table_args__ = (UniqueConstraint("order_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"))
    kind: Mapped[str] = mapped_column(String(40))
    event_id: Mapped[str] = mapped_column(String(36))  # the event whose mail it was
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ProcessedWebhookEvent(Base):
    """A provider event already applied: the unique key makes a redelivery a no-op."""

    __tablename__ = "processed_webhook_events"
    __table_args__ = (UniqueConstraint("provider", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(24))
    event_id: Mapped[str] = mapped_column(String(80))
    type: Mapped[str] = mapped_column(String(80))
    outcome: Mapped[str] = mapped_column(String(200), default="")
    payload: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class WaitlistStatus(enum.StrEnum):
    WAITING = "waiting"
    OFFERED = "offered"  # stock held for the customer until offer_expires_at
    CLAIMED = "claimed"  # turned into an order
    LAPSED = "lapsed"  # the offer ran out unclaimed
    LEFT = "left"  # the customer left the list


class WaitlistEntry(Base):
    """A customer waiting for a sold-out day: served in (created_at, id) order when stock
    comes back, with a hold named `waitlist:<id>` while the offer stands."""

    __tablename__ = "customer_waitlist"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_customer_waitlist_queue", "sku", "day", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The offer link's secret, as for the order status link.
    token: Mapped[str] = mapped_column(String(64))
    sku: Mapped[str] = mapped_column(String(40))
    day: Mapped[date] = mapped_column(Date)
    quantity: Mapped[int] = mapped_column(Integer)
    status: Mapped[WaitlistStatus] = mapped_column(
        enum_column(WaitlistStatus, "waitlist_status", length=16)
    )
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    contact_name: Mapped[str] = mapped_column(String(120))
    contact_mobile: Mapped[str] = mapped_column(String(32))
    contact_email: Mapped[str] = mapped_column(String(254))
    language: Mapped[str] = mapped_column(String(2), default="zh")
    # How the offer is told: "mail" or "sms" (the customer's choice when joining).
    notify_channel: Mapped[str] = mapped_column(String(8), default="mail")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    offer_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))

    @property
    def hold_ref(self) -> str:
        return f"waitlist:{self.id}"


class CustomerDayCap(Base):
    """The manager's cap on pieces per customer for a peak day (so a few cannot buy a sold-out
    morning for everyone)."""

    __tablename__ = "customer_day_caps"
    __table_args__ = (CheckConstraint("max_pieces > 0", name="max_pieces_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date, unique=True)
    max_pieces: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class GiftOrder(Base):
    """One buyer's gift for many recipients: one payment and one invoice (发票) for all; each
    recipient's gaogan is an order of its own (`orders.gift_id`) with its own day and place."""

    __tablename__ = "gift_orders"
    __table_args__ = (CheckConstraint("total_fen >= 0", name="total_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(24), unique=True)
    access_token: Mapped[str] = mapped_column(String(64))
    buyer_name: Mapped[str] = mapped_column(String(120))
    buyer_mobile: Mapped[str] = mapped_column(String(32))
    buyer_email: Mapped[str] = mapped_column(String(254))
    invoice_title: Mapped[str] = mapped_column(String(200))
    tax_number: Mapped[str] = mapped_column(String(20))
    # Paid once for all by bank transfer against the invoice (how companies pay).
    payment_method: Mapped[str] = mapped_column(String(24), default="bank_transfer")
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    total_fen: Mapped[int] = mapped_column(Integer)
    language: Mapped[str] = mapped_column(String(2), default="zh")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
