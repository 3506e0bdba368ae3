"""Ingest throughput with real processes on PostgreSQL.

Starts the story and ingest services as uvicorn processes on a fresh PostgreSQL database
(created here, dropped at the end) and measures two workloads:

* `short`: three-sentence articles on the Guzman story (about 400 bytes each);
* `corpus`: the 204 labelled articles of tests/ (19 stories, defined first; wire, local-paper
  and court-register styles, about 1.5 KB each, some off-topic), in publish order. Beyond 204,
  each further pass re-sends them as updated copies (new URL, "Update k:" opening), as wires do.

For each: articles per second that ingest accepts (202), from single POSTs by 8 concurrent
clients and from POST /v1/articles:batch with 100 a request; and end to end, from the first POST
until the story service has answered for every article (routed against every story, analysed,
appended), as ingest's article status shows. Then, as the baseline for the relay's batching,
the story service alone in the same run: the same kind of articles POSTed straight to it one
at a time (how the relay forwarded before batching) against batches of 50 (how it forwards now).

Each workload runs with the story service's articles analysed in its own process
(STORYWIRE_STORY_WRITERS=1, the baseline) and in two writer processes, each for a share of the
stories (=2); the short workload has one story, so there the second process has nothing to do.

    .venv/bin/python bench/ingest.py [--articles 1000] [--workloads short corpus]
                                      [--writers 1 2] [--pg-url postgresql://...]
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
sys.path.insert(0, str(ROOT))

from services.story.analysis.corpus import load_corpus  # noqa: E402

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
KEY = "bench-operator-key"
AUTH = {"authorization": f"Bearer {KEY}"}
LABELLED = ("corpus", "holdout", "blind", "blind2", "blind3", "blind4")
CLIENTS = 8
STORY_BATCH = 50


def short_articles(run: str, n: int) -> list[dict]:
    return [{
        "outlet": f"Court Wire {i % 7}",
        "url": f"https://wire.example/{run}/guzman-{i}",
        "title": f"Guzman stays in solitary, judge rules (update {i})",
        "published_at": f"2017-05-{4 + i % 20:02d}T{i % 24:02d}:00:00Z",
        "body": (f"A federal judge refused to release Joaquin Guzman from solitary confinement, "
                 f"court filing {i} shows.\n\nU.S. District Judge Brian Cogan rejected the "
                 f"request to let Amnesty International observers visit him, docket entry {i} "
                 f"says. The court will hold a hearing on Friday on motion {i}."),
    } for i in range(n)]


def corpus_stories() -> tuple[list[dict], list[dict]]:
    """The labelled stories' definitions, and all their articles in publish order."""
    stories, articles = [], []
    for root in LABELLED:
        for story in load_corpus(ROOT / "tests" / root):
            stories.append(story.story)
            articles += story.articles
    return stories, sorted(articles, key=lambda a: (a["published_at"], a["id"]))


def corpus_articles(run: str, n: int, originals: list[dict]) -> list[dict]:
    items = []
    for i in range(n):
        original, copy = originals[i % len(originals)], i // len(originals)
        body = original["body"] if copy == 0 else f"Update {copy}: {original['body']}"
        items.append({key: original[key] for key in ("outlet", "title", "published_at")}
                     | {"url": f"{original['url']}?{run}-{copy}", "body": body})
    return items


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


async def post_singles(http, ingest, items) -> list[str]:
    queue, ids = list(enumerate(items))[::-1], [None] * len(items)

    async def client():
        while queue:
            index, item = queue.pop()
            response = await http.post(f"{ingest}/v1/articles", json=item)
            assert response.status_code == 202, response.text
            ids[index] = response.json()["id"]

    await asyncio.gather(*(client() for _ in range(CLIENTS)))
    return ids


async def post_batches(http, ingest, items) -> list[str]:
    ids = []
    for start in range(0, len(items), 100):
        response = await http.post(f"{ingest}/v1/articles:batch",
                                   json={"articles": items[start:start + 100]})
        body = response.json()
        assert response.status_code == 207 and body["counts"]["rejected"] == 0, response.text
        ids += [r["article"]["id"] for r in body["results"]]
    return ids


async def answered(http, ingest, article_id: str) -> bool:
    status = (await http.get(f"{ingest}/v1/articles/{article_id}")).json()["status"]
    return status != "accepted"


