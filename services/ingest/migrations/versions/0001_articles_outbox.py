"""Ingest articles and outbox.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ingest_articles",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("outlet", sa.String(200), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("title", sa.String(500), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("revision_of", sa.String(36)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("stories", sa.JSON, nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("forwarded_at", sa.DateTime(timezone=True)),
        sa.UniqueConstraint("url", "content_hash", name="uq_ingest_articles_url_hash"),
    )
    op.create_index("ix_ingest_articles_url", "ingest_articles", ["url"])
    op.create_table(
        "ingest_outbox",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("article_id", sa.String(36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.String(500)),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
    )
    op.create_index("ix_ingest_outbox_article_id", "ingest_outbox", ["article_id"])
    op.create_index("ix_ingest_outbox_sent_at", "ingest_outbox", ["sent_at"])


def downgrade() -> None:
    op.drop_table("ingest_outbox")
    op.drop_table("ingest_articles")
