"""The event store: append-only streams plus one gap-free global feed.

Appends are serialized and positions are assigned as max + 1 under the lock, so positions commit
in order and the global feed has no holes: a reader that has seen position N has seen every
event up to N. Readers are never blocked by the lock.

An append is one statement on PostgreSQL: the function `storywire_append` (story migration
0003) takes an EXCLUSIVE table lock, looks for the event ids, checks the expected version and
inserts, all on the server; run outside a transaction, that statement is the transaction, so the
lock is held from the LOCK to the commit. On SQLite the same steps run in Python inside
BEGIN IMMEDIATE, which serializes writers already. Reads return light records: one tuple per
event, its JSON decoded by orjson.
"""

import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple, TypeVar

import orjson
from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    Connection,
    DateTime,
    Engine,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    and_,
    bindparam,
    cast,
    create_engine,
    func,
    insert,
    or_,
    select,
    text,
    type_coerce,
    update,
)
from sqlalchemy.exc import DBAPIError
from sqlmodel import SQLModel

from shared.db import UTCDateTime

T = TypeVar("T")

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
    Column("data", JSON, nullable=False),       # json, kept as written (story migration 0003)
    Column("metadata", JSON, nullable=False),
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

# The highest version and position there can be (4- and 8-byte integer columns).
MAX_VERSION = 2**31 - 1
MAX_POSITION = 2**63 - 1


class ConcurrencyError(Exception):
    """The stream is not at the version the writer expected (HTTP 409 at the edges)."""

    def __init__(self, stream_id: str, expected: ExpectedVersion, actual: int):
        super().__init__(f"stream {stream_id!r} is at version {actual}, expected {expected}")
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual


class DuplicateEventError(Exception):
    """Some, but not all, of the event ids of an append were already recorded."""


class FencedOut(Exception):
    """A fenced append was refused: its lease (shard, epoch) is no longer the shard's newest
    (another instance took the shard). Nothing was written."""


# the SQLSTATE storywire_append_fenced raises when the lease is not current
FENCED_OUT = "SW409"


@dataclass(frozen=True)
class NewEvent:
    type: str
    data: dict[str, Any]
    event_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    metadata: dict[str, Any] = field(default_factory=dict)
    schema_version: int = 1


class RecordedEvent(NamedTuple):
    """An event as recorded: a light immutable record (a tuple), cheap to build per row."""

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


def expected_range(expected: ExpectedVersion) -> tuple[int, int]:
    """The stream versions an append may find, per mode: any, no_stream, exists or exact."""
    if expected == ANY:
        return 0, MAX_VERSION
    if expected == NO_STREAM:
        return 0, 0
    if expected == STREAM_EXISTS:
        return 1, MAX_VERSION
    if isinstance(expected, int) and not isinstance(expected, bool):
        return expected, expected
    raise ValueError(f"unknown expected version {expected!r}")


def check_expected_version(stream_id: str, expected: ExpectedVersion, actual: int) -> None:
    """Pure check of the four append modes; raises ConcurrencyError on a mismatch."""
    lowest, highest = expected_range(expected)
    if not lowest <= actual <= highest:
        raise ConcurrencyError(stream_id, expected, actual)


