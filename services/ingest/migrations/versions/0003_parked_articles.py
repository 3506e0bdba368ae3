"""Outbox rows the story service keeps refusing are parked: their refusals and when.

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ingest_outbox", sa.Column("refusals", sa.Integer, nullable=False,
                                             server_default="0"))
    op.add_column("ingest_outbox", sa.Column("parked_at", sa.DateTime(timezone=True)))


def downgrade() -> None:
    with op.batch_alter_table("ingest_outbox") as batch:
        batch.drop_column("parked_at")
        batch.drop_column("refusals")
