"""Alert latency: article accepted by ingest → signed webhook received, with real processes.

In one run, on PostgreSQL and Redis: `storywire serve` ingest, story and notify, `storywire
worker` (two Celery processes), a webhook receiver on loopback in a process of its own, and one
realtime webhook subscription to rulings. Articles are sent at a steady rate, each carrying a new
ruling (its own date and its own party), first at 10 then at 50 articles a second. For every
webhook received: accepted (the article's `received_at` in ingest) → attached (the
`DevelopmentDetected` event's `recorded_at`) → delivery row (its `created_at` in notify) →
received (the receiver's clock; one machine, one clock). Printed: p50/p95/p99 of accepted →
received, and the p50 of each stage.

Baseline, in the same run: the same measurement on a fresh stack with wake-ups off
(`STORYWIRE_WAKEUPS=false`: the relay and the dispatcher only poll, at their default intervals),
and the ratio.

    .venv/bin/python bench/latency.py [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]
                                      [--redis-url redis://127.0.0.1:6379] [--seconds 20]
                                      [--rates 10,50]
"""

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from fanout import free_port, lease_redis, wait  # noqa: E402

KEY = "bench-latency-operator-key"
FIRST = ("Maria", "James", "Ana", "Robert", "Lucia", "Thomas", "Elena", "David", "Sofia",
         "Daniel", "Irene", "Peter", "Carmen", "Henry", "Julia", "Oscar", "Nadia", "Victor",
         "Helen", "Marco", "Rosa", "Felix", "Clara", "Hugo", "Laura", "Simon", "Teresa", "Adam",
         "Paula", "Ivan")
