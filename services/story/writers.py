"""Story writers in worker processes, so that stories are analyzed on several cores.

Each story belongs to one shard, by a stable hash of its slug; the shard's process keeps that
story's writer state (what the analysis knows) and appends its events. A batch of articles goes
to every shard at once, each analysing it against its own stories. Stories never depend on one
another, so the answers are the ones a single writer gives; the event store's expected-version
check still guards each stream against any other writer.
"""

import logging
import os
import threading
import time
import zlib
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

from services.story.analysis import Analysis, Article

log = logging.getLogger("storywire.story.writers")

_writer = None  # the StoryService of a worker process


def _start(db_url: str, parent: int) -> None:
    from services.story.service import StoryService
    from shared import tracing
    from shared.db import get_engine
    from shared.eventstore import EventStore
    from shared.settings import get_settings

    global _writer
    tracing.configure(get_settings(), "storywire-story")
    _writer = StoryService(EventStore(get_engine(db_url)))
    threading.Thread(target=_exit_with, args=(parent,), daemon=True).start()


def _exit_with(parent: int) -> None:
    """A writer whose service was killed exits too (a half-done append rolls back, and the
    relay sends the batch again to the service that replaces it)."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _attach(slugs: list[str], items: list[tuple[Article, str | None]], context: dict | None,
            leases: dict | None = None) -> dict[str, list[Analysis] | None]:
    return _writer.attach_to_stories(slugs, items, context, leases)


def shard_of(slug: str, shards: int) -> int:
    return zlib.crc32(slug.encode()) % shards


class ShardedWriters:
    """`count` worker processes, each writing the stories of its shard."""

    def __init__(self, db_url: str, count: int):
        self.db_url = db_url
        self.count = count
        self._pools = [self._pool() for _ in range(count)]

    def _pool(self) -> ProcessPoolExecutor:
        # spawned, not forked: a child must not inherit the parent's database connections
        return ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"),
                                   initializer=_start, initargs=(self.db_url, os.getpid()))

    def attach(self, slugs: list[str], items: list[tuple[Article, str | None]],
               context: dict | None = None, leases: dict | None = None
               ) -> dict[str, list[Analysis] | None]:
        """What `StoryService.attach_to_stories` answers, each shard doing its own stories
        (their appends fenced by `leases`, by slug, if given)."""
        groups: dict[int, list[str]] = {}
        for slug in slugs:
            groups.setdefault(shard_of(slug, self.count), []).append(slug)
        futures = {shard: self._submit(shard, group, items, context,
                                       {s: leases[s] for s in group} if leases else None)
                   for shard, group in groups.items()}
        found: dict[str, list[Analysis] | None] = {}
        failure = None
        for shard, future in futures.items():
            try:
                found.update(future.result())
            except BrokenProcessPool as exc:  # the process died: the next batch gets a new one
                log.error("story writer %d died; starting another", shard)
                self._pools[shard] = self._pool()
                failure = failure or exc
            except Exception as exc:  # noqa: BLE001 - wait for every shard, then raise
                failure = failure or exc
        if failure is not None:
            raise failure
        return {slug: found[slug] for slug in slugs}

    def _submit(self, shard: int, slugs: list[str], items: list[tuple[Article, str | None]],
                context: dict | None, leases: dict | None):
        try:
            return self._pools[shard].submit(_attach, slugs, items, context, leases)
        except BrokenProcessPool:  # it died while idle: nothing ran, so a new one may start
            log.error("story writer %d had died; starting another", shard)
            self._pools[shard] = self._pool()
            return self._pools[shard].submit(_attach, slugs, items, context, leases)

    def close(self) -> None:
        for pool in self._pools:
            pool.shutdown(wait=True, cancel_futures=True)
