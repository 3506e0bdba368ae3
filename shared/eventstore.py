"""The event store: append-only streams plus one gap-free global feed.

One code path for SQLite and PostgreSQL. Appends are serialized (an EXCLUSIVE table lock on
PostgreSQL, BEGIN IMMEDIATE on SQLite) and positions are assigned as max + 1 under that lock, so
positions commit in order and the global feed has no holes: a reader that has seen position N
has seen every event up to N. Readers are never blocked by the lock.
"""

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    Engine,
    Integer,
    String,
    Table,
    UniqueConstraint,
    and_,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.exc import IntegrityError
from sqlmodel import SQLModel

from shared.db import UTCDateTime

JSONType = JSON().with_variant(JSONB(), "postgresql")

events_table = Table(
    "events",
    SQLModel.metadata,
    Column("position", BigInteger().with_variant(Integer(), "sqlite"), primary_key=True,
           autoincrement=False),
    Column("stream_id", String(200), nullable=False),
    Column("version", Integer, nullable=False),
    Column("event_id", String(36), nullable=False, unique=True),
    Column("type", String(100), nullable=False),
    Column("schema_version", Integer, nullable=False, default=1),
    Column("data", JSONType, nullable=False),
    Column("metadata", JSONType, nullable=False),
    Column("recorded_at", UTCDateTime, nullable=False),
    UniqueConstraint("stream_id", "version", name="uq_events_stream_version"),
)


def checkpoint_table(name: str) -> Table:
    """A consumer checkpoint table; each service keeps its own, beside its own effects."""
    return Table(
        name,
        SQLModel.metadata,
        Column("consumer", String(100), primary_key=True),
        Column("position", BigInteger, nullable=False),
        Column("updated_at", UTCDateTime, nullable=False),
        extend_existing=True,
    )


ANY = "any"
NO_STREAM = "no_stream"
STREAM_EXISTS = "exists"
ExpectedVersion = int | str


class ConcurrencyError(Exception):
    """The stream is not at the version the writer expected (HTTP 409 at the edges)."""

    def __init__(self, stream_id: str, expected: ExpectedVersion, actual: int):
        super().__init__(f"stream {stream_id!r} is at version {actual}, expected {expected}")
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class DuplicateEventError(Exception):
    """Some, but not all, of the event ids of an append were already recorded."""


@dataclass(frozen=True)
class NewEvent:
    type: str
    data: dict[str, Any]
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    metadata: dict[str, Any] = field(default_factory=dict)
    schema_version: int = 1


@dataclass(frozen=True)
class RecordedEvent:
    position: int
    stream_id: str
    version: int
    event_id: str
    type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "position": self.position,
            "stream_id": self.stream_id,
            "version": self.version,
            "event_id": self.event_id,
            "type": self.type,
            "schema_version": self.schema_version,
            "data": self.data,
            "metadata": self.metadata,
            "recorded_at": self.recorded_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "RecordedEvent":
        return cls(**{**d, "recorded_at": datetime.fromisoformat(d["recorded_at"])})


def check_expected_version(stream_id: str, expected: ExpectedVersion, actual: int) -> None:
    """Pure check of the four append modes; raises ConcurrencyError on a mismatch."""
    if expected == ANY:
        return
    if expected == NO_STREAM:
        ok = actual == 0
    elif expected == STREAM_EXISTS:
        ok = actual > 0
    elif isinstance(expected, int) and not isinstance(expected, bool):
        ok = actual == expected
    else:
        raise ValueError(f"unknown expected version {expected!r}")
    if not ok:
        raise ConcurrencyError(stream_id, expected, actual)


