"""c14 (issue 14, Spring Festival customers): pickup point opening hours

Revision ID: c14_0001
Revises: 0001
Create Date: 2026-12-02 16:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

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


def downgrade() -> None:
    with op.batch_alter_table("pickup_points") as batch:
        batch.drop_column("hours_en")
        batch.drop_column("hours_zh")
