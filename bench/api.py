"""Story API throughput on a story with 10,000 articles, against a bare FastAPI endpoint served
the same way (the ceiling), and replay speed.

    .venv/bin/python bench/api.py [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]
                                  [--articles 10000] [--seconds 5] [--concurrency 8]

Creates and drops its own PostgreSQL database. The story is filled with synthetic events of
the shapes the analysis engine appends (about 3.5 events an article), so that filling it takes
seconds rather than an analysis run per article.
"""

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.story import events as ev  # noqa: E402
from services.story.projection import StoryView  # noqa: E402
from services.story.replay import replay  # noqa: E402
from shared.db import dispose_engine, get_engine  # noqa: E402
from shared.eventstore import EventStore, NewEvent  # noqa: E402
from shared.migrate import upgrade  # noqa: E402

SLUG = "bench-story"
WORDS = ("court judge motion hearing filed ruled defense prosecutors appeal jail request "
         "detention lawyer order trial evidence witness sentence counsel federal").split()
TYPES = [("ruling", "denied"), ("ruling", "granted"), ("hearing", "scheduled"),
         ("hearing", "held"), ("filing", None), ("statement", None)]
OUTLETS = ["Harbor Wire", "Metro Ledger", "Court Reporter", "Daily Courier", "Valley Times"]


def sentence(rng: random.Random) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(14, 26))).capitalize() + "."


def article_events(i: int, rng: random.Random) -> list[NewEvent]:
    article_id = f"a{i:06d}"
    published = f"2017-{1 + i % 12:02d}-{1 + i % 28:02d}T12:00:00+00:00"
    sentences = [sentence(rng) for _ in range(8)]
    ref = {"id": article_id, "outlet": OUTLETS[i % len(OUTLETS)],
           "url": f"https://news.example/{article_id}", "title": f"Article {i}",
           "published_at": published}
    verdicts = []
    for n, text in enumerate(sentences):
        known = i > 0 and rng.random() < 0.4
        match = ({"article_id": f"a{rng.randrange(i):06d}", "sentence_index": rng.randrange(8),
                  "score": 92.0} if known else None)
        verdicts.append({"text": text, "index": n, "known": known, "match": match,
                         "new_names": []})
    out = [
        NewEvent(ev.ARTICLE_ATTACHED, {"story": SLUG, "article": {
            **ref, "body": "\n\n".join(sentences)}, "route_score": 0.8}),
        NewEvent(ev.ARTICLE_ANALYZED, {"story": SLUG, "analysis": {
            "article_id": article_id, "on_story": True, "duplicate_of": None,
            "aligned_fraction": 0.0, "sentences": verdicts}}),
    ]
    if i % 2 == 0:
        type_, outcome = TYPES[i % len(TYPES)]
        dev_id = f"d{i:06d}"
        out.append(NewEvent(ev.DEVELOPMENT_DETECTED, {
            "story": SLUG, "story_title": "Bench story", "article": ref, "development": {
                "id": dev_id, "type": type_, "outcome": outcome, "date": published[:10],
                "actors": ["Judge Example"], "evidence": sentences[0], "article_id": article_id,
                "matter_id": f"m{i % 50}", "summary": f"{type_} {outcome or ''}".strip()}}))
        out.append(NewEvent(ev.MATTER_STATUS_CHANGED, {
            "story": SLUG, "matter_id": f"m{i % 50}", "title": f"matter {i % 50}",
            "from_status": None, "to_status": outcome or type_, "date": published[:10],
            "development_id": dev_id, "article": ref}))
    return out


def fill(store: EventStore, articles: int) -> int:
    store.append(ev.story_stream(SLUG), [ev.story_defined({
        "slug": SLUG, "title": "Bench story", "entities": ["Judge Example"]})])
    rng = random.Random(7)
    for i in range(articles):
        store.append(ev.story_stream(SLUG), article_events(i, rng))
        if i % 1000 == 999:
            print(f"  filled {i + 1} articles", file=sys.stderr)
    return store.stream_version(ev.story_stream(SLUG))


