"""part delivery (issue 10 item 14, helper part): the buyer's "accept part delivery" setting on
distributors, customer accounts and orders; ordered quantities kept on reduced lines; refunds
the shop itself asks for (requested_by empty)

Revision ID: part_0001
Revises: m11_0001
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "part_0001"
down_revision: str | None = "plan11_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _setting() -> sa.Column[bool]:
    # Existing accounts and orders keep today's rule: whole orders only.
    return sa.Column(
        "accept_part_delivery", sa.Boolean(), nullable=False, server_default=sa.false()
    )


def upgrade() -> None:
    for table in ("distributors", "users", "orders"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(_setting())
    with op.batch_alter_table("order_lines") as batch:
        batch.add_column(sa.Column("ordered_quantity", sa.Integer(), nullable=True))
        batch.drop_constraint(op.f("ck_order_lines_quantity_positive"), type_="check")
        batch.create_check_constraint(op.f("ck_order_lines_quantity_not_negative"), "quantity >= 0")
        batch.create_check_constraint(
            op.f("ck_order_lines_ordered_more"),
            "ordered_quantity IS NULL OR ordered_quantity > quantity",
        )
    with op.batch_alter_table("booking_lines") as batch:
        batch.add_column(sa.Column("ordered_cases", sa.Integer(), nullable=True))
        batch.drop_constraint(op.f("ck_booking_lines_cases_positive"), type_="check")
        batch.create_check_constraint(op.f("ck_booking_lines_cases_not_negative"), "cases >= 0")
        batch.create_check_constraint(
            op.f("ck_booking_lines_ordered_more"),
            "ordered_cases IS NULL OR ordered_cases > cases",
        )
    with op.batch_alter_table("desk_refunds") as batch:
        batch.alter_column("requested_by", existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("desk_refunds") as batch:
        batch.alter_column("requested_by", existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table("booking_lines") as batch:
        batch.drop_constraint(op.f("ck_booking_lines_ordered_more"), type_="check")
        batch.drop_constraint(op.f("ck_booking_lines_cases_not_negative"), type_="check")
        batch.create_check_constraint(op.f("ck_booking_lines_cases_positive"), "cases > 0")
        batch.drop_column("ordered_cases")
    with op.batch_alter_table("order_lines") as batch:
        batch.drop_constraint(op.f("ck_order_lines_ordered_more"), type_="check")
        batch.drop_constraint(op.f("ck_order_lines_quantity_not_negative"), type_="check")
        batch.create_check_constraint(op.f("ck_order_lines_quantity_positive"), "quantity > 0")
        batch.drop_column("ordered_quantity")
    for table in ("orders", "users", "distributors"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("accept_part_delivery")
