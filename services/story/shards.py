"""Story shards shared by several story-service instances (`STORY_SHARDS` above one).

The stories are split into a fixed number of shards by a hash of the slug (`shard_of`). An
instance writes a shard's stories while it holds the shard's lease: a PostgreSQL session-level
advisory lock, `pg_try_advisory_lock(SHARD_LOCKS, shard)`, on a connection of its own. No
coordinator of ours decides anything: PostgreSQL grants each lock to one session, and ends a
session (releasing its locks) when its process dies, its connection breaks, or it stays silent
longer than `STORY_LEASE_SECONDS` (`idle_session_timeout`: a paused instance loses its leases).

Each instance also holds a member lock (`MEMBER_LOCKS`, its backend pid), so that the number of
live instances is the number of those locks. Every tick, on the lease connection (which keeps
the session busy), an instance takes shards nobody holds up to its fair share
(ceil(shards / instances)) and lets go of those above it, so shards spread when an instance
joins and are taken over when one leaves or dies.

Taking a shard writes a new epoch for it in `story_shard_leases` (with the instance's address,
for the others to forward to). Every append to a story is fenced by its shard's epoch
(`storywire_append_fenced`): an instance whose lease was taken over cannot write any more,
even if it has not noticed yet.

A batch of articles may reach any instance: it writes the stories of the shards it holds,
forwards the rest to their holders, and takes a shard nobody holds; it answers once every
story of the batch is written. Without sharding (or on SQLite: one instance) none of this runs.
"""

import logging
import math
import os
import socket
import threading
import time
import uuid
import zlib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple

import httpx
import psycopg
from sqlalchemy.engine import make_url

from services.story.writers import shard_of
from shared import metrics
from shared.db import normalize_url, utcnow
from shared.eventstore import FencedOut

log = logging.getLogger("storywire.story.shards")

# advisory-lock namespaces (the first key of the two-key form)
SHARD_LOCKS = 0x5357_0001
MEMBER_LOCKS = 0x5357_0002
FORWARD_TRIES = 4


class Lease(NamedTuple):
    """A lease this instance holds: what its appends are fenced by and say they were made
    under."""

    shard: int
    epoch: int
    holder: str


class Outcome(NamedTuple):
    """What attaching an article to a story came to, as the batch's answer needs it (an
    `Analysis` summed up, or a forwarded answer)."""

    route_score: float
    on_story: bool
    developments: int

    def to_dict(self) -> dict:
        return self._asdict()


def outcome_of(analysis) -> Outcome:
    return Outcome(analysis.route_score, analysis.on_story, len(analysis.developments))


# -- pure decisions ---------------------------------------------------------------------------

def fair_share(shards: int, members: int) -> int:
    return math.ceil(shards / max(1, members))


def plan(shards: int, members: int, mine: set[int], others: set[int], start: int
         ) -> tuple[list[int], list[int]]:
    """Which shards to take and which to let go: take those nobody holds, up to the fair
    share, from `start` round (instances start at different places, so they rarely try the
    same one); let go of those above the fair share, the last in that order first."""
    order = [(start + i) % shards for i in range(shards)]
    share = fair_share(shards, members)
    free = [s for s in order if s not in mine and s not in others]
    take = free[:max(0, share - len(mine))]
    surplus = len(mine) - share
    release = [s for s in reversed(order) if s in mine][:surplus] if surplus > 0 else []
    return take, release


def split_by_owner(shards: set[int], held: set[int], owners: dict[int, str], me: str
                   ) -> tuple[set[int], dict[str, set[int]], set[int]]:
    """The shards a batch needs: those written here, those to forward (by the address of
    their holder), and those whose holder is unknown or this instance's past self (to take)."""
    here, there, unowned = set(), {}, set()
    for shard in shards:
        if shard in held:
            here.add(shard)
        elif shard in owners and owners[shard] != me:
            there.setdefault(owners[shard], set()).add(shard)
        else:
            unowned.add(shard)
    return here, there, unowned


# -- the leases -------------------------------------------------------------------------------

def _libpq_url(db_url: str) -> str:
    return make_url(normalize_url(db_url)).set(drivername="postgresql").render_as_string(
        hide_password=False)


