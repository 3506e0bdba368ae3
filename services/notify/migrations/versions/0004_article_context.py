"""A delivery keeps, from its article, when ingest accepted it (the start of the alert latency)
and the trace it is followed in (which the delivery task continues).

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
    with op.batch_alter_table("notify_deliveries") as batch:
        batch.add_column(sa.Column("article_accepted_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("traceparent", sa.String(64)))


def downgrade() -> None:
    with op.batch_alter_table("notify_deliveries") as batch:
        batch.drop_column("traceparent")
        batch.drop_column("article_accepted_at")
