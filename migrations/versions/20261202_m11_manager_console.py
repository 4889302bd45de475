"""manager console (issue 11, helper m11): staff role, counter payments, desk refunds

Revision ID: m11_0001
Revises: 0001
Create Date: 2026-12-02 16:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import inventory.db

revision: str = "m11_0001"
down_revision: str | None = "0001"
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


def downgrade() -> None:
    op.drop_index(op.f("ix_desk_refunds_order_id"), table_name="desk_refunds")
    op.drop_table("desk_refunds")
    op.drop_table("counter_payments")
    _set_role_check(OLD_ROLES)
