"""Ingest throughput with real processes on PostgreSQL.

Starts the story and ingest services as uvicorn processes on a fresh PostgreSQL database
(created here, dropped at the end) and measures:

* accepted: articles per second ingest accepts (202) — single POSTs from several concurrent
  clients, and POST /v1/articles:batch with 100 per request;
* end to end: articles per second from the first POST until the story service has attached
  (routed, analysed, appended) every one of them, as the story's events show;
* where the time goes: the story service's own time per article (articles POSTed straight to
  it, one at a time, as the relay does) against the relay's time per article.

    .venv/bin/python bench/ingest.py [--articles 1000] [--pg-url postgresql://...]
"""

import argparse
import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
KEY = "bench-operator-key"
AUTH = {"authorization": f"Bearer {KEY}"}
SLUG = "guzman-detention-conditions"


def article(run: str, n: int) -> dict:
    return {
        "outlet": f"Court Wire {n % 7}",
        "url": f"https://wire.example/{run}/guzman-{n}",
        "title": f"Guzman stays in solitary, judge rules (update {n})",
        "published_at": f"2017-05-{4 + n % 20:02d}T{n % 24:02d}:00:00Z",
        "body": (f"A federal judge refused to release Joaquin Guzman from solitary confinement, "
                 f"court filing {n} shows.\n\nU.S. District Judge Brian Cogan rejected the "
                 f"request to let Amnesty International observers visit him, docket entry {n} "
                 f"says. The court will hold a hearing on Friday on motion {n}."),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(url: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{url} exited with {proc.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} not ready")


async def attached_count(http: httpx.AsyncClient, story: str) -> int:
    summary = (await http.get(f"{story}/v1/stories/{SLUG}")).json()
    return summary["counts"]["articles"]


async def post_singles(http, ingest, items, clients: int) -> None:
    queue = list(reversed(items))

    async def worker():
        while queue:
            response = await http.post(f"{ingest}/v1/articles", json=queue.pop())
            assert response.status_code == 202, response.text

    await asyncio.gather(*(worker() for _ in range(clients)))


async def post_batches(http, ingest, items) -> None:
    for start in range(0, len(items), 100):
        response = await http.post(f"{ingest}/v1/articles:batch",
                                   json={"articles": items[start:start + 100]})
        assert response.status_code == 207 and response.json()["counts"]["rejected"] == 0


async def until_attached(http, story, expected: int, started: float) -> float:
    while await attached_count(http, story) < expected:
        await asyncio.sleep(0.05)
    return time.perf_counter() - started


async def measure(ingest: str, story: str, n: int) -> list[str]:
    lines = []
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(headers=AUTH, timeout=120, limits=limits) as http:
        base = await attached_count(http, story)

        items = [article(f"single-{uuid.uuid4().hex[:6]}", i) for i in range(n)]
        started = time.perf_counter()
        await post_singles(http, ingest, items, clients=8)
        accepted = time.perf_counter() - started
        total = await until_attached(http, story, base + n, started)
        lines.append(f"single POSTs (8 clients): accepted {n / accepted:7.1f} articles/s "
                     f"({accepted:.2f}s); end to end {n / total:7.1f} articles/s ({total:.2f}s)")
        base += n

        items = [article(f"batch-{uuid.uuid4().hex[:6]}", i) for i in range(n)]
        started = time.perf_counter()
        await post_batches(http, ingest, items)
        accepted = time.perf_counter() - started
        total = await until_attached(http, story, base + n, started)
        lines.append(f"batches of 100:           accepted {n / accepted:7.1f} articles/s "
                     f"({accepted:.2f}s); end to end {n / total:7.1f} articles/s ({total:.2f}s)")
        base += n

        # The story service alone: the same kind of article POSTed straight to it, in order.
        m = min(n, 200)
        direct = [dict(article(f"direct-{uuid.uuid4().hex[:6]}", i), id=str(uuid.uuid4()))
                  for i in range(m)]
        started = time.perf_counter()
        for item in direct:
            response = await http.post(f"{story}/v1/articles", json=item)
            assert response.status_code == 200, response.text
        alone = (time.perf_counter() - started) / m
        lines.append(f"story service alone, one at a time: {alone * 1000:6.2f} ms/article "
                     f"= at most {1 / alone:7.1f} articles/s through one in-order relay")
        lines.append(f"story had {base + m} attached articles at the end")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--pg-url", default=os.environ.get("STORYWIRE_TEST_PG_URL",
                                                           DEFAULT_PG_URL))
    args = parser.parse_args(argv)
    name = f"storywire_bench_ingest_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    db_url = f"{args.pg_url.rsplit('/', 1)[0]}/{name}"
    ports = {"story": free_port(), "ingest": free_port()}
    env = {**os.environ, "STORYWIRE_DATABASE_URL": db_url, "STORYWIRE_API_KEY": KEY,
           "STORYWIRE_STORY_URL": f"http://127.0.0.1:{ports['story']}",
           "STORYWIRE_RELAY_INTERVAL": "0.05", "STORYWIRE_LOG_LEVEL": "WARNING",
           "PYTHONPATH": str(ROOT)}
    procs = []
    try:
        subprocess.run([sys.executable, "-m", "services.cli", "migrate", "ingest", "story"],
                       env=env, check=True, capture_output=True, cwd=ROOT)
        for service in ("story", "ingest"):
            proc = subprocess.Popen([sys.executable, "-m", "services.cli", "serve", service,
                                     "--port", str(ports[service])], env=env, cwd=ROOT,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            procs.append(proc)
            wait_ready(f"http://127.0.0.1:{ports[service]}", proc)
        print(f"ingest bench: {args.articles} articles per run, story and ingest as uvicorn "
              f"processes on PostgreSQL, {os.cpu_count()} CPUs")
        lines = asyncio.run(measure(f"http://127.0.0.1:{ports['ingest']}",
                                    f"http://127.0.0.1:{ports['story']}", args.articles))
        for line in lines:
            print(line)
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(15)
        with psycopg.connect(args.pg_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
