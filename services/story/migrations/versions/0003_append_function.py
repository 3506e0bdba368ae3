"""Appends in one statement on PostgreSQL, and events' JSON kept as written.

Revision ID: 0003
Revises: 0002

`SELECT * FROM storywire_append(stream_id, lowest, highest, events)` does on the server what an
append did in four round trips: it takes the EXCLUSIVE lock that serializes appenders, looks
for the event ids, reads the stream's version and the feed's head, and inserts the events after
them if none of the ids is recorded and the version lies in [lowest, highest].
`events` is a JSON array of {"event_id", "type", "schema_version", "data", "metadata"}. It
answers one row: `known`, how many of the ids are recorded already (nothing is written then);
`version`, the stream's version before the append; `position`, the first position written and
`recorded_at` (both NULL when nothing was written). Run outside a
transaction the statement is its own transaction, so the lock is held from the LOCK to the
commit: positions commit in order and the feed has no gaps. SQLite runs the same steps in
Python (BEGIN IMMEDIATE serializes its writers).

`data` and `metadata` become `json` on PostgreSQL: the store never looks inside them, and `jsonb`
parsed them on every write, printed them again on every read and reordered their keys (SQLite
and the snapshots keep them as written).
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

APPEND_FUNCTION = """
CREATE FUNCTION storywire_append(
    p_stream_id text, p_lowest integer, p_highest integer, p_events json)
RETURNS TABLE (known integer, version integer, "position" bigint, recorded_at timestamptz)
LANGUAGE plpgsql
-- Each statement is planned for the table as it is now: a plan cached while the table was
-- small would go on scanning all of it as it grows. Hence only two statements to plan.
SET plan_cache_mode = force_custom_plan
AS $$
DECLARE
    v_head bigint;
BEGIN
    -- EXCLUSIVE conflicts with other writers' ROW EXCLUSIVE, not with readers.
    LOCK TABLE events IN EXCLUSIVE MODE;
    -- The ids already recorded, the stream's last version and the feed's last position (both
    -- from the end of their index), as committed before this append.
    SELECT (SELECT count(*) FROM events e WHERE e.event_id = ANY(ARRAY(
                SELECT x.event_id FROM json_to_recordset(p_events) AS x(event_id text)))),
           coalesce((SELECT e.version FROM events e WHERE e.stream_id = p_stream_id
                     ORDER BY e.version DESC LIMIT 1), 0),
           coalesce((SELECT e.position FROM events e ORDER BY e.position DESC LIMIT 1), 0)
    INTO known, version, v_head;
    IF known > 0 OR version < p_lowest OR version > p_highest THEN
        RETURN NEXT;  -- nothing written: "position" and recorded_at are NULL
        RETURN;
    END IF;
    recorded_at := clock_timestamp();
    INSERT INTO events AS e (position, stream_id, version, event_id, type, schema_version,
                             data, metadata, recorded_at)
    SELECT v_head + x.n, p_stream_id, storywire_append.version + x.n, x.event_id, x.type,
           x.schema_version, x.data, x.metadata, storywire_append.recorded_at
    FROM ROWS FROM (json_to_recordset(p_events) AS (event_id text, type text,
             schema_version integer, data json, metadata json))
         WITH ORDINALITY AS x(event_id, type, schema_version, data, metadata, n);
    "position" := v_head + 1;
    RETURN NEXT;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("ALTER TABLE events ALTER COLUMN data TYPE json USING data::json, "
               "ALTER COLUMN metadata TYPE json USING metadata::json")
    op.execute(APPEND_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION storywire_append(text, integer, integer, json)")
    op.execute("ALTER TABLE events ALTER COLUMN data TYPE jsonb USING data::jsonb, "
               "ALTER COLUMN metadata TYPE jsonb USING metadata::jsonb")
