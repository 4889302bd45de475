"""The shared inventory: items, lots, the append-only stock ledger, supply and claims on it.

Quantities are whole numbers in the item's base unit: grams for raw materials (rice, sugar),
pieces for products and packaging. Money is integer fen. Times are aware UTC; business days
(`production_day`, `demand_day`) are local Asia/Shanghai dates.
"""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    DDL,
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    text,
)
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, relationship

from inventory.db import Base, UTCDateTime, enum_column, utcnow
from inventory.take_function import RESERVE_FUNCTION, TAKE_FUNCTION


class ItemKind(enum.StrEnum):
    RICE = "rice"
    SUGAR = "sugar"
    PACKAGING = "packaging"
    PRODUCT = "product"


class Item(Base):
    """A raw material or a product. Product-only fields are NULL for raw materials."""

    __tablename__ = "items"
    __table_args__ = (
        CheckConstraint(
            "kind != 'product' OR (price_fen IS NOT NULL AND freshness_days >= 1 "
            "AND best_before_days >= freshness_days)",
            name="product_fields",
        ),
        CheckConstraint("price_fen IS NULL OR price_fen >= 0", name="price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(40), unique=True)
    kind: Mapped[ItemKind] = mapped_column(enum_column(ItemKind, "item_kind"))
    name_zh: Mapped[str] = mapped_column(String(120))
    name_en: Mapped[str] = mapped_column(String(120))
    unit: Mapped[str] = mapped_column(String(8))  # "g" or "piece"
    pack_size_g: Mapped[int | None] = mapped_column(Integer)
    price_fen: Mapped[int | None] = mapped_column(Integer)
    # A unit made on day D may be sold on D..D+freshness_days-1 (customer pickup);
    # channels with a shorter window (hot distributor pickup: 1) pass their own.
    freshness_days: Mapped[int | None] = mapped_column(Integer)
    best_before_days: Mapped[int | None] = mapped_column(Integer)
    description_zh: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(default=True)

    @property
    def is_product(self) -> bool:
        return self.kind is ItemKind.PRODUCT


class Lot(Base):
    """A traceable quantity of one item: a rice delivery, or one product's output of a batch."""

    __tablename__ = "lots"
    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        Index("ix_lots_item_best_before", "item_id", "best_before"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)  # made_at for product lots
    best_before: Mapped[date | None] = mapped_column(Date)
    crop_year: Mapped[int | None] = mapped_column(Integer)  # rice only
    supplier: Mapped[str | None] = mapped_column(String(120))
    production_day: Mapped[date | None] = mapped_column(Date, index=True)  # product lots
    batch_ref: Mapped[str | None] = mapped_column(String(60), index=True)
    # A cache of the ledger, kept in the same transaction as every entry;
    # `gaogan inventory verify` proves it equals the ledger sum.
    on_hand: Mapped[int] = mapped_column(Integer, default=0)

    item: Mapped[Item] = relationship(lazy="joined")


class LedgerKind(enum.StrEnum):
    RECEIPT = "receipt"
    PRODUCTION = "production"
    CONSUMPTION = "consumption"
    HANDOUT = "handout"
    WASTE = "waste"
    ADJUSTMENT = "adjustment"


class LedgerEntry(Base):
    """One movement of stock. Append-only: corrections are new adjustment entries."""

    __tablename__ = "stock_ledger"
    __table_args__ = (
        CheckConstraint("quantity != 0", name="quantity_not_zero"),
        CheckConstraint(
            "(kind IN ('receipt', 'production') AND quantity > 0) "
            "OR (kind IN ('consumption', 'handout', 'waste') AND quantity < 0) "
            "OR kind = 'adjustment'",
            name="sign_matches_kind",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"), index=True)
    kind: Mapped[LedgerKind] = mapped_column(enum_column(LedgerKind, "ledger_kind"))
    quantity: Mapped[int] = mapped_column(Integer)  # signed, in the item's base unit
    reason: Mapped[str] = mapped_column(String(200))
    reference: Mapped[str] = mapped_column(String(80), index=True)  # e.g. "batch:2027-02-01"
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Supply(Base):
    """What one production day makes of one product: planned, then actual.

    `promised` is the sum of live claims on this row, changed only together with the claim
    rows (and reclaimed lazily when holds expire), so taking stock is a single guarded update.
    """

    __tablename__ = "supply"
    __table_args__ = (
        UniqueConstraint("item_id", "production_day"),
        CheckConstraint("planned >= 0", name="planned_not_negative"),
        CheckConstraint("actual IS NULL OR actual >= 0", name="actual_not_negative"),
        CheckConstraint("promised >= 0", name="promised_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    production_day: Mapped[date] = mapped_column(Date, index=True)
    planned: Mapped[int] = mapped_column(Integer, default=0)
    actual: Mapped[int | None] = mapped_column(Integer)
    promised: Mapped[int] = mapped_column(Integer, default=0)
    # Closed to new orders (sold out by decision, no production): ATP is 0, claims stay.
    closed: Mapped[bool] = mapped_column(default=False)
    plan_ref: Mapped[str | None] = mapped_column(String(60))

    item: Mapped[Item] = relationship(lazy="joined")

    @property
    def capacity(self) -> int:
        return self.planned if self.actual is None else self.actual


class ReservationStatus(enum.StrEnum):
    HELD = "held"
    CONFIRMED = "confirmed"
    RELEASED = "released"
    EXPIRED = "expired"
    FULFILLED = "fulfilled"


class Reservation(Base):
    """All claims of one order or booking, taken and released together."""

    __tablename__ = "reservations"

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(80), unique=True)  # "order:42", "booking:7"
    status: Mapped[ReservationStatus] = mapped_column(
        enum_column(ReservationStatus, "reservation_status")
    )
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    claims: Mapped[list[Claim]] = relationship(
        back_populates="reservation", order_by="Claim.id", lazy="selectin"
    )


class ClaimKind(enum.StrEnum):
    HOLD = "hold"  # cart/checkout; dead once expires_at has passed, whatever its status says
    ALLOCATION = "allocation"  # confirmed order or booking


class ClaimStatus(enum.StrEnum):
    ACTIVE = "active"
    RELEASED = "released"
    EXPIRED = "expired"
    FULFILLED = "fulfilled"


class Claim(Base):
    """A quantity of one supply row promised to one line of a reservation."""

    __tablename__ = "claims"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("ix_claims_supply_live", "supply_id", "status"),
        # Availability subtracts the dead holds of each supply row: this partial index answers
        # that from the index alone and stays small (live holds only, not every claim ever).
        Index(
            "ix_claims_live_holds",
            "supply_id",
            "expires_at",
            postgresql_include=["quantity"],
            postgresql_where=text("kind = 'hold' AND status = 'active'"),
            sqlite_where=text("kind = 'hold' AND status = 'active'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reservation_id: Mapped[int] = mapped_column(ForeignKey("reservations.id"), index=True)
    supply_id: Mapped[int] = mapped_column(ForeignKey("supply.id"))
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id"))
    demand_day: Mapped[date] = mapped_column(Date)  # the day the customer collects
    line_no: Mapped[int] = mapped_column(Integer, default=0)
    quantity: Mapped[int] = mapped_column(Integer)
    kind: Mapped[ClaimKind] = mapped_column(enum_column(ClaimKind, "claim_kind"))
    status: Mapped[ClaimStatus] = mapped_column(enum_column(ClaimStatus, "claim_status"))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    reservation: Mapped[Reservation] = relationship(back_populates="claims")
    supply: Mapped[Supply] = relationship(lazy="joined")
    lots: Mapped[list[ClaimLot]] = relationship(
        back_populates="claim", order_by="ClaimLot.id", lazy="selectin"
    )


class ClaimLot(Base):
    """Which lot serves (part of) an allocation, set FEFO when production is received."""

    __tablename__ = "claim_lots"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    lot_id: Mapped[int] = mapped_column(ForeignKey("lots.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    handed_out: Mapped[int] = mapped_column(Integer, default=0)

    claim: Mapped[Claim] = relationship(back_populates="lots")
    lot: Mapped[Lot] = relationship()


class OutboxStatus(enum.StrEnum):
    PENDING = "pending"
    DONE = "done"
    DEAD = "dead"


class OutboxEvent(Base):
    """An event written in the same transaction as the change it reports."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "status", "next_attempt_at", "id"),
        # The broker forwarder reads `forwarded_at IS NULL ORDER BY id`.
        Index("ix_outbox_unforwarded", "forwarded_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(60), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Events about one aggregate ("order:42") are delivered in the order they were written.
    key: Mapped[str] = mapped_column(String(80), default="", index=True)
    payload: Mapped[dict[str, object]] = mapped_column(JSON)
    status: Mapped[OutboxStatus] = mapped_column(enum_column(OutboxStatus, "outbox_status"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the broker (GAOGAN_BROKER=nats) acknowledged it; independent of `status`, which is
    # the in-process subscribers' delivery. NULL with no broker configured.
    forwarded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InboxRecord(Base):
    """(consumer, event) pairs already applied: written in the consumer's own transaction."""

    __tablename__ = "inbox"
    __table_args__ = (UniqueConstraint("consumer", "event_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    consumer: Mapped[str] = mapped_column(String(80))
    event_id: Mapped[str] = mapped_column(String(36))
    # Indexed for housekeeping, which prunes old records in batches.
    applied_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class AppendOnlyViolation(RuntimeError):
    """Code tried to change or delete a stock ledger entry: a bug, never a user error."""


@event.listens_for(Session, "before_flush")
def _refuse_ledger_rewrites(session: Session, _context: Any, _instances: Any) -> None:
    # The ledger is the truth lots.on_hand is checked against; a rewritten entry would make
    # `gaogan inventory verify` prove nothing. Corrections are new 'adjustment' entries.
    for obj in session.deleted:
        if isinstance(obj, LedgerEntry):
            raise AppendOnlyViolation(f"stock ledger entry {obj.id} cannot be deleted")
    for obj in session.dirty:
        if isinstance(obj, LedgerEntry) and session.is_modified(obj):
            raise AppendOnlyViolation(f"stock ledger entry {obj.id} cannot be changed")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_ledger_rewrites(state: ORMExecuteState) -> None:
    if (state.is_update or state.is_delete) and any(
        mapper.class_ is LedgerEntry for mapper in state.all_mappers
    ):
        raise AppendOnlyViolation("stock ledger entries cannot be updated or deleted")


# The same rule in the database itself on PostgreSQL, for anything that bypasses the ORM.
# (Not on SQLite: the embedded database has one process and the test wipe deletes rows.)
event.listen(
    LedgerEntry.__table__,
    "after_create",
    DDL(  # type: ignore[no-untyped-call]
        "CREATE OR REPLACE FUNCTION stock_ledger_append_only() RETURNS trigger "
        "LANGUAGE plpgsql AS $$ BEGIN "
        "RAISE EXCEPTION 'stock_ledger is append-only: %% refused', TG_OP; "
        "END $$; "
        "CREATE TRIGGER stock_ledger_append_only BEFORE UPDATE OR DELETE ON stock_ledger "
        "FOR EACH ROW EXECUTE FUNCTION stock_ledger_append_only()"
    ).execute_if(dialect="postgresql"),
)

# The one-round-trip take and reserve (inventory.take_function): tables made by `create_all`
# (tests, a fresh `gaogan db init`) get the functions too; migrated databases get them from
# the migrations. DDL() formats its text with %, hence the doubling.
for _function in (TAKE_FUNCTION, RESERVE_FUNCTION):
    event.listen(
        Supply.__table__,
        "after_create",
        DDL(_function.replace("%", "%%")).execute_if(  # type: ignore[no-untyped-call]
            dialect="postgresql"
        ),
    )
