"""cart (issue 14): the customer address book, checkouts for several days (purchases), and
one provider payment shared by several orders

Revision ID: cart_0001
Revises: m11_0001
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import inventory.db

revision: str = "cart_0001"
down_revision: str | None = "part_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "purchases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("public_id", sa.String(length=24), nullable=False),
        sa.Column("access_token", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("payment_method", sa.String(length=24), nullable=False),
        sa.Column("total_fen", sa.Integer(), nullable=False),
        sa.Column("contact_email", sa.String(length=254), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("created_at", inventory.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("total_fen >= 0", name=op.f("ck_purchases_total_not_negative")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_purchases_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchases")),
        sa.UniqueConstraint("public_id", name=op.f("uq_purchases_public_id")),
    )
    op.create_index(op.f("ix_purchases_user_id"), "purchases", ["user_id"])
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("purchase_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_orders_purchase_id"), ["purchase_id"])
        batch.create_foreign_key(
            batch.f("fk_orders_purchase_id_purchases"), "purchases", ["purchase_id"], ["id"]
        )
    op.create_table(
        "customer_addresses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=20), nullable=False),
        sa.Column("recipient", sa.String(length=120), nullable=False),
        sa.Column("phone", sa.String(length=32), nullable=False),
        sa.Column("zone_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=300), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("created_at", inventory.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", inventory.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_customer_addresses_user_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["zone_id"],
            ["delivery_zones.id"],
            name=op.f("fk_customer_addresses_zone_id_delivery_zones"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customer_addresses")),
        sa.UniqueConstraint(
            "user_id", "label", name=op.f("uq_customer_addresses_user_id_label")
        ),
    )
    op.create_index(op.f("ix_customer_addresses_user_id"), "customer_addresses", ["user_id"])
    # At most one default address per customer, whatever two requests do at once.
    op.create_index(
        "uq_customer_addresses_default",
        "customer_addresses",
        ["user_id"],
        unique=True,
        postgresql_where=sa.text("is_default"),
        sqlite_where=sa.text("is_default"),
    )
    # One provider payment may now pay several orders (each order's attempt is its share).
    with op.batch_alter_table("payment_attempts") as batch:
        batch.drop_constraint("uq_payment_attempts_provider_ref", type_="unique")
        batch.create_unique_constraint(
            batch.f("uq_payment_attempts_order_id_provider_ref"), ["order_id", "provider_ref"]
        )
        batch.create_index(batch.f("ix_payment_attempts_provider_ref"), ["provider_ref"])


def downgrade() -> None:
    with op.batch_alter_table("payment_attempts") as batch:
        batch.drop_index("ix_payment_attempts_provider_ref")
        batch.drop_constraint("uq_payment_attempts_order_id_provider_ref", type_="unique")
        batch.create_unique_constraint("uq_payment_attempts_provider_ref", ["provider_ref"])
    op.drop_index("uq_customer_addresses_default", table_name="customer_addresses")
    op.drop_index("ix_customer_addresses_user_id", table_name="customer_addresses")
    op.drop_table("customer_addresses")
    with op.batch_alter_table("orders") as batch:
        batch.drop_constraint("fk_orders_purchase_id_purchases", type_="foreignkey")
        batch.drop_index("ix_orders_purchase_id")
        batch.drop_column("purchase_id")
    op.drop_index("ix_purchases_user_id", table_name="purchases")
    op.drop_table("purchases")
