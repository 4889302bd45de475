"""Stock and purchasing tables. The lots and the ledger themselves are inventory's; these
record what a receipt adds (moisture, who took it in), purchase orders, and the lead time to
order each material by."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from inventory.db import Base, UTCDateTime, enum_column, utcnow


class StockReceipt(Base):
    """What the goods-in desk recorded about a delivery besides the lot itself."""

    __tablename__ = "stock_receipts"

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), unique=True)
    # Rice moisture in tenths of a percent (142 = 14.2 %); None for sugar and packaging.
    moisture_tenths: Mapped[int | None] = mapped_column(Integer)
    purchase_line_id: Mapped[int | None] = mapped_column(ForeignKey("purchase_order_lines.id"))
    received_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PurchaseTerms(Base):
    """How many days before it is needed a material must be ordered (the supplier's lead
    time). Editable on the requirements page; a material without a row uses the default."""

    __tablename__ = "purchase_terms"
    __table_args__ = (CheckConstraint("lead_days >= 0", name="lead_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(40), unique=True)
    lead_days: Mapped[int] = mapped_column(Integer)
    supplier: Mapped[str] = mapped_column(String(120), default="")


class PurchaseStatus(enum.StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    RECEIVED = "received"
    CANCELLED = "cancelled"


class PurchaseOrder(Base):
    __tablename__ = "purchase_orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    supplier: Mapped[str] = mapped_column(String(120))
    status: Mapped[PurchaseStatus] = mapped_column(enum_column(PurchaseStatus, "purchase_status"))
    expected_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    lines: Mapped[list[PurchaseOrderLine]] = relationship(
        back_populates="order", order_by="PurchaseOrderLine.id", lazy="selectin"
    )


class PurchaseOrderLine(Base):
    __tablename__ = "purchase_order_lines"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price_fen >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("purchase_orders.id"), index=True)
    sku: Mapped[str] = mapped_column(String(40))
    quantity: Mapped[int] = mapped_column(Integer)  # grams, or pieces for packaging
    # Price per kg (rice, sugar) or per 1000 pieces (packaging), in fen.
    unit_price_fen: Mapped[int] = mapped_column(Integer, default=0)
    lot_code: Mapped[str] = mapped_column(String(60), default="")  # set when received

    order: Mapped[PurchaseOrder] = relationship(back_populates="lines")