def deterministic_id(*parts: str) -> str:
    """A stable event id from its meaning, so that a retried append is recognised."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, "storywire:" + "/".join(parts)))


# What every read selects: the JSON columns as text, for orjson to decode.
_RECORD_COLUMNS = (
    events_table.c.position, events_table.c.stream_id, events_table.c.version,
    events_table.c.event_id, events_table.c.type, events_table.c.schema_version,
    cast(events_table.c.data, Text), cast(events_table.c.metadata, Text),
    type_coerce(events_table.c.recorded_at, DateTime(timezone=True)),
)
_loads = orjson.loads
_tuple_new = tuple.__new__


# Upcasters: how a stored event of a type at a schema version reads at the next version.
Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
_upcasters: dict[tuple[str, int], Upcaster] = {}


def register_upcaster(type_: str, schema_version: int, upcast: Upcaster) -> None:
    """Read stored `type_` events of `schema_version` as `schema_version + 1`: `upcast` takes
    their data and returns it as the next version has it (it must not change its argument).
    Chains: an event is upcast until no upcaster takes its version."""
    _upcasters[(type_, schema_version)] = upcast


def upcast(event: RecordedEvent) -> RecordedEvent:
    """The event as the newest registered schema of its type reads it."""
    while (step := _upcasters.get((event.type, event.schema_version))) is not None:
        event = event._replace(data=step(event.data), schema_version=event.schema_version + 1)
    return event


def _upcast_all(events: list[RecordedEvent]) -> list[RecordedEvent]:
    return [upcast(e) if (e[4], e[5]) in _upcasters else e for e in events]


def _record(row) -> RecordedEvent:
    """A row of _RECORD_COLUMNS as a RecordedEvent (recorded_at in UTC, as UTCDateTime
    reads it, without a call through the type per row), upcast to the newest schema."""
    at = row[8]
    event = _tuple_new(RecordedEvent, (
        row[0], row[1], row[2], row[3], row[4], row[5], _loads(row[6]), _loads(row[7]),
        at.astimezone(UTC) if at.tzinfo else at.replace(tzinfo=UTC)))
    return upcast(event) if (row[4], row[5]) in _upcasters else event


_events = events_table.c
# The two reads that carry most events, written once with named parameters: the feed (whose
# positions have no gaps, so a page lies within (after, after + limit]; said outright, the
# planner reads just those rows by the primary key whatever its statistics say) and a stream
# from a version.
_limit = bindparam("limit", type_=BigInteger)
_FEED_PAGE = (
    select(*_RECORD_COLUMNS)
    .where(_events.position > bindparam("after", type_=BigInteger),
           _events.position <= bindparam("last", type_=BigInteger))
    .order_by(_events.position).limit(_limit)
)
_STREAM_PAGE = (
    select(*_RECORD_COLUMNS)
    .where(_events.stream_id == bindparam("stream_id", type_=String),
           _events.version >= bindparam("from_version", type_=Integer))
    .order_by(_events.version).limit(_limit)
)


def events_json(events: Sequence[NewEvent]) -> str:
    """The events of an append as the JSON array `storywire_append` takes."""
    return orjson.dumps([
        {"event_id": e.event_id, "type": e.type, "schema_version": e.schema_version,
         "data": e.data, "metadata": e.metadata} for e in events
    ]).decode()


class Written(NamedTuple):
    """What an append's write found and did (as `storywire_append` answers it)."""

    known: int                          # event ids already recorded (then nothing is written)
    version: int | None                 # the stream's version before the append
    positions: Sequence[int] | None     # positions written; None when the version was refused
    recorded_at: datetime | None


_APPEND = text(
    "SELECT known, version, position, recorded_at "
    "FROM storywire_append(:stream_id, :lowest, :highest, CAST(:events AS json))"
)
_APPEND_FENCED = text(
    "SELECT known, version, position, recorded_at "
    "FROM storywire_append_fenced(:stream_id, :lowest, :highest, CAST(:events AS json), "
    ":shard, :epoch)"
)