def deterministic_id(*parts: str) -> str:
    """A stable event id from its meaning, so that a retried append is recognised."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "storywire:" + "/".join(parts)))


def _row_to_event(row) -> RecordedEvent:
    return RecordedEvent(
        position=row.position,
        stream_id=row.stream_id,
        version=row.version,
        event_id=row.event_id,
        type=row.type,
        schema_version=row.schema_version,
        data=row.data,
        metadata=row.metadata,
        recorded_at=row.recorded_at,
    )


class EventStore:
    def __init__(self, engine: Engine):
        self.engine = engine

    # -- writing -------------------------------------------------------------------------------

    def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: ExpectedVersion = ANY,
        *,
        conn: Connection | None = None,
    ) -> list[RecordedEvent]:
        """Append events to a stream; returns them as recorded.

        Re-appending event ids that are all recorded already writes nothing and returns the
        original records, so a retried request is safe.
        """
        if not events:
            raise ValueError("append needs at least one event")
        if conn is not None:
            return self._append(conn, stream_id, events, expected_version)
        try:
            # Optimistic: new ids are the rule, so their check is left to the unique index.
            with self.engine.begin() as own:
                return self._append(own, stream_id, events, expected_version, check_ids=False)
        except (IntegrityError, ConcurrencyError):
            # Perhaps a retry of a recorded append: return its events, or say what conflicts.
            with self.engine.begin() as own:
                return self._append(own, stream_id, events, expected_version)

    def _append(self, conn, stream_id, events, expected_version,
                check_ids: bool = True) -> list[RecordedEvent]:
        ids = [e.event_id for e in events]
        # Recognise a retry before taking the lock, so the lock covers as little as possible.
        existing = self._events_by_id(conn, ids) if check_ids else []
        if existing:
            if len(existing) == len(ids) and all(e.stream_id == stream_id for e in existing):
                return sorted(existing, key=lambda e: e.position)
            raise DuplicateEventError(f"{len(existing)} of {len(ids)} event ids already recorded")
        self._lock_for_append(conn)
        current, head = conn.execute(
            select(
                select(func.coalesce(func.max(events_table.c.version), 0))
                .where(events_table.c.stream_id == stream_id).scalar_subquery(),
                select(func.coalesce(func.max(events_table.c.position), 0)).scalar_subquery(),
            )
        ).one()
        check_expected_version(stream_id, expected_version, current)
        positions = self._assign_positions(conn, head, len(events))
        now = datetime.now(UTC)
        recorded = [
            RecordedEvent(position=position, stream_id=stream_id, version=current + i + 1,
                          event_id=e.event_id, type=e.type, schema_version=e.schema_version,
                          data=e.data, metadata=e.metadata, recorded_at=now)
            for i, (e, position) in enumerate(zip(events, positions, strict=True))
        ]
        conn.execute(insert(events_table), [vars(r) for r in recorded])
        return recorded

    def _lock_for_append(self, conn: Connection) -> None:
        """Serialize appenders; SQLite already did at BEGIN IMMEDIATE (see shared.db)."""
        if conn.dialect.name == "postgresql":
            # EXCLUSIVE conflicts with other writers' ROW EXCLUSIVE, not with readers.
            conn.execute(text("LOCK TABLE events IN EXCLUSIVE MODE"))

    def _assign_positions(self, conn: Connection, head: int, count: int) -> Sequence[int]:
        """Positions after the head, safe because the lock is held until commit: no gaps and
        no reordering."""
        return range(head + 1, head + 1 + count)

    # -- reading -------------------------------------------------------------------------------

    def _events_by_id(self, conn, ids: Iterable[str]) -> list[RecordedEvent]:
        rows = conn.execute(select(events_table).where(events_table.c.event_id.in_(list(ids))))
        return [_row_to_event(r) for r in rows]

    def get_event(self, event_id: str) -> RecordedEvent | None:
        with self.engine.connect() as conn:
            found = self._events_by_id(conn, [event_id])
        return found[0] if found else None

    def stream_version(self, stream_id: str, *, conn: Connection | None = None) -> int:
        query = select(func.coalesce(func.max(events_table.c.version), 0)).where(
            events_table.c.stream_id == stream_id
        )
        if conn is not None:
            return conn.execute(query).scalar_one()
        with self.engine.connect() as own:
            return own.execute(query).scalar_one()

    def read_stream(
        self, stream_id: str, from_version: int = 1, limit: int | None = None
    ) -> list[RecordedEvent]:
        query = (
            select(events_table)
            .where(events_table.c.stream_id == stream_id, events_table.c.version >= from_version)
            .order_by(events_table.c.version)
        )
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [_row_to_event(r) for r in conn.execute(query)]

    def read_streams(self, after: dict[str, int]) -> dict[str, list[RecordedEvent]]:
        """The events of several streams, each after a version, in version order: one query
        for every hundred streams."""
        found: dict[str, list[RecordedEvent]] = {stream: [] for stream in after}
        pending = list(after.items())
        if not pending:
            return found
        with self.engine.connect() as conn:
            for start in range(0, len(pending), 100):
                query = select(events_table).where(or_(*(
                    and_(events_table.c.stream_id == stream, events_table.c.version > version)
                    for stream, version in pending[start:start + 100]))
                ).order_by(events_table.c.stream_id, events_table.c.version)
                for row in conn.execute(query):
                    found[row.stream_id].append(_row_to_event(row))
        return found

    def version_at(self, stream_id: str, when: datetime) -> int:
        """The stream's version as it stood at `when` (0 before its first event)."""
        query = select(func.coalesce(func.max(events_table.c.version), 0)).where(
            events_table.c.stream_id == stream_id, events_table.c.recorded_at <= when)
        with self.engine.connect() as conn:
            return conn.execute(query).scalar_one()

    def read_all(
        self, after: int = 0, limit: int = 100, *, stream_prefix: str | None = None
    ) -> list[RecordedEvent]:
        """The global feed: events with position > after, in position order."""
        query = select(events_table).where(events_table.c.position > after)
        if stream_prefix:
            query = query.where(events_table.c.stream_id.startswith(stream_prefix))
        query = query.order_by(events_table.c.position).limit(limit)
        with self.engine.connect() as conn:
            return [_row_to_event(r) for r in conn.execute(query)]

    def head_position(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(
                select(func.coalesce(func.max(events_table.c.position), 0))
            ).scalar_one()

    def stream_ids(self, prefix: str) -> list[str]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(events_table.c.stream_id)
                .where(events_table.c.stream_id.startswith(prefix), events_table.c.version == 1)
                .order_by(events_table.c.position)
            )
            return [r.stream_id for r in rows]


class Checkpoints:
    """Where a consumer has got to in the global feed, stored beside its own effects."""

    def __init__(self, table: Table):
        self.table = table

    def get(self, conn: Connection, consumer: str) -> int:
        position = conn.execute(
            select(self.table.c.position).where(self.table.c.consumer == consumer)
        ).scalar_one_or_none()
        return position or 0

    def advance(self, conn: Connection, consumer: str, position: int) -> None:
        """Move the checkpoint, in the caller's transaction (the one writing the effects)."""
        now = datetime.now(UTC)
        updated = conn.execute(
            update(self.table).where(self.table.c.consumer == consumer)
            .values(position=position, updated_at=now)
        )
        if updated.rowcount == 0:
            conn.execute(
                insert(self.table).values(consumer=consumer, position=position, updated_at=now)
            )
