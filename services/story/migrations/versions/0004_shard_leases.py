"""Leases on story shards, and appends fenced by them.

Revision ID: 0004
Revises: 0003

With `STORY_SHARDS` above one, several story-service instances share the stories: an instance
writes the stories of a shard while it holds the shard's PostgreSQL advisory lock on a session
of its own. `story_shard_leases` keeps one row per lease taken (shard, epoch): who took it,
where the other instances reach it, when; the newest epoch of a shard is its current lease.
An instance takes the lock, then a new epoch, under the events table's append lock (so every
append of the lease before it has committed).

`storywire_append_fenced(..., shard, epoch)` is `storywire_append` that first checks, under
the same append lock, that `epoch` is still the shard's newest: an instance that lost its lease
(its session ended while it was paused or cut off, and another took the shard) cannot write.
It raises SQLSTATE SW409 otherwise.
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

FENCED_APPEND = """
CREATE FUNCTION storywire_append_fenced(
    p_stream_id text, p_lowest integer, p_highest integer, p_events json,
    p_shard integer, p_epoch bigint)
RETURNS TABLE (known integer, version integer, "position" bigint, recorded_at timestamptz)
LANGUAGE plpgsql
SET plan_cache_mode = force_custom_plan
AS $$
BEGIN
    LOCK TABLE events IN EXCLUSIVE MODE;  -- what storywire_append takes: held to the commit
    IF (SELECT max(l.epoch) FROM story_shard_leases l WHERE l.shard = p_shard)
            IS DISTINCT FROM p_epoch THEN
        RAISE EXCEPTION 'lease % on story shard % is no longer current', p_epoch, p_shard
            USING ERRCODE = 'SW409';
    END IF;
    RETURN QUERY SELECT * FROM storywire_append(p_stream_id, p_lowest, p_highest, p_events);
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "story_shard_leases",
        sa.Column("shard", sa.Integer, primary_key=True),
        sa.Column("epoch", sa.BigInteger, primary_key=True),
        sa.Column("holder", sa.String(200), nullable=False),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("released_at", sa.DateTime(timezone=True), nullable=True),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute(FENCED_APPEND)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION storywire_append_fenced(text, integer, integer, json, "
                   "integer, bigint)")
    op.drop_table("story_shard_leases")