class EventStore:
    def __init__(self, engine: Engine):
        self.engine = engine
        self.postgres = engine.dialect.name == "postgresql"
        # On PostgreSQL appends and reads are single statements, run on connections of the
        # store's own: outside a transaction (the statement commits by itself) and not pinged
        # before each use, so that each costs one round trip. A statement that finds its
        # connection broken (the server restarted) runs once more on a fresh one: appends are
        # idempotent by event id, reads change nothing. Their sessions are in UTC, so that
        # psycopg reads recorded_at in UTC already.
        self._direct = create_engine(
            engine.url, isolation_level="AUTOCOMMIT", pool_size=5, max_overflow=20,
            hide_parameters=True, connect_args={"options": "-c timezone=UTC"},
        ) if self.postgres else None
        # The hot reads as SQL for the driver itself (psycopg: binary rows, prepared).
        self._driver_sql = {query: str(query.compile(dialect=engine.dialect))
                            for query in (_FEED_PAGE, _STREAM_PAGE)} if self.postgres else {}

    # -- writing -------------------------------------------------------------------------------

    def append(
        self,
        stream_id: str,
        events: Sequence[NewEvent],
        expected_version: ExpectedVersion = ANY,
        *,
        conn: Connection | None = None,
        fence: tuple[int, int] | None = None,
    ) -> list[RecordedEvent]:
        """Append events to a stream; returns them as recorded.

        Re-appending event ids that are all recorded already writes nothing and returns the
        original records, so a retried request is safe. With a `fence` (shard, epoch), on
        PostgreSQL, the append happens only while that lease is the shard's newest
        (`storywire_append_fenced`), else FencedOut.
        """
        if not events:
            raise ValueError("append needs at least one event")
        lowest, highest = expected_range(expected_version)
        if conn is not None:
            return self._append(conn, stream_id, events, expected_version, lowest, highest,
                                fence)
        for attempt in (1, 2):
            try:
                with self._writing() as own:
                    return self._append(own, stream_id, events, expected_version, lowest,
                                        highest, fence)
            except DBAPIError as error:
                if getattr(error.orig, "sqlstate", None) == FENCED_OUT:
                    raise FencedOut(str(error.orig).splitlines()[0]) from None
                # Once more on a fresh connection if this one was broken (the ids make it safe).
                if attempt == 2 or not error.connection_invalidated:
                    raise
        raise AssertionError("unreachable")

    def _writing(self):
        """A connection whose statements commit as they go on PostgreSQL (the append is one
        statement), a write transaction on SQLite (BEGIN IMMEDIATE, see shared.db)."""
        return self._direct.connect() if self.postgres else self.engine.begin()

    def _append(self, conn, stream_id, events, expected_version, lowest, highest, fence=None
                ) -> list[RecordedEvent]:
        written = self._write(conn, stream_id, lowest, highest, events) if fence is None \
            else self._write(conn, stream_id, lowest, highest, events, fence)
        if written.known:
            return self._recorded_already(conn, stream_id, [e.event_id for e in events])
        if written.positions is None:
            raise ConcurrencyError(stream_id, expected_version, written.version)
        current, at = written.version, written.recorded_at
        return [
            RecordedEvent(position=position, stream_id=stream_id, version=current + i + 1,
                          event_id=e.event_id, type=e.type, schema_version=e.schema_version,
                          data=e.data, metadata=e.metadata, recorded_at=at)
            for i, (e, position) in enumerate(zip(events, written.positions, strict=True))
        ]

    def _recorded_already(self, conn, stream_id: str, ids: list[str]) -> list[RecordedEvent]:
        """The answer to an append whose ids are recorded: the original events if it is a
        retry of one append to this stream, else a DuplicateEventError."""
        existing = self._events_by_id(conn, ids)
        if len(existing) == len(ids) and all(e.stream_id == stream_id for e in existing):
            return sorted(existing, key=lambda e: e.position)
        raise DuplicateEventError(f"{len(existing)} of {len(ids)} event ids already recorded")

    def _write(self, conn, stream_id, lowest, highest, events, fence=None) -> Written:
        if conn.dialect.name == "postgresql":
            return self._write_in_one_statement(conn, stream_id, lowest, highest, events, fence)
        if fence is not None:
            raise ValueError("fenced appends need PostgreSQL (its advisory-lock leases)")
        return self._write_in_steps(conn, stream_id, lowest, highest, events)

    def _write_in_one_statement(self, conn, stream_id, lowest, highest, events, fence=None
                                ) -> Written:
        params = {"stream_id": stream_id, "lowest": lowest, "highest": highest,
                  "events": events_json(events)}
        if fence is None:
            known, version, first, at = conn.execute(_APPEND, params).one()
        else:
            known, version, first, at = conn.execute(
                _APPEND_FENCED, {**params, "shard": fence[0], "epoch": fence[1]}).one()
        positions = range(first, first + len(events)) if first is not None else None
        return Written(known, version, positions, at and at.astimezone(UTC))

    def _write_in_steps(self, conn, stream_id, lowest, highest, events) -> Written:
        """What `storywire_append` does, statement by statement (SQLite)."""
        known = conn.execute(select(func.count()).where(
            events_table.c.event_id.in_([e.event_id for e in events]))).scalar_one()
        if known:
            return Written(known, None, None, None)
        self._lock_for_append(conn)
        current, head = conn.execute(
            select(
                select(func.coalesce(func.max(events_table.c.version), 0))
                .where(events_table.c.stream_id == stream_id).scalar_subquery(),
                select(func.coalesce(func.max(events_table.c.position), 0)).scalar_subquery(),
            )
        ).one()
        if not lowest <= current <= highest:
            return Written(0, current, None, None)  # no one else wrote since the look above
        positions = self._assign_positions(conn, head, len(events))
        now = datetime.now(UTC)
        conn.execute(insert(events_table), [
            {"position": position, "stream_id": stream_id, "version": current + i + 1,
             "event_id": e.event_id, "type": e.type, "schema_version": e.schema_version,
             "data": e.data, "metadata": e.metadata, "recorded_at": now}
            for i, (e, position) in enumerate(zip(events, positions, strict=True))
        ])
        return Written(0, current, positions, now)

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

    def _read(self, work: Callable[[Connection], T]) -> T:
        """work(conn) on a connection for reads; on PostgreSQL once more on a fresh connection
        if that one was found broken."""
        if not self.postgres:
            with self.engine.connect() as conn:
                return work(conn)
        for attempt in (1, 2):
            with self._direct.connect() as conn:
                try:
                    return work(conn)
                except Exception as error:
                    if attempt == 2 or not _broken(conn, error):
                        raise
        raise AssertionError("unreachable")

    def _read_page(self, query, **params) -> list[RecordedEvent]:
        """Run _FEED_PAGE or _STREAM_PAGE. On PostgreSQL the rows come straight from psycopg
        as tuples (binary, from a prepared statement), with no per-row work in SQLAlchemy."""
        def work(conn):
            if not self.postgres:
                return [_record(r) for r in conn.execute(query, params).all()]
            cursor = conn.connection.driver_connection.cursor(binary=True)
            cursor.execute(self._driver_sql[query], params, prepare=True)
            rows = cursor.fetchall()
            if rows and rows[0][8].tzinfo is not UTC:  # a session not in UTC after all
                return [_record(r) for r in rows]
            return _upcast_all([
                _tuple_new(RecordedEvent, (p, s, v, i, t, sv, _loads(d), _loads(m), at))
                for p, s, v, i, t, sv, d, m, at in rows])
        return self._read(work)

    def _events_by_id(self, conn, ids: Iterable[str]) -> list[RecordedEvent]:
        rows = conn.execute(
            select(*_RECORD_COLUMNS).where(events_table.c.event_id.in_(list(ids)))).all()
        return [_record(r) for r in rows]

    def get_event(self, event_id: str) -> RecordedEvent | None:
        found = self._read(lambda conn: self._events_by_id(conn, [event_id]))
        return found[0] if found else None

    def stream_version(self, stream_id: str, *, conn: Connection | None = None) -> int:
        query = select(func.coalesce(func.max(events_table.c.version), 0)).where(
            events_table.c.stream_id == stream_id
        )
        if conn is not None:
            return conn.execute(query).scalar_one()
        return self._read(lambda own: own.execute(query).scalar_one())

    def read_stream(
        self, stream_id: str, from_version: int = 1, limit: int | None = None
    ) -> list[RecordedEvent]:
        return self._read_page(_STREAM_PAGE, stream_id=stream_id, from_version=from_version,
                               limit=MAX_VERSION if limit is None else limit)

    def read_streams(self, after: dict[str, int]) -> dict[str, list[RecordedEvent]]:
        """The events of several streams, each after a version, in version order: one query
        for every hundred streams."""
        pending = list(after.items())

        def work(conn) -> dict[str, list[RecordedEvent]]:
            found: dict[str, list[RecordedEvent]] = {stream: [] for stream in after}
            for start in range(0, len(pending), 100):
                query = select(*_RECORD_COLUMNS).where(or_(*(
                    and_(events_table.c.stream_id == stream, events_table.c.version > version)
                    for stream, version in pending[start:start + 100]))
                ).order_by(events_table.c.stream_id, events_table.c.version)
                for row in conn.execute(query).all():
                    found[row[1]].append(_record(row))
            return found
        return self._read(work) if pending else {}

    def version_at(self, stream_id: str, when: datetime) -> int:
        """The stream's version as it stood at `when` (0 before its first event)."""
        query = select(func.coalesce(func.max(events_table.c.version), 0)).where(
            events_table.c.stream_id == stream_id, events_table.c.recorded_at <= when)
        return self._read(lambda conn: conn.execute(query).scalar_one())

    def read_all(
        self, after: int = 0, limit: int = 100, *, stream_prefix: str | None = None
    ) -> list[RecordedEvent]:
        """The global feed: events with position > after, in position order."""
        if not stream_prefix:
            return self._read_page(_FEED_PAGE, after=after, last=min(after + limit, MAX_POSITION),
                                   limit=limit)
        query = (
            select(*_RECORD_COLUMNS)
            .where(events_table.c.position > after,
                   events_table.c.stream_id.startswith(stream_prefix))
            .order_by(events_table.c.position).limit(limit)
        )
        return [_record(r) for r in self._read(lambda conn: conn.execute(query).all())]

    def head_position(self) -> int:
        query = select(func.coalesce(func.max(events_table.c.position), 0))
        return self._read(lambda conn: conn.execute(query).scalar_one())

    def stream_ids(self, prefix: str) -> list[str]:
        query = (
            select(events_table.c.stream_id)
            .where(events_table.c.stream_id.startswith(prefix), events_table.c.version == 1)
            .order_by(events_table.c.position)
        )
        return self._read(lambda conn: list(conn.execute(query).scalars()))


def _broken(conn: Connection, error: Exception) -> bool:
    """Whether a read failed on a broken connection (seen by SQLAlchemy, or by psycopg under a
    cursor of its own); the connection is then invalidated, not reused."""
    if isinstance(error, DBAPIError):
        return error.connection_invalidated
    if not conn.invalidated and getattr(conn.connection.driver_connection, "broken", False):
        conn.invalidate()
        return True
    return conn.invalidated


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