class Leases:
    """This instance's leases, on a dedicated PostgreSQL connection, kept by a thread that
    ticks every fifth of `lease_seconds`."""

    def __init__(self, db_url: str, shards: int, url: str, lease_seconds: float = 10.0):
        self.db_url = db_url
        self.shards = shards
        self.url = url
        self.lease_seconds = lease_seconds
        self.holder = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self.start_at = zlib.crc32(self.holder.encode()) % shards
        self._conn: psycopg.Connection | None = None
        self._conn_lock = threading.Lock()  # the connection, and `_held`
        self._held: dict[int, int] = {}  # shard -> epoch
        self._owners: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # the connection

    def _connect(self) -> psycopg.Connection:
        timeout = max(1, int(self.lease_seconds * 1000))
        conn = psycopg.connect(_libpq_url(self.db_url), autocommit=True, connect_timeout=5,
                               options=f"-c idle_session_timeout={timeout}")
        conn.execute("SELECT pg_advisory_lock(%s::int, pg_backend_pid())", (MEMBER_LOCKS,))
        return conn

    def _lost(self, why: str) -> None:
        """The session is gone, and with it every lease: write nothing more under them."""
        if self._held:
            log.warning("story shard leases lost (%s): %s", why, sorted(self._held))
        self._held = {}
        metrics.STORY_SHARDS_HELD.set(0)
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg.Error:
                pass
        self._conn = None

    def _take(self, shard: int) -> int | None:
        """Try the shard's lock; holding it, write the lease's new epoch (under the append
        lock, so that the previous holder's last append has committed). Needs `_conn_lock`."""
        conn = self._conn
        if not conn.execute("SELECT pg_try_advisory_lock(%s::int, %s::int)",
                            (SHARD_LOCKS, shard)).fetchone()[0]:
            return None
        with conn.transaction():
            conn.execute("LOCK TABLE events IN EXCLUSIVE MODE")
            epoch = conn.execute(
                "INSERT INTO story_shard_leases (shard, epoch, holder, url, claimed_at) "
                "SELECT %s, coalesce(max(epoch), 0) + 1, %s, %s, %s "
                "FROM story_shard_leases WHERE shard = %s RETURNING epoch",
                (shard, self.holder, self.url, utcnow(), shard)).fetchone()[0]
        self._held[shard] = epoch
        self._owners[shard] = self.url
        metrics.STORY_SHARDS_TAKEN.inc()
        metrics.STORY_SHARDS_HELD.set(len(self._held))
        log.info("took story shard %d (lease %d)", shard, epoch)
        return epoch

    def _let_go(self, shard: int) -> None:
        epoch = self._held.pop(shard)
        metrics.STORY_SHARDS_HELD.set(len(self._held))
        self._conn.execute("UPDATE story_shard_leases SET released_at = %s "
                           "WHERE shard = %s AND epoch = %s", (utcnow(), shard, epoch))
        self._conn.execute("SELECT pg_advisory_unlock(%s::int, %s::int)", (SHARD_LOCKS, shard))
        log.info("let go of story shard %d (lease %d)", shard, epoch)

    def _look(self) -> tuple[int, set[int]]:
        """Live instances, and the shards other sessions hold (one read of pg_locks)."""
        rows = self._conn.execute(
            "SELECT classid::bigint, objid::bigint, pid = pg_backend_pid() FROM pg_locks "
            "WHERE locktype = 'advisory' AND granted AND objsubid = 2 "
            "AND classid IN (%s::int::oid, %s::int::oid) "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (SHARD_LOCKS, MEMBER_LOCKS)).fetchall()
        members = sum(1 for cls, _, _ in rows if cls == MEMBER_LOCKS)
        others = {obj for cls, obj, own in rows if cls == SHARD_LOCKS and not own}
        return members, others

    def tick(self) -> None:
        """One pass: (re)connect, look, take and let go as `plan` says, read the owners."""
        with self._conn_lock:
            try:
                if self._conn is None:
                    self._conn = self._connect()
                members, others = self._look()
                take, release = plan(self.shards, members, set(self._held), others,
                                     self.start_at)
                for shard in take:
                    self._take(shard)
                for shard in release:
                    self._let_go(shard)
                self._read_owners()
            except psycopg.Error as exc:
                self._lost(type(exc).__name__)

    def _read_owners(self) -> None:
        rows = self._conn.execute(
            "SELECT DISTINCT ON (shard) shard, url FROM story_shard_leases "
            "ORDER BY shard, epoch DESC").fetchall()
        self._owners = dict(rows)

    # what the rest of the service asks

    def start(self) -> None:
        self.tick()
        self._thread = threading.Thread(target=self._run, name="story-shard-leases",
                                        daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.lease_seconds / 5):
            try:
                self.tick()
            except Exception:  # the leases must outlive a surprise; the next tick tries again
                log.exception("story shard lease tick failed")

    def stop(self) -> None:
        """Let go of every lease (closing the session), for the others to take at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        with self._conn_lock:
            if self._conn is not None:
                try:
                    for shard in list(self._held):
                        self._let_go(shard)
                except psycopg.Error:
                    pass
            self._held = {}
            self._lost("stopped")

    def held(self) -> dict[int, Lease]:
        with self._conn_lock:
            return {s: Lease(s, e, self.holder) for s, e in self._held.items()}

    def owners(self, refresh: bool = False) -> dict[int, str]:
        """Where each shard's newest lease holder is reached (as of the last tick, or read now)."""
        with self._conn_lock:
            if refresh and self._conn is not None:
                try:
                    self._read_owners()
                except psycopg.Error as exc:
                    self._lost(type(exc).__name__)
            return dict(self._owners)

    def take(self, shard: int) -> Lease | None:
        """Take a shard nobody holds, now (a batch needs it); None if someone does."""
        with self._conn_lock:
            if shard in self._held:
                return Lease(shard, self._held[shard], self.holder)
            try:
                if self._conn is None:
                    self._conn = self._connect()
                epoch = self._take(shard)
            except psycopg.Error as exc:
                self._lost(type(exc).__name__)
                return None
            return Lease(shard, epoch, self.holder) if epoch is not None else None

    def lost(self, lease: Lease) -> None:
        """An append under `lease` was fenced out: another instance took the shard since (this
        one's session ended meanwhile). Stop writing under it."""
        with self._conn_lock:
            if self._held.get(lease.shard) == lease.epoch:
                del self._held[lease.shard]
                metrics.STORY_SHARDS_HELD.set(len(self._held))


