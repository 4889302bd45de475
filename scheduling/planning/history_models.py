"""Where the forecast's history came from: pieces per production day, product and channel,
from served orders and bookings ("sales") or from a CSV of past seasons ("import").
`plan_sales_history` keeps the per-day total the forecast reads; this table keeps the split."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from inventory.db import Base, UTCDateTime, utcnow


class SalesByChannel(Base):
    __tablename__ = "plan_sales_by_channel"
    __table_args__ = (UniqueConstraint("item_id", "day", "channel", "source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    day: Mapped[date] = mapped_column(Date, index=True)
    channel: Mapped[str] = mapped_column(String(20))  # pickup, delivery, distributor
    source: Mapped[str] = mapped_column(String(10))  # sales, import
    quantity: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
