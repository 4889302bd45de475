"""The order desk's tables: money taken at the counter or on delivery, and refunds made by
staff. Both say who did it; together with the order's outbox events they are its audit trail.
"""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from inventory.db import Base, UTCDateTime, enum_column, utcnow


class CounterPayment(Base):
    """Pay at pickup or cash on delivery, taken by a member of staff. One per order: the
    unique key makes a second press of "paid" harmless."""

    __tablename__ = "counter_payments"
    __table_args__ = (CheckConstraint("amount_fen >= 0", name="amount_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), unique=True)
    amount_fen: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(20))  # cash, card, wechat, alipay, transfer
    taken_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RefundStatus(enum.StrEnum):
    DUE = "due"  # recorded; the provider has not confirmed yet (issued after commit)
    ISSUED = "issued"


class DeskRefund(Base):
    """A full or partial refund asked for at the desk. `request_key` comes from the form or
    the API client: the same request sent twice finds this row instead of refunding twice."""

    __tablename__ = "desk_refunds"
    __table_args__ = (
        UniqueConstraint("order_id", "request_key"),
        CheckConstraint("amount_fen > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    request_key: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(200))
    # "provider": back through the payment provider; "counter": cash handed back at the desk.
    channel: Mapped[str] = mapped_column(String(20))
    provider_ref: Mapped[str] = mapped_column(String(80), default="")
    status: Mapped[RefundStatus] = mapped_column(enum_column(RefundStatus, "desk_refund_status"))
    refund_ref: Mapped[str] = mapped_column(String(80), default="")
    error: Mapped[str] = mapped_column(String(300), default="")
    # None: the shop itself (the part of a payment a production shortfall did not serve).
    requested_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    issued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
