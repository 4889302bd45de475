"""manager console (issue 11, helper m11): staff role, counter payments, desk refunds,
stock receipts, purchase terms and purchase orders, catalogue profiles and price changes, distributor terms, payments and invitations, sales history by channel

Revision ID: m11_0001
Revises: 20261202_sec
Create Date: 2026-12-02 16:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import inventory.db

revision: str = "m11_0001"
down_revision: str | None = "c14_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_ROLES = ("customer", "distributor", "manager")
NEW_ROLES = (*OLD_ROLES, "staff")


def _roles(values: tuple[str, ...]) -> str:
    return "role IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _set_role_check(values: tuple[str, ...]) -> None:
    # The enum is a CHECK constraint (inventory.db.enum_column), so a new role is a new check.
    with op.batch_alter_table("users") as batch:
        batch.drop_constraint(op.f("ck_users_user_role"), type_="check")
        batch.create_check_constraint(op.f("ck_users_user_role"), _roles(values))


def upgrade() -> None:
    _set_role_check(NEW_ROLES)
    op.create_table(
        "counter_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("taken_by", sa.Integer(), nullable=False),
        sa.Column("taken_at", inventory.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_fen >= 0", name=op.f("ck_counter_payments_amount_not_negative")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_counter_payments_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["taken_by"], ["users.id"], name=op.f("fk_counter_payments_taken_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counter_payments")),
        sa.UniqueConstraint("order_id", name=op.f("uq_counter_payments_order_id")),
    )
    op.create_table(
        "desk_refunds",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("request_key", sa.String(length=64), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("provider_ref", sa.String(length=80), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "due",
                "issued",
                name="desk_refund_status",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("refund_ref", sa.String(length=80), nullable=False),
        sa.Column("error", sa.String(length=300), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=False),
        sa.Column("created_at", inventory.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("issued_at", inventory.db.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_desk_refunds_amount_positive")),
        sa.ForeignKeyConstraint(
            ["order_id"], ["orders.id"], name=op.f("fk_desk_refunds_order_id_orders")
        ),
        sa.ForeignKeyConstraint(
            ["requested_by"], ["users.id"], name=op.f("fk_desk_refunds_requested_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_desk_refunds")),
        sa.UniqueConstraint(
            "order_id", "request_key", name=op.f("uq_desk_refunds_order_id_request_key")
        ),
    )
    op.create_index(op.f("ix_desk_refunds_order_id"), "desk_refunds", ["order_id"], unique=False)
    op.create_table(
        "purchase_orders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier", sa.String(length=120), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "draft",
                "sent",
                "received",
                "cancelled",
                name="purchase_status",
                native_enum=False,
                create_constraint=True,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("expected_on", sa.Date(), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=False),
        sa.Column("created_by", sa.Integer(), nullable=False),
        sa.Column("created_at", inventory.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", inventory.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("received_at", inventory.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"], ["users.id"], name=op.f("fk_purchase_orders_created_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_orders")),
    )
    op.create_table(
        "purchase_order_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=40), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price_fen", sa.Integer(), nullable=False),
        sa.Column("lot_code", sa.String(length=60), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_purchase_order_lines_quantity_positive")),
        sa.CheckConstraint(
            "unit_price_fen >= 0", name=op.f("ck_purchase_order_lines_price_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["order_id"],
            ["purchase_orders.id"],
            name=op.f("fk_purchase_order_lines_order_id_purchase_orders"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_order_lines")),
    )
    op.create_index(
        op.f("ix_purchase_order_lines_order_id"), "purchase_order_lines", ["order_id"], unique=False
    )
    op.create_table(
        "stock_receipts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("moisture_tenths", sa.Integer(), nullable=True),
        sa.Column("purchase_line_id", sa.Integer(), nullable=True),
        sa.Column("received_by", sa.Integer(), nullable=False),
        sa.Column("created_at", inventory.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["lot_id"], ["lots.id"], name=op.f("fk_stock_receipts_lot_id_lots")),
        sa.ForeignKeyConstraint(
            ["purchase_line_id"],
            ["purchase_order_lines.id"],
            name=op.f("fk_stock_receipts_purchase_line_id_purchase_order_lines"),
        ),
        sa.ForeignKeyConstraint(
            ["received_by"], ["users.id"], name=op.f("fk_stock_receipts_received_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_receipts")),
        sa.UniqueConstraint("lot_id", name=op.f("uq_stock_receipts_lot_id")),
    )
    op.create_table(
        "purchase_terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=40), nullable=False),
        sa.Column("lead_days", sa.Integer(), nullable=False),
        sa.Column("supplier", sa.String(length=120), nullable=False),
        sa.CheckConstraint("lead_days >= 0", name=op.f("ck_purchase_terms_lead_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_purchase_terms")),
        sa.UniqueConstraint("sku", name=op.f("uq_purchase_terms_sku")),
    )
    op.create_table(
        "catalogue_products",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("gift_box", sa.Boolean(), nullable=False),
        sa.Column("contents_zh", sa.String(length=300), nullable=False),
        sa.Column("contents_en", sa.String(length=300), nullable=False),
        sa.Column("channels", sa.String(length=60), nullable=False),
        sa.Column("image_file", sa.String(length=120), nullable=False),
        sa.Column("updated_at", inventory.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_catalogue_products_item_id_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_products")),
        sa.UniqueConstraint("item_id", name=op.f("uq_catalogue_products_item_id")),
    )
    op.create_table(
        "price_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=40), nullable=False),
        sa.Column("price_list", sa.String(length=20), nullable=False),
        sa.Column("distributor_id", sa.Integer(), nullable=True),
        sa.Column("old_fen", sa.Integer(), nullable=True),
        sa.Column("new_fen", sa.Integer(), nullable=False),
        sa.Column("changed_by", sa.Integer(), nullable=False),
        sa.Column("changed_at", inventory.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["changed_by"], ["users.id"], name=op.f("fk_price_changes_changed_by_users")
        ),
        sa.ForeignKeyConstraint(
            ["distributor_id"],
            ["distributors.id"],
            name=op.f("fk_price_changes_distributor_id_distributors"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_changes")),
    )
    op.create_index(op.f("ix_price_changes_sku"), "price_changes", ["sku"], unique=False)
    op.create_table(
        "distributor_terms",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("distributor_id", sa.Integer(), nullable=False),
        sa.Column("credit_limit_fen", sa.Integer(), nullable=False),
        sa.Column("payment_days", sa.Integer(), nullable=False),
        sa.Column("preference", sa.String(length=20), nullable=False),
        sa.Column("preferred_slot", sa.String(length=5), nullable=False),
        sa.Column("note", sa.String(length=300), nullable=False),
        sa.CheckConstraint(
            "credit_limit_fen >= 0", name=op.f("ck_distributor_terms_credit_not_negative")
        ),
        sa.CheckConstraint(
            "payment_days >= 0", name=op.f("ck_distributor_terms_payment_days_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["distributor_id"],
            ["distributors.id"],
            name=op.f("fk_distributor_terms_distributor_id_distributors"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_distributor_terms")),
        sa.UniqueConstraint("distributor_id", name=op.f("uq_distributor_terms_distributor_id")),
    )
    op.create_table(
        "distributor_payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("distributor_id", sa.Integer(), nullable=False),
        sa.Column("amount_fen", sa.Integer(), nullable=False),
        sa.Column("received_on", sa.Date(), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("reference", sa.String(length=80), nullable=False),
        sa.Column("recorded_by", sa.Integer(), nullable=False),
        sa.Column("created_at", inventory.db.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_distributor_payments_amount_positive")),
        sa.ForeignKeyConstraint(
            ["distributor_id"],
            ["distributors.id"],
            name=op.f("fk_distributor_payments_distributor_id_distributors"),
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by"], ["users.id"], name=op.f("fk_distributor_payments_recorded_by_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_distributor_payments")),
    )
    op.create_index(
        op.f("ix_distributor_payments_distributor_id"),
        "distributor_payments",
        ["distributor_id"],
        unique=False,
    )
    op.create_table(
        "portal_invitations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", inventory.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("used_at", inventory.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("created_at", inventory.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_portal_invitations_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_portal_invitations")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_portal_invitations_token_hash")),
    )
    op.create_index(
        op.f("ix_portal_invitations_user_id"), "portal_invitations", ["user_id"], unique=False
    )
    op.create_table(
        "plan_sales_by_channel",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("source", sa.String(length=10), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("updated_at", inventory.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["item_id"], ["items.id"], name=op.f("fk_plan_sales_by_channel_item_id_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_sales_by_channel")),
        sa.UniqueConstraint(
            "item_id",
            "day",
            "channel",
            "source",
            name=op.f("uq_plan_sales_by_channel_item_id_day_channel_source"),
        ),
    )
    op.create_index(
        op.f("ix_plan_sales_by_channel_day"), "plan_sales_by_channel", ["day"], unique=False
    )
    op.create_index(
        op.f("ix_plan_sales_by_channel_item_id"), "plan_sales_by_channel", ["item_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_plan_sales_by_channel_item_id"), table_name="plan_sales_by_channel")
    op.drop_index(op.f("ix_plan_sales_by_channel_day"), table_name="plan_sales_by_channel")
    op.drop_table("plan_sales_by_channel")
    op.drop_index(op.f("ix_portal_invitations_user_id"), table_name="portal_invitations")
    op.drop_table("portal_invitations")
    op.drop_index(
        op.f("ix_distributor_payments_distributor_id"), table_name="distributor_payments"
    )
    op.drop_table("distributor_payments")
    op.drop_table("distributor_terms")
    op.drop_index(op.f("ix_price_changes_sku"), table_name="price_changes")
    op.drop_table("price_changes")
    op.drop_table("catalogue_products")
    op.drop_table("purchase_terms")
    op.drop_table("stock_receipts")
    op.drop_index(op.f("ix_purchase_order_lines_order_id"), table_name="purchase_order_lines")
    op.drop_table("purchase_order_lines")
    op.drop_table("purchase_orders")
    op.drop_index(op.f("ix_desk_refunds_order_id"), table_name="desk_refunds")
    op.drop_table("desk_refunds")
    op.drop_table("counter_payments")
    _set_role_check(OLD_ROLES)