async def load(url: str, seconds: float, concurrency: int, headers=None) -> tuple[float, int]:
    done = 0
    statuses = set()
    deadline = time.perf_counter() + seconds
    async with httpx.AsyncClient(timeout=30, headers=headers or {}) as client:
        async def worker():
            nonlocal done
            while time.perf_counter() < deadline:
                response = await client.get(url)
                statuses.add(response.status_code)
                done += 1
        for _ in range(concurrency):  # warm the connections
            await client.get(url)
        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    return done / elapsed, min(statuses)


def serve(args: list[str], env: dict, port: int) -> subprocess.Popen:
    proc = subprocess.Popen([sys.executable, *args], env={**os.environ, **env}, cwd=ROOT,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"server on {port} did not start")


def bare_app():
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/healthz")
    async def healthz():
        return {"status": "ok"}

    @app.get("/bare")
    async def bare():
        return {"slug": SLUG, "version": 1, "title": "Bench story"}

    return app


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--serve-bare", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        import uvicorn
        uvicorn.run(bare_app(), host="127.0.0.1", port=args.serve_bare, log_level="warning")
        return 0

    with scratch_database(args.pg_url, "storywire_bench_api") as url:
        measure(url, args)
    return 0


@contextmanager
def scratch_database(pg_url: str, prefix: str):
    """The URL of a new PostgreSQL database, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    url = f"{pg_url.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url
    finally:
        dispose_engine(url)
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def measure(url: str, args) -> None:
    procs = []
    try:
        engine = get_engine(url)
        upgrade("story", engine)
        store = EventStore(engine)
        started = time.perf_counter()
        version = fill(store, args.articles)
        print(f"story: {args.articles} articles, {version} events "
              f"(filled in {time.perf_counter() - started:.1f}s)")

        result = replay(store, SLUG, report=lambda line: None)
        events = store.read_stream(ev.story_stream(SLUG))
        started = time.perf_counter()
        view = StoryView(SLUG)
        for event in events:
            view.apply(event)
        apply_rate = len(events) / (time.perf_counter() - started)
        print(f"replay: {result['events_per_second']:,.0f} events/s from the database "
              f"({result['seconds']:.2f}s); {apply_rate:,.0f} events/s applying in memory")

        story_port, bare_port = 18102, 18199
        env = {"STORYWIRE_DATABASE_URL": url, "STORYWIRE_LOG_LEVEL": "WARNING"}
        procs.append(serve(["-m", "services.cli", "serve", "story", "--port", str(story_port)],
                           env, story_port))
        procs.append(serve([__file__, "--serve-bare", str(bare_port)], {}, bare_port))
        story = f"http://127.0.0.1:{story_port}/v1/stories/{SLUG}"
        httpx.get(story, timeout=120)  # the service loads its view once
        tag = httpx.get(f"{story}/timeline").headers["etag"]
        cases = [
            ("bare FastAPI endpoint (ceiling)", f"http://127.0.0.1:{bare_port}/bare", None),
            ("GET story state", story, None),
            ("GET timeline (first page of 50)", f"{story}/timeline", None),
            ("GET timeline, If-None-Match (304)", f"{story}/timeline", {"if-none-match": tag}),
        ]
        rows = []
        for label, target, headers in cases:
            rate, status = asyncio.run(load(target, args.seconds, args.concurrency, headers))
            rows.append((label, rate, status))
        ceiling = rows[0][1]
        print(f"\nrequests/s, {args.concurrency} concurrent clients, {args.seconds:.0f}s each, "
              "uvicorn (one process) on loopback:")
        for label, rate, status in rows:
            print(f"  {label:<36} {rate:>8,.0f} req/s  (HTTP {status})  "
                  f"{rate / ceiling:.2f}x of the ceiling")
    finally:
        for proc in procs:
            proc.terminate()
            proc.wait(10)


if __name__ == "__main__":
    sys.exit(main())
