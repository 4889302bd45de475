"""season reminders and waitlist channel (issue 14, helper lunar): who opted in to the
"order before 小年" reminders, each reminder due, and the mail/SMS choice of a waitlist entry

Revision ID: lunar_0001
Revises: m11_0001
Create Date: 2026-12-03 10:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import inventory.db

revision: str = "lunar_0001"
down_revision: str | None = "m11_0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Existing entries were told by mail: that is what they keep.
    op.add_column(
        "customer_waitlist",
        sa.Column("notify_channel", sa.String(length=8), nullable=False, server_default="mail"),
    )
    op.create_table(
        "reminder_subscriptions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscriber", sa.String(length=60), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("mobile", sa.String(length=32), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("language", sa.String(length=2), nullable=False),
        sa.Column("opted_in", sa.Boolean(), nullable=False),
        sa.Column("token", sa.String(length=64), nullable=False),
        sa.Column("created_at", inventory.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", inventory.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_reminder_subscriptions_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reminder_subscriptions")),
        sa.UniqueConstraint("subscriber", name=op.f("uq_reminder_subscriptions_subscriber")),
    )
    op.create_table(
        "season_reminders",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("subscription_id", sa.Integer(), nullable=False),
        sa.Column("season_year", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("target_day", sa.Date(), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("created_at", inventory.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", inventory.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("skipped", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["subscription_id"],
            ["reminder_subscriptions.id"],
            name=op.f("fk_season_reminders_subscription_id_reminder_subscriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_season_reminders")),
        sa.UniqueConstraint(
            "subscription_id",
            "season_year",
            "kind",
            name=op.f("uq_season_reminders_subscription_id_season_year_kind"),
        ),
    )


def downgrade() -> None:
    op.drop_table("season_reminders")
    op.drop_table("reminder_subscriptions")
    with op.batch_alter_table("customer_waitlist") as batch:
        batch.drop_column("notify_channel")
