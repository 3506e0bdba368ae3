"""Fan-out: one development to 10,000 webhook subscriptions, against a no-op Celery baseline.

In one run, on the same PostgreSQL and Redis, with the same two Celery worker processes
(`celery worker --pool solo`, two of them):

* baseline: the rate at which the workers run a no-op task (sent with `apply_async`, done when
  the queue and the unacknowledged set are empty);
* fan-out: one `DevelopmentDetected` event is recorded for 10,000 matching webhook
  subscriptions (one delivery row each, in one transaction with the feed checkpoint), then the
  due deliveries are enqueued by id as the dispatcher hands them over (a task per group of
  ids); each task claims its rows, signs each body per Standard Webhooks, POSTs them to a
  local receiver concurrently and settles the rows. Done when every row is delivered.

The receiver is a small asyncio HTTP/1.1 server in its own process (keep-alive, answers 204
without verifying signatures, so that it is not the bottleneck). The database is created with a
unique name and dropped at the end; the Redis database is leased like the tests do.

    .venv/bin/python bench/fanout.py [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]
                                     [--redis-url redis://127.0.0.1:6379] [--subscriptions 10000]
"""

import argparse
import asyncio
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.tasks import celery_app  # noqa: E402

QUEUE = "storywire-notify"


@celery_app.task(name="bench.noop", acks_late=True)
def noop_task() -> None:
    return None


# The receiver -----------------------------------------------------------------------------

async def _serve_client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            if length:
                await reader.readexactly(length)
            writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _receiver(port: int) -> None:
    server = await asyncio.start_server(_serve_client, "127.0.0.1", port, backlog=1024)
    print("listening", flush=True)
    async with server:
        await server.serve_forever()


# The run ----------------------------------------------------------------------------------

def lease_redis(base: str):
    import redis

    leases = redis.Redis.from_url(f"{base}/0")
    token = uuid.uuid4().hex
    for n in range(15, 0, -1):
        if leases.set(f"storywire:test-db-lease:{n}", token, nx=True, ex=1800):
            return f"{base}/{n}", lambda n=n: leases.delete(f"storywire:test-db-lease:{n}")
    raise SystemExit("no free Redis database")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait(predicate, timeout: float, what: str, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(interval)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379")
    parser.add_argument("--subscriptions", type=int, default=10_000)
    parser.add_argument("--baseline-tasks", type=int, default=10_000)
    parser.add_argument("--receiver", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receiver:
        asyncio.run(_receiver(args.receiver))
        return

    import psycopg
    import redis
    from sqlalchemy import insert

    from services.notify import store
    from services.notify.dispatcher import hand_over
    from services.notify.models import Subscription, new_id
    from shared.db import dispose_engine, get_engine
    from shared.migrate import upgrade

    db_name = f"storywire_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(args.pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db_name}"')
    db_url = f"{args.pg_url.rsplit('/', 1)[0]}/{db_name}"
    broker, release = lease_redis(args.redis_url.rstrip("/"))
    redis_db = redis.Redis.from_url(broker)
    redis_db.flushdb()
    children: list[subprocess.Popen] = []
    try:
        engine = get_engine(db_url)
        upgrade("notify", engine)
        port = free_port()
        receiver = subprocess.Popen([sys.executable, __file__, "--receiver", str(port)],
                                    stdout=subprocess.PIPE, text=True)
        children.append(receiver)
        assert receiver.stdout.readline().strip() == "listening"
        url = f"http://127.0.0.1:{port}/hooks"

        now = store.utcnow()
        rows = [{"id": new_id("sub"), "name": f"desk {n}", "channel": "webhook", "target": url,
                 "secret": "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                 "stories": ["guzman-detention-conditions"], "types": [], "outcomes": [],
                 "active": True, "rate": "realtime", "digest_time": "08:00",
                 "digest_weekday": 0, "created_at": now} for n in range(args.subscriptions)]
        with engine.begin() as conn:
            conn.execute(insert(Subscription.__table__), rows)

        env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'bench'}",
               "STORYWIRE_NOTIFY_DATABASE_URL": db_url, "STORYWIRE_BROKER_URL": broker,
               "STORYWIRE_ALLOW_PRIVATE_URLS": "true", "STORYWIRE_LOG_LEVEL": "WARNING"}
        for n in (1, 2):
            children.append(subprocess.Popen(
                [sys.executable, "-m", "celery", "-A", "fanout", "worker", "--pool", "solo",
                 "-n", f"bench{n}@%h", "--loglevel", "WARNING", "--without-mingle",
                 "--without-gossip"], env=env, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL))
        celery_app.conf.broker_url = broker
        wait(lambda: len(celery_app.control.ping(timeout=0.5)) == 2, 60, "two workers")

        # Baseline: a no-op task.
        started = time.perf_counter()
        with celery_app.producer_or_acquire() as producer:
            for _ in range(args.baseline_tasks):
                noop_task.apply_async(producer=producer)
        wait(lambda: redis_db.llen(QUEUE) == 0 and redis_db.hlen("unacked") == 0, 600,
             "the no-op tasks")
        noop_seconds = time.perf_counter() - started
        noop_rate = args.baseline_tasks / noop_seconds

        # Fan-out: one development, every subscription.
        event = {"position": 1, "type": "DevelopmentDetected", "data": {
            "story": "guzman-detention-conditions", "story_title": "Guzman detention conditions",
            "development": {"id": "dev-1", "type": "ruling", "outcome": "denied",
                            "date": "2017-05-04", "summary": "s",
                            "evidence": "A federal judge refused to ease the conditions."},
            "article": {"id": "a1", "outlet": "CN", "url": "https://example.org/a1",
                        "title": "T", "published_at": "2017-05-04T20:00:00+00:00"}}}
        started = time.perf_counter()
        created = store.record_deliveries(engine, [event], 1, "http://127.0.0.1:8002")
        recorded = time.perf_counter() - started
        with celery_app.producer_or_acquire() as producer:
            while ids := store.take_due(engine, limit=1000):  # as the dispatcher hands over
                hand_over(engine, ids, lambda group: celery_app.send_task(
                    "notify.deliver", args=group, producer=producer))
        enqueued = time.perf_counter() - started
        wait(lambda: store.count_by_status(engine).get("delivered", 0) == created, 1800,
             "every delivery", interval=0.2)
        fanout_seconds = time.perf_counter() - started
        statuses = store.count_by_status(engine)
        delivery_rate = created / fanout_seconds

        print(f"fan-out: {created} webhook deliveries of one development, 2 worker processes")
        print(f"  rows recorded (one transaction):  {recorded:8.2f} s")
        print(f"  all enqueued by id:               {enqueued:8.2f} s")
        print(f"  all delivered:                    {fanout_seconds:8.2f} s"
              f"  ({delivery_rate:,.0f} deliveries/s)  statuses {statuses}")
        print(f"baseline: {args.baseline_tasks} no-op Celery tasks, same Redis, same workers")
        print(f"  all done:                         {noop_seconds:8.2f} s"
              f"  ({noop_rate:,.0f} tasks/s)")
        print(f"ratio: a delivery costs {noop_rate / delivery_rate:.1f}x a no-op task "
              f"(deliveries run at {delivery_rate / noop_rate:.0%} of the no-op rate)")
    finally:
        for child in children:
            child.terminate()
        for child in children:
            try:
                child.wait(20)
            except subprocess.TimeoutExpired:
                child.kill()
        redis_db.flushdb()
        release()
        dispose_engine(db_url)
        with psycopg.connect(args.pg_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
