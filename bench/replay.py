"""Replay speed from PostgreSQL: a story whose analyses are stored as ArticleAnalyzed 1 (every
sentence's text again, read through the upcaster) against the same story stored as version 2
(sentences as spans of the attached body), in the same run and database.

    .venv/bin/python bench/replay.py [--pg-url postgresql://postgres@127.0.0.1:5432/postgres]
                                     [--articles 10000] [--rounds 3]

Creates and drops its own database. Both stories hold the same synthetic events (bench/api.py's
shapes: about 3 events an article, eight sentences each); `storywire replay`'s function
rebuilds each story `--rounds` times, the two alternating, and the median of each is printed
with their ratio, with the time to load the snapshot the replay leaves.
"""

import argparse
import random
import statistics
import sys
import time
import uuid
from dataclasses import replace
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from api import article_events, scratch_database  # noqa: E402

from services.story import events as ev  # noqa: E402
from services.story.replay import replay  # noqa: E402
from services.story.store import Snapshots  # noqa: E402
from shared.db import get_engine  # noqa: E402
from shared.eventstore import EventStore  # noqa: E402
from shared.migrate import upgrade  # noqa: E402


def as_version_2(events: list) -> list:
    """The same events with the analysis stored as version 2."""
    body = events[0].data["article"]["body"]
    out = [events[0]]
    for event in events[1:]:
        if event.type == ev.ARTICLE_ANALYZED:
            analysis = {**event.data["analysis"],
                        "sentences": ev.sentence_refs(event.data["analysis"]["sentences"], body)}
            event = replace(event, data={**event.data, "analysis": analysis},
                            schema_version=ev.ARTICLE_ANALYZED_SCHEMA)
        out.append(event)
    return out


def fill(store: EventStore, slug: str, articles: int, version: int) -> int:
    stream = ev.story_stream(slug)
    store.append(stream, [ev.story_defined({"slug": slug, "title": "Bench story",
                                            "entities": ["Judge Example"]})])
    rng = random.Random(7)
    batch = []
    for i in range(articles):
        events = [replace(e, event_id=str(uuid.uuid4())) for e in article_events(i, rng)]
        batch += as_version_2(events) if version == 2 else events
        if len(batch) >= 500:
            store.append(stream, batch)
            batch = []
    if batch:
        store.append(stream, batch)
    return store.stream_version(stream)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--articles", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with scratch_database(args.pg_url, "storywire_bench_replay") as url:
        engine = get_engine(url)
        upgrade("story", engine)
        store = EventStore(engine)
        stories = {1: "stored-as-1", 2: "stored-as-2"}
        for version, slug in stories.items():
            events = fill(store, slug, args.articles, version)
            with engine.connect() as conn:
                analyses, size = conn.exec_driver_sql(
                    "SELECT sum(pg_column_size(data)) FILTER (WHERE type = 'ArticleAnalyzed'), "
                    "sum(pg_column_size(data)) FROM events WHERE stream_id = %s",
                    (ev.story_stream(slug),)).one()
            print(f"ArticleAnalyzed {version}: {args.articles} articles, {events} events, "
                  f"{size / 1e6:.1f} MB of event data, {analyses / 1e6:.1f} MB of it analyses")
        rates: dict[int, list[float]] = {1: [], 2: []}
        views = {}
        for _ in range(args.rounds):
            for version, slug in stories.items():
                result = replay(store, slug, report=lambda line: None)
                rates[version].append(result["events_per_second"])
                view = result["views"][slug].to_dict()
                views[version] = orjson.dumps({k: v for k, v in view.items() if k not in (
                    "created_at", "updated_at")}).replace(slug.encode(), b"")  # times differ
        same = views[1] == views[2]
        snapshots = Snapshots(engine)
        for version, slug in stories.items():
            started = time.perf_counter()
            _, snapshot = snapshots.latest(ev.story_stream(slug))
            load_ms = (time.perf_counter() - started) * 1000
            size = len(orjson.dumps(snapshot)) / 1e6
            rate = statistics.median(rates[version])
            print(f"replay, ArticleAnalyzed {version}: median {rate:>9,.0f} events/s (rounds: "
                  f"{', '.join(f'{r:,.0f}' for r in rates[version])}); "
                  f"snapshot load {load_ms:.1f} ms ({size:.1f} MB)")
        ratio = statistics.median(rates[2]) / statistics.median(rates[1])
        print(f"version 2 / version 1: {ratio:.2f}x; the two views "
              f"{'are the same' if same else 'DIFFER'} (but for slug and times)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
