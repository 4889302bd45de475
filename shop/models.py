"""The shop's tables. Areas add their own models in their own modules and import them here
so that `Base.metadata` (create_all, Alembic) sees every table."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import String, false
from sqlalchemy.orm import Mapped, mapped_column

from inventory.db import Base, UTCDateTime, enum_column, utcnow


class Role(enum.StrEnum):
    CUSTOMER = "customer"
    DISTRIBUTOR = "distributor"
    MANAGER = "manager"
    # The order desk and the pickup board, nothing else: counter staff on a peak morning.
    STAFF = "staff"


class User(Base):
    """Anyone who signs in. A distributor user belongs to a distributor company (set by the
    distributor area); customers own their orders; managers see everything."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    mobile: Mapped[str] = mapped_column(String(32), default="")
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_column(Role, "user_role", length=16))
    distributor_id: Mapped[int | None] = mapped_column(default=None)
    active: Mapped[bool] = mapped_column(default=True)
    # Part of the session fingerprint: bumping it (sign-out, "sign out everywhere") makes every
    # copy of every session cookie of this user worthless.
    session_version: Mapped[int] = mapped_column(default=0, server_default="0")
    # A customer's standing answer to "if the morning makes too little, do you take what was
    # made?" (接受部分交付). Off: whole orders only. Each order copies it at checkout
    # (`orders.accept_part_delivery`), so changing it later never rewrites a placed order.
    accept_part_delivery: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


# Area models, imported so Base.metadata sees their tables.
from shop.catalogue import models as _catalogue_models  # noqa: E402, F401
from shop.distributors import models as _distributor_models  # noqa: E402, F401
from shop.distributors import onboarding_models as _onboarding_models  # noqa: E402, F401
from shop.orders import desk_models as _desk_models  # noqa: E402, F401
from shop.orders import models as _orders_models  # noqa: E402, F401
from shop.orders import reminder_models as _reminder_models  # noqa: E402, F401
from shop.security import models as _security_models  # noqa: E402, F401
from shop.stock import models as _stock_models  # noqa: E402, F401
