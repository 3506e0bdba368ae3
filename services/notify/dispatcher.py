"""The dispatcher: follows the story feed from its checkpoint and turns developments into
delivery rows, then hands due deliveries to Celery by id."""

import asyncio
import logging
import time
from collections.abc import Callable

import httpx
from sqlalchemy import Engine

from services.notify import store
from services.notify.clients import StoryFeedClient
from shared.wakeup import Waiter

log = logging.getLogger("storywire.notify.dispatcher")


GROUP = 50  # deliveries a task sends at once


def hand_over(engine: Engine, delivery_ids: list[str], enqueue: Callable[[list[str]], None],
              group: int = GROUP) -> int:
    """Enqueue deliveries marked enqueued, in order, in groups of `group` (a task each).
    When the broker refuses a group (it is down), that group and the rest are marked not
    enqueued again, so the next pass retries them. Returns how many reached the broker."""
    for done in range(0, len(delivery_ids), group):
        try:
            enqueue(delivery_ids[done:done + group])
        except Exception as exc:  # the broker's errors vary by transport
            store.release(engine, delivery_ids[done:])
            log.warning("broker unavailable (%s); %d deliveries wait for the next pass",
                        type(exc).__name__, len(delivery_ids) - done)
            return done
    return len(delivery_ids)


async def dispatch_once(engine: Engine, feed: StoryFeedClient, enqueue: Callable[[list[str]], None],
                        batch: int, public_url: str) -> int:
    """One pass: read a page of the feed, record deliveries, enqueue what is due.

    Returns the number of feed events consumed.
    """
    after = await asyncio.to_thread(store.feed_position, engine)
    page = await feed.read_events(after, batch)
    if page["events"]:
        await asyncio.to_thread(store.record_deliveries, engine, page["events"],
                                page["next_after"], public_url)
    due = await asyncio.to_thread(store.take_due, engine)
    await asyncio.to_thread(hand_over, engine, due, enqueue)  # a broker outage blocks a while
    return len(page["events"])


async def close_digests(engine: Engine, enqueue: Callable[[list[str]], None]) -> None:
    created = await asyncio.to_thread(store.close_digests, engine)
    await asyncio.to_thread(hand_over, engine, created, enqueue)


async def run_dispatcher(engine: Engine, feed: StoryFeedClient,
                         enqueue: Callable[[list[str]], None], interval: float, batch: int,
                         public_url: str, digest_every: float | None = None,
                         waiter: Waiter | None = None) -> None:
    """Follow the feed, waiting between passes for the feed's wake-up (`waiter`: events
    appended) or at most `interval` seconds, the poll that catches what no wake-up announced.
    `digest_every`: also close digest windows this often (where no beat process runs)."""
    next_digests = 0.0
    while True:
        try:
            if digest_every and time.monotonic() >= next_digests:
                next_digests = time.monotonic() + digest_every
                await close_digests(engine, enqueue)
            consumed = await dispatch_once(engine, feed, enqueue, batch, public_url)
        except httpx.HTTPError as exc:
            log.warning("story feed unavailable (%s); retrying", type(exc).__name__)
            consumed = 0
        except Exception:  # the loop must outlive a database hiccup
            log.exception("dispatch pass failed")
            consumed = 0
        if consumed < batch:
            await (waiter.wait(interval) if waiter else asyncio.sleep(interval))
