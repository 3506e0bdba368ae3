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
from shared.settings import Settings

log = logging.getLogger("storywire.ingest.relay")
BATCH_BYTES = Settings.model_fields["relay_batch_bytes"].default


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


def within_bytes(due: list, max_bytes: int) -> list:
    """The longest head of `due` whose bodies fit in `max_bytes` (always at least one)."""
    total = 0
    for count, (_, article) in enumerate(due):
        total += len(article.body.encode())
        if count and total > max_bytes:
            return due[:count]
    return due


async def relay_once(engine: Engine, client: StoryClient, batch: int,
                     max_bytes: int = BATCH_BYTES) -> int:
    """Forward what is due as one batch, in acceptance order. If the forward fails, the first
    article waits (backing off) and nothing overtakes it. The forwards are recorded after the
    story service answered; a crash before that only repeats them, which the story service
    recognises. Returns how many were forwarded.
    """
    due = within_bytes(await asyncio.to_thread(store.due_messages, engine, batch, utcnow()),
                       max_bytes)
    if not due:
        return 0
    try:
        results = await client.attach_articles([forward_payload(a) for _, a in due])
    except (httpx.HTTPError, ValueError, KeyError) as exc:
        message, article = due[0]
        delay = retry_delay(message.attempts)
        log.warning("forward of %d articles from %s failed (%s); retry in %.1fs",
                    len(due), article.id, type(exc).__name__, delay.total_seconds())
        await asyncio.to_thread(store.mark_failed, engine, message.id, str(exc), delay)
        return 0
    forwarded = [(message.id, article.id, result["stories"])
                 for (message, article), result in zip(due, results, strict=True)]
    await asyncio.to_thread(store.mark_forwarded, engine, forwarded)
    return len(forwarded)


async def run_relay(engine: Engine, client: StoryClient, interval: float, batch: int,
                    max_bytes: int) -> None:
    while True:
        try:
            sent = await relay_once(engine, client, batch, max_bytes)
        except Exception:  # the loop must outlive a database hiccup
            log.exception("relay pass failed")
            sent = 0
        if sent < batch:
            await asyncio.sleep(interval)
