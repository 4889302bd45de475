"""Onboarding tables: a distributor's trading terms, payments received on account, and the
invitation links that let a new portal user set their own password."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from inventory.db import Base, UTCDateTime, utcnow


class DistributorTerms(Base):
    __tablename__ = "distributor_terms"
    __table_args__ = (
        CheckConstraint("credit_limit_fen >= 0", name="credit_not_negative"),
        CheckConstraint("payment_days >= 0", name="payment_days_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), unique=True)
    credit_limit_fen: Mapped[int] = mapped_column(Integer, default=0)  # 0: no credit limit set
    payment_days: Mapped[int] = mapped_column(Integer, default=30)  # after the month's statement
    # "pickup" at the gate at 06:00, or "delivery" by the distributor's own van arrangement.
    preference: Mapped[str] = mapped_column(String(20), default="pickup")
    preferred_slot: Mapped[str] = mapped_column(String(5), default="")  # "06:15"
    note: Mapped[str] = mapped_column(String(300), default="")


class AccountPayment(Base):
    """Money received against the monthly statement."""

    __tablename__ = "distributor_payments"
    __table_args__ = (CheckConstraint("amount_fen > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    distributor_id: Mapped[int] = mapped_column(ForeignKey("distributors.id"), index=True)
    amount_fen: Mapped[int] = mapped_column(Integer)
    received_on: Mapped[date] = mapped_column(Date)
    method: Mapped[str] = mapped_column(String(20))  # transfer, cash, cheque
    reference: Mapped[str] = mapped_column(String(80), default="")
    recorded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PortalInvitation(Base):
    """A one-time link to set a portal user's password; only its hash is kept."""

    __tablename__ = "portal_invitations"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