SYLLABLES = ("ka", "lo", "mi", "ra", "tu", "ne", "so", "vi", "de", "ba", "re", "zo")
OUTLETS = ("Brooklyn Court Reporter", "Courthouse News Service", "Metro Desk", "Wire Review")
SPACING = 5  # days between two articles' rulings: a story takes nearer ones as the same
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def surname(n: int) -> str:
    """A name no other article has: a sentence that names someone new tells something new."""
    letters = "".join(SYLLABLES[(n // len(SYLLABLES) ** i) % len(SYLLABLES)] for i in range(4))
    return letters.capitalize() + "s"


def article(run: str, n: int) -> dict:
    """A ruling the story has not seen: its own day (days apart from any other) and party."""
    day = date(1995, 1, 2) + timedelta(days=SPACING * n)
    party = f"{FIRST[n % len(FIRST)]} {surname(n)}"
    return {
        "outlet": OUTLETS[n % len(OUTLETS)],
        "url": f"https://bcr.example/{run}/{n}",
        "title": f"Judge turns away {party} in Guzman solitary fight",
        "published_at": f"{day.isoformat()}T20:00:00Z",
        # one sentence: nothing for the story to align with an earlier article as its copy
        "body": (f"A federal judge on {WEEKDAYS[day.weekday()]} refused the request of {party} "
                 f"to visit Joaquin \"El Chapo\" Guzman in solitary confinement at the "
                 f"Metropolitan Correctional Center."),
    }


# The receiver: one line per webhook, "<received at> <webhook-id>" -----------------------------

async def _serve_client(reader, writer, out) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length, webhook_id = 0, b""
            for line in head.split(b"\r\n"):
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
                elif name.lower() == b"webhook-id":
                    webhook_id = value.strip()
            if length:
                await reader.readexactly(length)
            received = time.time()
            writer.write(b"HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
            out.write(f"{received:.6f} {webhook_id.decode()}\n")
            out.flush()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def _receiver(port: int, path: str) -> None:
    with open(path, "a") as out:
        server = await asyncio.start_server(lambda r, w: _serve_client(r, w, out), "127.0.0.1",
                                            port, backlog=1024)
        print("listening", flush=True)
        async with server:
            await server.serve_forever()


# The stack --------------------------------------------------------------------------------

class Stack:
    """The three services and a worker on a fresh database and Redis database."""

    def __init__(self, pg_url: str, redis_url: str, wakeups: bool, tmp: Path):
        import psycopg

        self.pg_url = pg_url
        self.db_name = f"storywire_bench_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.db_name}"')
        self.db_url = f"{pg_url.rsplit('/', 1)[0]}/{self.db_name}"
        self.broker, self.release = lease_redis(redis_url.rstrip("/"))
        self.ports = {name: free_port() for name in ("ingest", "story", "notify", "receiver")}
        self.received = tmp / f"received-{self.db_name}.txt"
        self.env = {**os.environ, "PYTHONPATH": str(ROOT),
                    "STORYWIRE_DATABASE_URL": self.db_url, "STORYWIRE_BROKER_URL": self.broker,
                    "STORYWIRE_STORY_URL": f"http://127.0.0.1:{self.ports['story']}",
                    "STORYWIRE_API_KEY": KEY, "STORYWIRE_ALLOW_PRIVATE_URLS": "true",
                    "STORYWIRE_LOG_LEVEL": "WARNING", "STORYWIRE_DATA_DIR": str(tmp),
                    "STORYWIRE_WAKEUPS": "true" if wakeups else "false"}
        for name in ("RELAY_INTERVAL", "DISPATCH_INTERVAL"):
            self.env.pop(f"STORYWIRE_{name}", None)  # the defaults
        self.children: list[subprocess.Popen] = []
        self.sent = 0

    def start(self) -> None:
        import httpx

        cli = [sys.executable, "-m", "services.cli"]
        subprocess.run([*cli, "migrate"], env=self.env, check=True, capture_output=True)
        receiver = self._spawn([sys.executable, __file__, "--receiver",
                                str(self.ports["receiver"]), str(self.received)],
                               stdout=subprocess.PIPE)
        assert receiver.stdout.readline().strip() == b"listening"
        for name in ("ingest", "story", "notify"):
            self._spawn([*cli, "serve", name, "--port", str(self.ports[name])])
        self._spawn([*cli, "worker"])
        for name in ("ingest", "story", "notify"):
            url = f"http://127.0.0.1:{self.ports[name]}/readyz"
            wait(lambda u=url: _ok(httpx, u), 60, f"{name} to be ready", 0.2)
        from shared.tasks import celery_app

        celery_app.conf.broker_url = self.broker
        wait(lambda: celery_app.control.ping(timeout=0.5), 60, "the worker", 0.2)
        created = httpx.post(f"http://127.0.0.1:{self.ports['notify']}/v1/subscriptions",
                             headers={"authorization": f"Bearer {KEY}"}, json={
                                 "name": "court desk", "types": ["ruling"],
                                 "url": f"http://127.0.0.1:{self.ports['receiver']}/hooks"})
        created.raise_for_status()

    def _spawn(self, args, stdout=subprocess.DEVNULL) -> subprocess.Popen:
        child = subprocess.Popen(args, env=self.env, stdout=stdout, stderr=subprocess.DEVNULL,
                                 start_new_session=True)
        self.children.append(child)
        return child

    def stop(self) -> None:
        import psycopg
        import redis

        for child in self.children:
            child.terminate()
        for child in self.children:
            try:
                child.wait(20)
            except subprocess.TimeoutExpired:
                child.kill()
        redis.Redis.from_url(self.broker).flushdb()
        self.release()
        with psycopg.connect(self.pg_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.db_name}" WITH (FORCE)')


def _ok(httpx, url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


# A measurement ----------------------------------------------------------------------------

async def send_steadily(ingest: str, articles: list[dict], rate: float) -> None:
    """Each article at its slot of a steady rate, whatever the answers before it take."""
    import httpx

    async with httpx.AsyncClient(base_url=ingest, timeout=30,
                                 headers={"authorization": f"Bearer {KEY}"}) as http:
        async def post(item):
            answer = await http.post("/v1/articles", json=item)
            answer.raise_for_status()

        started = time.perf_counter()
        tasks = []
        for n, item in enumerate(articles):
            await asyncio.sleep(max(0.0, started + n / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(post(item)))
        await asyncio.gather(*tasks)


def stage_times(db_url: str, run: str) -> dict[str, tuple[float, float, float]]:
    """Per delivery of this run's articles: (accepted, attached, delivery row) as epochs."""
    import psycopg

    with psycopg.connect(db_url) as conn:
        accepted = dict(conn.execute(
            "SELECT id, received_at FROM ingest_articles WHERE url LIKE %s",
            (f"https://bcr.example/{run}/%",)).fetchall())
        attached = {row[0]: row[1] for row in conn.execute(
            "SELECT data::json->'development'->>'id', recorded_at FROM events "
            "WHERE type = 'DevelopmentDetected'")}
        rows = conn.execute("SELECT id, payload::json, created_at FROM notify_deliveries "
                            "WHERE kind = 'alert'").fetchall()
    found = {}
    for delivery_id, payload, created in rows:
        data = payload["data"]
        article_id = data["sources"][0]["id"] if data.get("sources") else None
        if article_id in accepted:
            found[delivery_id] = (accepted[article_id].timestamp(),
                                  attached[data["development"]["id"]].timestamp(),
                                  created.timestamp())
    return found


def received_times(path: Path) -> dict[str, float]:
    times = {}
    if path.exists():
        for line in path.read_text().splitlines():
            at, webhook_id = line.split()
            times.setdefault(webhook_id, float(at))
    return times


def measure(stack: Stack, rate: float, seconds: float, label: str) -> dict:
    import psycopg

    run = f"{label}-{int(rate)}-{uuid.uuid4().hex[:6]}"
    articles = [article(run, stack.sent + n) for n in range(int(rate * seconds))]
    stack.sent += len(articles)  # the next rate's rulings on days of their own
    asyncio.run(send_steadily(f"http://127.0.0.1:{stack.ports['ingest']}", articles, rate))

    def settled() -> bool:
        with psycopg.connect(stack.db_url) as conn:
            waiting = conn.execute("SELECT count(*) FROM ingest_outbox WHERE sent_at IS NULL"
                                   ).fetchone()[0]
            undelivered = conn.execute("SELECT count(*) FROM notify_deliveries "
                                       "WHERE status <> 'delivered'").fetchone()[0]
        return not waiting and not undelivered and \
            len(received_times(stack.received)) >= len(stage_times(stack.db_url, run))

    time.sleep(2.0)  # the dispatcher's poll at least once past the last article
    wait(settled, 300, "every alert", 0.5)
    stages = stage_times(stack.db_url, run)
    received = received_times(stack.received)
    rows = [(*stages[d], received[d]) for d in stages if d in received]
    return {"articles": len(articles), "alerts": len(rows),
            "total": [r[3] - r[0] for r in rows], "attached": [r[1] - r[0] for r in rows],
            "row": [r[2] - r[1] for r in rows], "sent": [r[3] - r[2] for r in rows]}


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def ms(value: float) -> str:
    return f"{value * 1000:7.0f}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rates", default="10,50")
    parser.add_argument("--receiver", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.receiver:
        asyncio.run(_receiver(int(args.receiver[0]), args.receiver[1]))
        return

    import tempfile

    rates = [float(r) for r in args.rates.split(",")]
    results = {}
    with tempfile.TemporaryDirectory(prefix="storywire-latency-") as tmp:
        for label, wakeups in (("wake-ups", True), ("polling", False)):
            stack = Stack(args.pg_url, args.redis_url, wakeups, Path(tmp))
            try:
                stack.start()
                measure(stack, 1, 2, "warm-up")  # first requests, first analysis: not counted
                for rate in rates:
                    results[label, rate] = measure(stack, rate, args.seconds, label)
            finally:
                stack.stop()

    print(f"alert latency, accepted -> webhook received, ms; {args.seconds:.0f} s at each rate; "
          f"real processes on PostgreSQL and Redis, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    print(f"{'':9} {'rate':>5} {'arts':>5} {'alerts':>6} {'p50':>7} {'p95':>7} {'p99':>7} | "
          f"p50 of stages: {'attached':>8} {'row':>7} {'sent':>7}")
    for (label, rate), r in results.items():
        print(f"{label:9} {rate:4.0f}/s {r['articles']:5} {r['alerts']:6} "
              f"{ms(percentile(r['total'], 50))} {ms(percentile(r['total'], 95))} "
              f"{ms(percentile(r['total'], 99))} | {'':15}"
              f"{ms(percentile(r['attached'], 50)):>8} {ms(percentile(r['row'], 50))} "
              f"{ms(percentile(r['sent'], 50))}")
    for rate in rates:
        woken, polled = results["wake-ups", rate], results["polling", rate]
        ratios = (percentile(polled["total"], p) / percentile(woken["total"], p)
                  for p in (50, 95, 99))
        print(f"ratio at {rate:.0f}/s, polling / wake-ups: "
              + ", ".join(f"p{p} {r:.1f}x" for p, r in zip((50, 95, 99), ratios, strict=True)))
    print(json.dumps({f"{label}@{rate:.0f}": {f"p{p}": round(percentile(r["total"], p) * 1000)
                                               for p in (50, 95, 99)}
                      for (label, rate), r in results.items()}))


if __name__ == "__main__":
    main()
