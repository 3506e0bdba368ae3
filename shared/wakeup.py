"""Wake-ups: a loop that waits for work (the outbox relay, the feed dispatcher) runs as soon as
there is some instead of at its next poll.

A wake-up is only a hint. The loops still poll at their interval, so a wake-up lost (a listener
reconnecting, a publish that failed, a writer that died between its commit and its publish)
costs at most one interval, and nothing depends on one arriving.

Three carriers, by where the writer runs:

* this process: `wake(channel)` wakes every waiter of the channel here (the embedded default
  on SQLite, and the quickest path where the writer and the loop share a process);
* PostgreSQL: `notify_in(conn, channel)` sends NOTIFY inside the writer's transaction, so it
  is delivered when (and only if) the transaction commits; a waiter on that database LISTENs;
* Redis: `Publisher.publish(channel)` after the commit, for a waiter in another service (one
  that does not read the writer's database), subscribed on the broker's Redis.
"""

import asyncio
import contextlib
import logging
import threading
from collections.abc import AsyncIterator, Awaitable, Callable

from sqlalchemy import Connection, event, text
from sqlalchemy.engine import make_url

log = logging.getLogger("storywire.wakeup")

OUTBOX = "storywire_outbox"  # ingest: articles entered the outbox
EVENTS = "storywire_events"  # story: events were appended to the global feed
RECONNECT_SECONDS = 1.0

_waiters: dict[str, set["Waiter"]] = {}
_lock = threading.Lock()


class Waiter:
    """What a loop waits on between passes: woken from any thread, or the timeout."""

    def __init__(self, channel: str):
        self.channel = channel
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()

    def wake(self) -> None:
        """Safe from any thread; a wake-up while the loop is busy is kept for its next wait."""
        with contextlib.suppress(RuntimeError):  # the loop has closed
            self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self, timeout: float) -> bool:
        """Until woken or `timeout` seconds have passed; whether it was woken."""
        try:
            await asyncio.wait_for(self._event.wait(), timeout)
            return True
        except TimeoutError:
            return False
        finally:
            self._event.clear()


def wake(channel: str) -> None:
    """Wake this process's waiters of `channel`."""
    with _lock:
        waiters = list(_waiters.get(channel, ()))
    for waiter in waiters:
        waiter.wake()


def notify_in(conn: Connection, channel: str) -> None:
    """In the writer's transaction: PostgreSQL tells the channel's listeners on commit, and
    this process's waiters are woken after the commit (nothing is told on a rollback)."""
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_notify(:channel, '')"), {"channel": channel})
    transaction = conn.get_transaction()
    if transaction is None:
        wake(channel)
        return
    event.listen(conn, "commit", lambda _conn: wake(channel), once=True)


def redis_channel(redis_url: str, channel: str) -> str:
    """Pub/sub channels span a server's numbered databases: scope ours by the database."""
    return f"{channel}:{make_url(redis_url).database or '0'}"


class Publisher:
    """Wakes a channel's waiters here and, when the broker is Redis, in other processes."""

    def __init__(self, broker_url: str, enabled: bool = True):
        self.redis_url = broker_url if broker_url.startswith(("redis://", "rediss://")) else None
        self.enabled = enabled
        self._redis = None

    def publish(self, channel: str) -> None:
        if not self.enabled:
            return
        wake(channel)
        if self.redis_url is None:
            return
        import redis

        try:
            if self._redis is None:
                self._redis = redis.Redis.from_url(self.redis_url, socket_timeout=2,
                                                   socket_connect_timeout=2)
            self._redis.publish(redis_channel(self.redis_url, channel), b"")
        except redis.RedisError as exc:  # the waiters poll: a lost wake-up costs an interval
            log.debug("wake-up not published: %s", type(exc).__name__)


Listener = Callable[[Callable[[], None]], Awaitable[None]]


def postgres_listener(database_url: str, channel: str) -> Listener:
    """LISTEN on the channel of this PostgreSQL database, reconnecting for as long as it
    runs; each (re)connection wakes once, for what was committed while not listening."""
    conninfo = make_url(database_url).set(drivername="postgresql").render_as_string(
        hide_password=False)

    async def listen(woken: Callable[[], None]) -> None:
        import psycopg

        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                        conninfo, autocommit=True, connect_timeout=5) as conn:
                    await conn.execute(f"LISTEN {channel}")
                    woken()
                    async for _ in conn.notifies():
                        woken()
            except (psycopg.Error, OSError) as exc:
                log.debug("LISTEN %s interrupted: %s", channel, type(exc).__name__)
            await asyncio.sleep(RECONNECT_SECONDS)

    return listen


def redis_listener(redis_url: str, channel: str) -> Listener:
    """Subscribe to the channel on Redis, resubscribing for as long as it runs; each
    (re)subscription wakes once."""
    async def listen(woken: Callable[[], None]) -> None:
        import redis
        import redis.asyncio as aioredis

        while True:
            client = aioredis.Redis.from_url(redis_url, socket_connect_timeout=5)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(redis_channel(redis_url, channel))
                    woken()
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            woken()
            except (redis.RedisError, OSError) as exc:
                log.debug("subscription to %s interrupted: %s", channel, type(exc).__name__)
            finally:
                await client.aclose()
            await asyncio.sleep(RECONNECT_SECONDS)

    return listen


def listeners(channel: str, database_url: str | None = None, broker_url: str | None = None
              ) -> list[Listener]:
    """The carriers a waiter of `channel` listens to: the database when it is PostgreSQL,
    the broker when it is Redis (besides this process, always)."""
    found = []
    if database_url and make_url(database_url).get_backend_name() == "postgresql":
        found.append(postgres_listener(database_url, channel))
    if broker_url and broker_url.startswith(("redis://", "rediss://")):
        found.append(redis_listener(broker_url, channel))
    return found


@contextlib.asynccontextmanager
async def waiting(channel: str, carriers: list[Listener], enabled: bool = True
                  ) -> AsyncIterator[Waiter]:
    """A waiter of `channel`, woken in this process and by `carriers` while the block runs;
    with `enabled` false nothing wakes it (its loop polls)."""
    waiter = Waiter(channel)
    if not enabled:
        yield waiter
        return
    with _lock:
        _waiters.setdefault(channel, set()).add(waiter)
    tasks = [asyncio.create_task(listen(waiter.wake)) for listen in carriers]
    try:
        yield waiter
    finally:
        with _lock:
            _waiters[channel].discard(waiter)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