# -- a batch across instances -----------------------------------------------------------------

class NotHeld(Exception):
    """This instance does not hold the leases of these shards (HTTP 409 between instances)."""

    def __init__(self, shards):
        super().__init__(f"story shards {sorted(shards)} are not held here")
        self.shards = sorted(shards)


class ShardsUnavailable(Exception):
    """Some stories of the batch could not be written: their shard's holder did not answer
    and nobody else could take it (HTTP 503: the relay sends the batch again)."""


AttachHere = Callable[[list[str], list, dict | None, dict[str, Lease]], dict]
Forward = Callable[[str, list[str], list, dict | None], dict]


class ShardedStories:
    """Writes a batch's stories where their shards are held (see the module's docstring)."""

    def __init__(self, leases: Leases, attach_here: AttachHere, forward: Forward,
                 on_close: Callable[[], None] = lambda: None):
        self.leases = leases
        self._on_close = on_close  # what forwarding holds open (its HTTP client)
        self.attach_here = attach_here  # (slugs, items, context, leases) -> {slug: outcomes}
        self.forward = forward  # (url, slugs, items, context) -> {slug: outcomes}
        self._pool = ThreadPoolExecutor(4, thread_name_prefix="story-forward")

    def attach(self, slugs: list[str], items: list, context: dict | None
               ) -> dict[str, list[Outcome | None] | None]:
        by_shard: dict[int, list[str]] = {}
        for slug in slugs:
            by_shard.setdefault(shard_of(slug, self.leases.shards), []).append(slug)
        found: dict[str, list[Outcome | None] | None] = {}
        pending = set(by_shard)
        for attempt in range(FORWARD_TRIES):
            if attempt:
                time.sleep(0.2 * attempt)
            pending = self._attempt(by_shard, pending, items, context, found, attempt > 0)
            if not pending:
                return found
        raise ShardsUnavailable(f"story shards {sorted(pending)}: their holders did not "
                                "answer and no other instance could take them")

    def _attempt(self, by_shard, pending, items, context, found, refresh) -> set[int]:
        """Write what can be written of `pending` shards; returns the shards still to do."""
        held = self.leases.held()
        here, there, unowned = split_by_owner(pending, set(held),
                                              self.leases.owners(refresh), self.leases.url)
        for shard in unowned:
            lease = self.leases.take(shard)
            if lease is not None:
                held[shard] = lease
                here.add(shard)
        futures = {url: self._pool.submit(self.forward, url,
                                          [s for sh in sorted(shards) for s in by_shard[sh]],
                                          items, context)
                   for url, shards in there.items()}
        left = pending - here - set().union(*there.values())
        failure = None
        if here:
            mine = [s for sh in sorted(here) for s in by_shard[sh]]
            try:
                found.update(self.attach_here(mine, items, context,
                                              {s: held[shard_of(s, self.leases.shards)]
                                               for s in mine}))
            except FencedOut:  # taken over meanwhile: the next attempt forwards there
                for shard in here:
                    self.leases.lost(held[shard])
                left |= here
            except BaseException as exc:  # noqa: BLE001 - collect the forwards first
                failure = exc
        for url, future in futures.items():
            try:
                found.update(future.result())
            except (httpx.TransportError, httpx.HTTPStatusError) as exc:
                if isinstance(exc, httpx.HTTPStatusError) and \
                        exc.response.status_code not in (409, 503):
                    failure = failure or exc
                    continue
                log.warning("forward to %s failed (%s); taking its shards if they are free",
                            url, type(exc).__name__)
                for shard in there[url]:  # its holder died or let go: free for the next try
                    self.leases.take(shard)
                left |= there[url]
            except BaseException as exc:  # noqa: BLE001
                failure = failure or exc
        if failure is not None:
            raise failure
        return left

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._on_close()


def http_forward(client: httpx.Client) -> Forward:
    """Forward a batch's stories to the instance at `url` (`POST /v1/shards/articles`)."""

    def forward(url: str, slugs: list[str], items: list, context: dict | None) -> dict:
        articles = [{**article.to_dict(), "revision_of": revision_of,
                     **(context or {}).get(article.id, {})} for article, revision_of in items]
        response = client.post(f"{url}/v1/shards/articles",
                               json={"slugs": slugs, "articles": articles})
        response.raise_for_status()
        return {slug: None if outcomes is None else
                [None if o is None else Outcome(**o) for o in outcomes]
                for slug, outcomes in response.json()["stories"].items()}

    return forward
