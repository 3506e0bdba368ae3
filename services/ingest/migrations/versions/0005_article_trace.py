"""An article keeps the trace context it was accepted in, which its forward continues.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ingest_articles", sa.Column("traceparent", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("ingest_articles") as batch:
        batch.drop_column("traceparent")
