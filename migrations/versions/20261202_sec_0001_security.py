"""security: session version, sign-in throttles, audit log (helper sec, issue 15)

Revision ID: 20261202_sec
Revises: 0001
Create Date: 2026-12-02 16:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import inventory.db

revision: str = "20261202_sec"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("session_version", sa.Integer(), nullable=False, server_default="0")
        )
    op.create_table(
        "security_throttles",
        sa.Column("key", sa.String(length=300), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("locks", sa.Integer(), nullable=False),
        sa.Column("last_failure_at", inventory.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("locked_until", inventory.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_security_throttles")),
    )
    op.create_table(
        "security_audit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", inventory.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(length=60), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("actor", sa.String(length=300), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("address", sa.String(length=64), nullable=False),
        sa.Column("details", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_security_audit_events")),
    )
    with op.batch_alter_table("security_audit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_security_audit_events_at"), ["at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_security_audit_events_action"), ["action"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("security_audit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_security_audit_events_action"))
        batch_op.drop_index(batch_op.f("ix_security_audit_events_at"))
    op.drop_table("security_audit_events")
    op.drop_table("security_throttles")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_version")
