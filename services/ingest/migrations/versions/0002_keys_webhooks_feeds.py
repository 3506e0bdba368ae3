"""API keys, webhook integrations and receipts, idempotency records, feeds.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingest_api_keys",
        sa.Column("id", sa.String(16), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True)),
    )
    op.create_table(
        "ingest_integrations",
        sa.Column("name", sa.String(100), primary_key=True),
        sa.Column("signing", sa.String(20), nullable=False),
        sa.Column("secret", sa.String(200), nullable=False),
        sa.Column("mapping", sa.JSON, nullable=False),
        sa.Column("outlet", sa.String(200)),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "ingest_webhook_receipts",
        sa.Column("integration", sa.String(100), primary_key=True),
        sa.Column("webhook_id", sa.String(200), primary_key=True),
        sa.Column("article_id", sa.String(36), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ingest_webhook_receipts_expires_at", "ingest_webhook_receipts",
                    ["expires_at"])
    op.create_table(
        "ingest_idempotency",
        sa.Column("principal", sa.String(40), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("response", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ingest_idempotency_created_at", "ingest_idempotency", ["created_at"])
    op.create_table(
        "ingest_feeds",
        sa.Column("id", sa.String(40), primary_key=True),
        sa.Column("url", sa.String(2000), nullable=False, unique=True),
        sa.Column("outlet", sa.String(200), nullable=False),
        sa.Column("interval_seconds", sa.Integer, nullable=False),
        sa.Column("etag", sa.String(500)),
        sa.Column("last_modified", sa.String(100)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.Column("last_error", sa.String(500)),
        sa.Column("last_polled_at", sa.DateTime(timezone=True)),
        sa.Column("last_success_at", sa.DateTime(timezone=True)),
        sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("articles", sa.Integer, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_ingest_feeds_next_poll_at", "ingest_feeds", ["next_poll_at"])
    op.create_table(
        "ingest_feed_entries",
        sa.Column("feed_id", sa.String(40), primary_key=True),
        sa.Column("entry_key", sa.String(2000), primary_key=True),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("article_id", sa.String(36), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    for table in ("ingest_feed_entries", "ingest_feeds", "ingest_idempotency",
                  "ingest_webhook_receipts", "ingest_integrations", "ingest_api_keys"):
        op.drop_table(table)
