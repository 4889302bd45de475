"""c14 (issue 14, Spring Festival customers): pickup point hours, order notify channel, customer waitlist, caps

Revision ID: c14_0001
Revises: 0001
Create Date: 2026-12-02 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import inventory.db

revision: str = "c14_0001"
down_revision: str | None = "0001"
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
        batch.drop_column("notify_channel")
    with op.batch_alter_table("pickup_points") as batch:
        batch.drop_column("hours_en")
        batch.drop_column("hours_zh")
