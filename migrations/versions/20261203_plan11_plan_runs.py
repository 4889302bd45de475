"""plan runs: plans made in the background with their progress (issue 10 item 13, helper plan11)

Revision ID: plan11_0001
Revises: m11_0001
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import inventory.db

revision: str = "plan11_0001"
down_revision: str | None = "lunar_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "status",
            sa.Enum(
                "queued",
                "running",
                "done",
                "failed",
                name="plan_run_status",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column("active_key", sa.String(length=40), nullable=True),
        sa.Column("start", sa.Date(), nullable=False),
        sa.Column("end", sa.Date(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=False),
        sa.Column("requested_by", sa.Integer(), nullable=True),
        sa.Column("stage", sa.String(length=40), nullable=False),
        sa.Column("fraction", sa.Float(), nullable=False),
        sa.Column("profile_index", sa.Integer(), nullable=False),
        sa.Column("profile_count", sa.Integer(), nullable=False),
        sa.Column("gap", sa.Float(), nullable=True),
        sa.Column("best_value", sa.Float(), nullable=True),
        sa.Column("created_at", inventory.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", inventory.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("heartbeat_at", inventory.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", inventory.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("worker", sa.String(length=80), nullable=False),
        sa.Column("plan_ids", sa.JSON(), nullable=False),
        sa.Column("error_key", sa.String(length=80), nullable=True),
        sa.Column("error_params", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_runs")),
        # The guard: one queued or running run per date range (NULL once it is finished).
        sa.UniqueConstraint("active_key", name=op.f("uq_plan_runs_active_key")),
    )


def downgrade() -> None:
    op.drop_table("plan_runs")
