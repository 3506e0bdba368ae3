"""Subscribers, email and Slack channels, digests, secret rotation, Slack pacing.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "notify_subscribers",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    with op.batch_alter_table("notify_subscriptions") as batch:
        batch.add_column(sa.Column("subscriber_id", sa.String(40)))
        batch.add_column(sa.Column("previous_secret", sa.String(100)))
        batch.add_column(sa.Column("previous_secret_until", TZ))
        batch.add_column(sa.Column("rate", sa.String(10), nullable=False,
                                   server_default="realtime"))
        batch.add_column(sa.Column("digest_time", sa.String(5), nullable=False,
                                   server_default="08:00"))
        batch.add_column(sa.Column("digest_weekday", sa.Integer, nullable=False,
                                   server_default="0"))
        batch.add_column(sa.Column("failing_since", TZ))
        batch.create_index("ix_notify_subscriptions_subscriber_id", ["subscriber_id"])
    # Every existing subscription gets a subscriber of its own name as its owner.
    op.execute("INSERT INTO notify_subscribers (id, name, email, time_zone, created_at) "
               "SELECT 'sbr_' || substr(id, 5), name, NULL, 'UTC', created_at "
               "FROM notify_subscriptions")
    op.execute("UPDATE notify_subscriptions SET subscriber_id = 'sbr_' || substr(id, 5)")
    with op.batch_alter_table("notify_deliveries") as batch:
        batch.add_column(sa.Column("kind", sa.String(10), nullable=False,
                                   server_default="alert"))
    op.create_table(
        "notify_digest_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("subscription_id", sa.String(40), nullable=False),
        sa.Column("development_id", sa.String(64), nullable=False),
        sa.Column("event_position", sa.BigInteger, nullable=False),
        sa.Column("alert", sa.JSON, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("delivery_id", sa.String(40)),
        sa.UniqueConstraint("subscription_id", "development_id",
                            name="uq_notify_digest_items_subscription_development"),
    )
    op.create_index("ix_notify_digest_items_subscription_id", "notify_digest_items",
                    ["subscription_id"])
    op.create_index("ix_notify_digest_items_delivery_id", "notify_digest_items",
                    ["delivery_id"])
    op.create_table(
        "notify_hook_pacing",
        sa.Column("hook", sa.String(64), primary_key=True),
        sa.Column("next_send_at", TZ, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("notify_hook_pacing")
    op.drop_table("notify_digest_items")
    with op.batch_alter_table("notify_deliveries") as batch:
        batch.drop_column("kind")
    with op.batch_alter_table("notify_subscriptions") as batch:
        batch.drop_index("ix_notify_subscriptions_subscriber_id")
        for column in ("failing_since", "digest_weekday", "digest_time", "rate",
                       "previous_secret_until", "previous_secret", "subscriber_id"):
            batch.drop_column(column)
    op.drop_table("notify_subscribers")
