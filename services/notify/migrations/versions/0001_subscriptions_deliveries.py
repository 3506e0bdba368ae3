"""Subscriptions, deliveries, attempts, feed checkpoint.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notify_subscriptions",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(20), nullable=False),
        sa.Column("target", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(100)),
        sa.Column("stories", sa.JSON, nullable=False),
        sa.Column("types", sa.JSON, nullable=False),
        sa.Column("outcomes", sa.JSON, nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("disabled_reason", sa.String(200)),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "notify_deliveries",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("subscription_id", sa.String(40), nullable=False),
        sa.Column("development_id", sa.String(64), nullable=False),
        sa.Column("event_position", sa.BigInteger, nullable=False),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", TZ, nullable=False),
        sa.Column("claimed_until", TZ),
        sa.Column("enqueued_at", TZ),
        sa.Column("last_status_code", sa.Integer),
        sa.Column("last_error", sa.String(500)),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("delivered_at", TZ),
        sa.UniqueConstraint("subscription_id", "development_id",
                            name="uq_notify_deliveries_subscription_development"),
    )
    op.create_index("ix_notify_deliveries_subscription_id", "notify_deliveries",
                    ["subscription_id"])
    op.create_index("ix_notify_deliveries_status", "notify_deliveries", ["status"])
    op.create_table(
        "notify_attempts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("delivery_id", sa.String(40), nullable=False),
        sa.Column("attempted_at", TZ, nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("error", sa.String(500)),
        sa.Column("response_excerpt", sa.Text),
        sa.Column("duration_ms", sa.Integer, nullable=False),
    )
    op.create_index("ix_notify_attempts_delivery_id", "notify_attempts", ["delivery_id"])
    op.create_table(
        "notify_checkpoints",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )


def downgrade() -> None:
    for table in ("notify_checkpoints", "notify_attempts", "notify_deliveries",
                  "notify_subscriptions"):
        op.drop_table(table)
