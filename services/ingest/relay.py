"""The outbox relay: forwards accepted articles to the story service, in order, until it lands."""

import asyncio
import logging
import random
from datetime import timedelta

import httpx
from sqlalchemy import Engine

from services.ingest import store
from services.ingest.clients import StoryClient
from services.ingest.models import IngestArticle
from shared.db import utcnow

log = logging.getLogger("storywire.ingest.relay")


def retry_delay(attempts: int, rng: random.Random | None = None) -> timedelta:
    """Exponential backoff from 0.5 s, capped at one minute, with ±20 % jitter."""
    base = min(60.0, 0.5 * 2 ** attempts)
    return timedelta(seconds=base * (rng or random).uniform(0.8, 1.2))


def forward_payload(article: IngestArticle) -> dict:
    return {
        "id": article.id,
        "outlet": article.outlet,
        "url": article.url,
        "title": article.title,
        "published_at": article.published_at.isoformat(),
        "body": article.body,
        "revision_of": article.revision_of,
    }


async def relay_once(engine: Engine, client: StoryClient, batch: int) -> int:
    """Forward what is due, one at a time in acceptance order; stops at the first failure so
    that nothing overtakes it. Forwards are recorded together at the end of the pass (a crash
    before that only repeats forwards, which the story service recognises). Returns the count.
    """
    due = await asyncio.to_thread(store.due_messages, engine, batch, utcnow())
    forwarded = []
    try:
        for message, article in due:
            try:
                result = await client.attach_article(forward_payload(article))
            except (httpx.HTTPError, ValueError) as exc:
                delay = retry_delay(message.attempts)
                log.warning("forward of article %s failed (%s); retry in %.1fs",
                            article.id, type(exc).__name__, delay.total_seconds())
                await asyncio.to_thread(store.mark_failed, engine, message.id, str(exc), delay)
                break
            forwarded.append((message.id, article.id, result["stories"]))
    finally:
        await asyncio.to_thread(store.mark_forwarded, engine, forwarded)
    return len(forwarded)


async def run_relay(engine: Engine, client: StoryClient, interval: float, batch: int) -> None:
    while True:
        try:
            sent = await relay_once(engine, client, batch)
        except Exception:  # the loop must outlive a database hiccup
            log.exception("relay pass failed")
            sent = 0
        if sent < batch:
            await asyncio.sleep(interval)
