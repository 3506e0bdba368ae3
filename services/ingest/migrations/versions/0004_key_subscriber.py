"""API keys of scope `subscriptions` are bound to one notify subscriber.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("ingest_api_keys", sa.Column("subscriber_id", sa.String(40)))


def downgrade() -> None:
    with op.batch_alter_table("ingest_api_keys") as batch:
        batch.drop_column("subscriber_id")
