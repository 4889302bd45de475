"""What the catalogue adds to inventory's items: gift boxes, sales channels, the product
photo, and every price change with who made it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from inventory.db import Base, UTCDateTime, utcnow


class ProductProfile(Base):
    __tablename__ = "catalogue_products"

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), unique=True)
    gift_box: Mapped[bool] = mapped_column(default=False)
    contents_zh: Mapped[str] = mapped_column(String(300), default="")  # what a gift box holds
    contents_en: Mapped[str] = mapped_column(String(300), default="")
    channels: Mapped[str] = mapped_column(String(60), default="shop,distributor")  # comma list
    image_file: Mapped[str] = mapped_column(String(120), default="")  # under the instance folder
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PriceChange(Base):
    """One change of a retail price or of a distributor's case price. Orders and bookings
    copy the price when they are placed, so this history never rewrites them."""

    __tablename__ = "price_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(40), index=True)
    price_list: Mapped[str] = mapped_column(String(20))  # "retail" or "distributor"
    distributor_id: Mapped[int | None] = mapped_column(ForeignKey("distributors.id"))
    old_fen: Mapped[int | None] = mapped_column(Integer)
    new_fen: Mapped[int] = mapped_column(Integer)
    changed_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
