"""Wake-ups: a waiter is woken by a commit that announced work (in this process, by PostgreSQL
NOTIFY, by Redis pub/sub), never by a rollback, and with wake-ups off only its poll runs."""

import asyncio
import threading

from sqlalchemy import text

from shared.db import get_engine
from shared.wakeup import (
    EVENTS,
    OUTBOX,
    Publisher,
    listeners,
    notify_in,
    postgres_listener,
    redis_listener,
    waiting,
    wake,
)

LONG = 30.0  # a poll interval no test waits out


def test_a_commit_wakes_this_process_and_a_rollback_does_not(db_url):
    engine = get_engine(db_url)

    async def run():
        async with waiting(OUTBOX, []) as waiter:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
                notify_in(conn, OUTBOX)
                conn.rollback()
            assert not await waiter.wait(0.3)
            with engine.begin() as conn:
                notify_in(conn, OUTBOX)
                assert not await waiter.wait(0.1)  # not before the commit
            assert await waiter.wait(LONG)

    asyncio.run(run())


def test_a_wake_from_another_thread_while_busy_is_kept_for_the_next_wait():
    async def run():
        async with waiting(EVENTS, []) as waiter:
            thread = threading.Thread(target=wake, args=(EVENTS,))
            thread.start()
            thread.join()
            await asyncio.sleep(0.05)       # the loop was busy when it came
            assert await waiter.wait(LONG)
            assert not await waiter.wait(0.1)   # one wake-up, one pass

    asyncio.run(run())


def test_postgres_notify_reaches_a_listener_in_another_connection_on_commit(pg_url):
    engine = get_engine(pg_url)

    async def run():
        woken = asyncio.Event()
        listening = asyncio.create_task(postgres_listener(pg_url, OUTBOX)(woken.set))
        await asyncio.wait_for(woken.wait(), 10)  # a (re)connection wakes once
        woken.clear()
        conn = engine.connect()
        conn.execute(text("SELECT 1"))
        notify_in(conn, OUTBOX)
        await asyncio.sleep(0.3)
        assert not woken.is_set()           # not before the commit...
        await asyncio.to_thread(conn.commit)
        conn.close()
        await asyncio.wait_for(woken.wait(), 10)  # ...and on it
        listening.cancel()

    asyncio.run(run())


def test_a_redis_publish_reaches_a_subscriber(redis_url):
    async def run():
        woken = asyncio.Event()
        listening = asyncio.create_task(redis_listener(redis_url, EVENTS)(woken.set))
        await asyncio.wait_for(woken.wait(), 10)
        woken.clear()
        await asyncio.to_thread(Publisher(redis_url).publish, EVENTS)
        await asyncio.wait_for(woken.wait(), 10)
        listening.cancel()

    asyncio.run(run())


def test_with_wake_ups_off_nothing_wakes_the_waiter(redis_url):
    async def run():
        async with waiting(EVENTS, listeners(EVENTS, broker_url=redis_url), False) as waiter:
            Publisher(redis_url, enabled=True).publish(EVENTS)
            wake(EVENTS)
            assert not await waiter.wait(0.5)

    asyncio.run(run())


def test_carriers_follow_the_database_and_the_broker(pg_url, sqlite_url):
    assert len(listeners(OUTBOX, pg_url)) == 1
    assert listeners(OUTBOX, sqlite_url) == []
    assert len(listeners(EVENTS, broker_url="redis://127.0.0.1:6379/3")) == 1
    assert listeners(EVENTS, broker_url="memory://localhost/") == []
