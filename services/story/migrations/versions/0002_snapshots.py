"""Snapshots of story views.

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
        "story_snapshots",
        sa.Column("stream_id", sa.String(200), primary_key=True),
        sa.Column("version", sa.BigInteger, primary_key=True),
        sa.Column("data", sa.JSON(), nullable=False),  # json keeps key order; jsonb does not
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_events_stream_recorded", "events", ["stream_id", "recorded_at"])


def downgrade() -> None:
    op.drop_index("ix_events_stream_recorded", "events")
    op.drop_table("story_snapshots")
