"""Attempts are recorded as started before their send, completed after it, or interrupted.

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
    with op.batch_alter_table("notify_attempts") as batch:
        batch.add_column(sa.Column("state", sa.String(12), nullable=False,
                                   server_default="completed"))


def downgrade() -> None:
    with op.batch_alter_table("notify_attempts") as batch:
        batch.drop_column("state")
