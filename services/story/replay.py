"""`storywire replay`: rebuild story views from their events, from scratch."""

import sys
import time
from collections.abc import Callable

from services.story import events as ev
from services.story.projection import StoryView
from services.story.service import READ_PAGE
from services.story.store import SNAPSHOTTER, Snapshots, checkpoints, collector_paused
from shared.eventstore import EventStore


def progress_bar(label: str, done: int, total: int, width: int = 30) -> str:
    filled = width * done // total if total else width
    return f"\r{label:<40} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}"


def replay(store: EventStore, slug: str | None = None,
           report: Callable[[str], None] | None = None) -> dict:
    """Drop the snapshots of one story (or all), replay their streams into fresh views and
    store one snapshot each at the head. Returns counts and the rate in events per second."""
    report = report or (lambda line: print(line, end="", file=sys.stderr, flush=True))
    snapshots = Snapshots(store.engine)
    slugs = [slug] if slug else [ev.slug_of(s) for s in store.stream_ids(ev.STORY_PREFIX)]
    snapshots.drop(ev.story_stream(slug) if slug else None)
    if slug is None:
        with store.engine.begin() as conn:
            checkpoints.advance(conn, SNAPSHOTTER, 0)
    total_events, started = 0, time.perf_counter()
    views = {}
    for name in slugs:
        stream = ev.story_stream(name)
        total = store.stream_version(stream)
        view = StoryView(name)
        with collector_paused():
            while view.version < total:
                for event in store.read_stream(stream, view.version + 1, READ_PAGE):
                    view.apply(event)
                report(progress_bar(name, view.version, total))
        report("\n")
        if view.version:
            with store.engine.begin() as conn:
                snapshots.save(conn, stream, view.version, view.to_dict())
        total_events += view.version
        views[name] = view
    seconds = time.perf_counter() - started
    return {"stories": len(slugs), "events": total_events, "seconds": seconds,
            "events_per_second": total_events / seconds if seconds else 0.0, "views": views}
