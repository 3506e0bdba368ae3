"""Event store tables and the first tracked story.

Revision ID: 0001
Revises:
"""

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSONType = sa.JSON().with_variant(JSONB(), "postgresql")

GUZMAN = {
    "slug": "guzman-detention-conditions",
    "title": "Guzman detention conditions",
    "description": (
        "The 2017 court fight over Joaquin \"El Chapo\" Guzman's solitary confinement and "
        "restrictions in a Manhattan federal jail while he awaits trial in Brooklyn."
    ),
    "entities": [
        "Joaquin Guzman",
        "El Chapo",
        "Guzman Loera",
        "Brian Cogan",
        "Metropolitan Correctional Center",
        "Amnesty International",
    ],
    "keywords": [
        "solitary confinement",
        "jail",
        "detention",
        "conditions",
        "restrictions",
        "general population",
        "visit",
        "defense",
    ],
    "status": "active",
}


def upgrade() -> None:
    events = op.create_table(
        "events",
        sa.Column("position", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=False),
        sa.Column("stream_id", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("event_id", sa.String(36), nullable=False),
        sa.Column("type", sa.String(100), nullable=False),
        sa.Column("schema_version", sa.Integer, nullable=False),
        sa.Column("data", JSONType, nullable=False),
        sa.Column("metadata", JSONType, nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("stream_id", "version", name="uq_events_stream_version"),
        sa.UniqueConstraint("event_id", name="uq_events_event_id"),
    )
    op.create_table(
        "story_checkpoints",
        sa.Column("consumer", sa.String(100), primary_key=True),
        sa.Column("position", sa.BigInteger, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.bulk_insert(
        events,
        [
            {
                "position": 1,
                "stream_id": f"story:{GUZMAN['slug']}",
                "version": 1,
                "event_id": str(uuid.uuid5(uuid.NAMESPACE_URL, "storywire:story/guzman/defined")),
                "type": "StoryDefined",
                "schema_version": 1,
                "data": GUZMAN,
                "metadata": {"cause": "migration 0001"},
                "recorded_at": datetime(2017, 4, 1, tzinfo=UTC),
            }
        ],
    )


def downgrade() -> None:
    op.drop_table("story_checkpoints")
    op.drop_table("events")
