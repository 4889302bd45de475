"""c14 (issue 14, Spring Festival customers): pickup point hours, order notify channel, gift orders, customer waitlist, caps

Revision ID: c14_0001
Revises: 20261202_sec
Create Date: 2026-12-02 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import inventory.db

revision: str = "c14_0001"
down_revision: str | None = "20261202_perf"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows get the default hours; the manager edits them per point.
    op.add_column(
        "pickup_points",
        sa.Column(
            "hours_zh", sa.String(length=120), nullable=False, server_default="每天 06:00–18:00"
        ),
    )
    op.add_column(
        "pickup_points",
        sa.Column(
            "hours_en", sa.String(length=120), nullable=False, server_default="Daily 06:00–18:00"
        ),
    )


    op.add_column(
        "orders",
        sa.Column("notify_channel", sa.String(length=8), nullable=False, server_default="mail"),
    )
    op.create_table(
        "gift_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=24), nullable=False),
        sa.Column("access_token", sa.String(length=64), nullable=False),
        sa.Column("buyer_name", sa.String(length=120), nullable=False),
        sa.Column("buyer_mobile", sa.String(length=32), nullable=False),
        sa.Column("buyer_email", sa.String(length=254), nullable=False),
        sa.Column("invoice_title", sa.String(length=200), nullable=False),
        sa.Column("tax_number", sa.String(length=20), nullable=False),
        sa.Column("payment_method", sa.String(length=24), nullable=False),
        sa.Column("paid_at", inventory.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("total_fen", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("created_at", inventory.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("total_fen >= 0", name=op.f("ck_gift_orders_total_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gift_orders")),
        sa.UniqueConstraint("public_id", name=op.f("uq_gift_orders_public_id")),
    )
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("gift_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_orders_gift_id"), ["gift_id"])
        batch.create_foreign_key(
            batch.f("fk_orders_gift_id_gift_orders"), "gift_orders", ["gift_id"], ["id"]
        )
    op.create_table(
        "customer_waitlist",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("sku", sa.String(length=40), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "waiting", "offered", "claimed", "lapsed", "left",
                name="waitlist_status", native_enum=False, create_constraint=True, length=16,
            ),
            nullable=False,
        ),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("contact_name", sa.String(length=120), nullable=False),
        sa.Column("contact_mobile", sa.String(length=32), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("created_at", inventory.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("offered_at", inventory.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("offer_expires_at", inventory.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("order_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_customer_waitlist_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_customer_waitlist_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_customer_waitlist_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_waitlist")),
    )
    op.create_index(
        "ix_customer_waitlist_queue", "customer_waitlist", ["sku", "day", "status", "id"]
    )
    op.create_table(
        "customer_day_caps",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("max_pieces", sa.Integer(), nullable=False),
        sa.Column("updated_at", inventory.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("max_pieces > 0", name=op.f("ck_customer_day_caps_max_pieces_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_day_caps")),
        sa.UniqueConstraint("day", name=op.f("uq_customer_day_caps_day")),
    )


def downgrade() -> None:
    op.drop_table("customer_day_caps")
    op.drop_index("ix_customer_waitlist_queue", table_name="customer_waitlist")
    op.drop_table("customer_waitlist")
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint("fk_orders_gift_id_gift_orders", type_="foreignkey")
        batch.drop_index("ix_orders_gift_id")
        batch.drop_column("gift_id")
        batch.drop_column("notify_channel")
    op.drop_table("gift_orders")
    with op.batch_alter_table("pickup_points") as batch:
        batch.drop_column("hours_en")
        batch.drop_column("hours_zh")