async def until_answered(http, ingest, ids: list[str], started: float) -> float:
    """Seconds from `started` until the story service answered for every article. The relay
    forwards in acceptance order, so the newest ones finish last: wait for them one at a time
    (one status request each 20 ms: polling all of them at once was hundreds of requests a
    second, a third of a core taken from the services measured), then check every article
    (untimed)."""
    for article_id in ids[-CLIENTS:]:
        while not await answered(http, ingest, article_id):
            await asyncio.sleep(0.02)
    elapsed = time.perf_counter() - started
    for article_id in ids:
        while not await answered(http, ingest, article_id):
            await asyncio.sleep(0.05)
            elapsed = time.perf_counter() - started
    return elapsed


async def story_alone(http, story, items) -> tuple[float, float]:
    """ms per article: POSTed straight to the story service one at a time, then in batches."""
    half = len(items) // 2
    singles = [dict(a, id=str(uuid.uuid4())) for a in items[:half]]
    batched = [dict(a, id=str(uuid.uuid4())) for a in items[half:]]
    started = time.perf_counter()
    for item in singles:
        response = await http.post(f"{story}/v1/articles", json=item)
        assert response.status_code == 200, response.text
    one = (time.perf_counter() - started) / len(singles)
    started = time.perf_counter()
    for start in range(0, len(batched), STORY_BATCH):
        response = await http.post(f"{story}/v1/articles:batch",
                                   json={"articles": batched[start:start + STORY_BATCH]})
        assert response.status_code == 200, response.text
    many = (time.perf_counter() - started) / len(batched)
    return one * 1000, many * 1000


async def measure(ingest: str, story: str, workload: str, n: int) -> list[str]:
    lines = []
    limits = httpx.Limits(max_connections=32)
    async with httpx.AsyncClient(headers=AUTH, timeout=300, limits=limits) as http:
        if workload == "corpus":
            stories, originals = corpus_stories()
            for definition in stories:
                response = await http.post(f"{story}/v1/stories", json=definition)
                assert response.status_code in (201, 409), response.text

            def make(run, count):
                return corpus_articles(run, count, originals)
        else:
            make = short_articles
        sizes = []
        for how, post in (("single POSTs (8 clients)", post_singles),
                          ("batches of 100", post_batches)):
            items = make(f"{how[:6]}-{uuid.uuid4().hex[:6]}", n)
            sizes += [len(a["body"].encode()) for a in items]
            started = time.perf_counter()
            ids = await post(http, ingest, items)
            accepted = time.perf_counter() - started
            total = await until_answered(http, ingest, ids, started)
            lines.append(f"  {how:<25} accepted {n / accepted:7.1f} articles/s ({accepted:6.2f}s)"
                         f"; end to end {n / total:7.1f} articles/s ({total:6.2f}s)")
        items = make(f"alone-{uuid.uuid4().hex[:6]}", min(n, 400))
        one, many = await story_alone(http, story, items)
        lines.append(f"  story service alone: {one:6.2f} ms/article one at a time, "
                     f"{many:6.2f} ms/article in batches of {STORY_BATCH} "
                     f"({one / many:.2f}x the baseline's throughput)")
        lines.insert(0, f"{workload}: {n} articles a run, {sum(sizes) / len(sizes):,.0f} bytes "
                        f"of body on average")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--workloads", nargs="+", choices=("short", "corpus"),
                        default=["short", "corpus"])
    parser.add_argument("--writers", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--pg-url", default=os.environ.get("STORYWIRE_TEST_PG_URL",
                                                           DEFAULT_PG_URL))
    args = parser.parse_args(argv)
    print(f"ingest bench: story and ingest as uvicorn processes on PostgreSQL, "
          f"{os.cpu_count()} CPUs")
    for workload in args.workloads:
        for writers in args.writers:
            print(f"{workload}, {writers} story writer process(es):", flush=True)
            for line in run_workload(args.pg_url, workload, args.articles, writers):
                print(line, flush=True)
    return 0


def run_workload(pg_url: str, workload: str, n: int, writers: int) -> list[str]:
    """One workload on its own fresh database and service processes."""
    name = f"storywire_bench_ingest_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    db_url = f"{pg_url.rsplit('/', 1)[0]}/{name}"
    ports = {"story": free_port(), "ingest": free_port()}
    env = {**os.environ, "STORYWIRE_DATABASE_URL": db_url, "STORYWIRE_API_KEY": KEY,
           "STORYWIRE_STORY_URL": f"http://127.0.0.1:{ports['story']}",
           "STORYWIRE_RELAY_INTERVAL": "0.05", "STORYWIRE_LOG_LEVEL": "WARNING",
           "STORYWIRE_STORY_WRITERS": str(writers),
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
        return asyncio.run(measure(f"http://127.0.0.1:{ports['ingest']}",
                                   f"http://127.0.0.1:{ports['story']}", workload, n))
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(15)
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    sys.exit(main())
