"""ops: broker forwarding column on the outbox; index for inbox housekeeping

Revision ID: 20261202_ops
Revises: 0001
Create Date: 2026-12-02 16:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import inventory.db

revision: str = "20261202_ops"
down_revision: str | None = "20261202_sec"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing rows stay NULL: a deployment that turns the broker on forwards the events
    # still kept in the outbox (at most the retention period), oldest first.
    op.add_column(
        "outbox",
        sa.Column("forwarded_at", inventory.db.UTCDateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_outbox_unforwarded", "outbox", ["forwarded_at", "id"], unique=False)
    op.create_index(op.f("ix_inbox_applied_at"), "inbox", ["applied_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_inbox_applied_at"), table_name="inbox")
    op.drop_index("ix_outbox_unforwarded", table_name="outbox")
    with op.batch_alter_table("outbox") as batch:
        batch.drop_column("forwarded_at")
