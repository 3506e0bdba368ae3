"""The outbox relay: forwards accepted articles to the story service, in order, until each lands
or, refused again and again by a ready story service, is parked as failed."""

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
from shared.logs import bound
from shared.redact import redact
from shared.settings import Settings
from shared.wakeup import Waiter

log = logging.getLogger("storywire.ingest.relay")
BATCH_BYTES = Settings.model_fields["relay_batch_bytes"].default
MAX_TRIES = Settings.model_fields["relay_max_tries"].default


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


# answers a retry cannot change: the story service read the request and will not take it
UNACCEPTABLE = frozenset({400, 413, 415, 422})


def refused(exc: Exception) -> bool:
    """Whether a failed forward is the story service failing on these articles (a 5xx other
    than 503, a 4xx that no retry changes, an error it raised in process, an answer it should
    not give) rather than it being away or busy (no connection, a timeout, 503, 429, a key it
    does not take), which only calls for waiting."""
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        return status in UNACCEPTABLE or (status >= 500 and status != 503)
    return not isinstance(exc, httpx.TransportError)


def failure_text(exc: Exception) -> str:
    """What went wrong, for the article's status and the log: the story service's status and
    the start of its answer, or the kind of error; never a URL, and redacted."""
    if isinstance(exc, httpx.HTTPStatusError):
        answer = " ".join(exc.response.text[:200].split())
        text = f"HTTP {exc.response.status_code} from the story service: {answer}"
    else:
        text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return redact(text)[:300]


async def relay_once(engine: Engine, client: StoryClient, batch: int,
                     max_bytes: int = BATCH_BYTES, max_tries: int = MAX_TRIES) -> int:
    """Forward what is due as one batch, in acceptance order. If the story service is away,
    the first article waits (backing off) and nothing overtakes it. If it refuses the batch
    while ready, the batch is halved until the article it refuses stands alone: the articles
    before it are forwarded, and it waits, going alone, until it is accepted or, refused
    `max_tries` times, parked; then those behind it move on. The forwards are recorded after
    the story service answered; a crash before that only repeats them, which the story
    service recognises. Returns how many were forwarded.
    """
    due = within_bytes(await asyncio.to_thread(store.due_messages, engine, batch, utcnow()),
                       max_bytes)
    if due and due[0][0].refusals:
        due = due[:1]
    forwarded, _settled = await _forward(engine, client, due, max_tries)
    return forwarded


async def _forward(engine: Engine, client: StoryClient, due: list, max_tries: int
                   ) -> tuple[int, bool]:
    """Forward `due` in order: how many were forwarded, and whether every one of them is
    settled (forwarded or parked) so that what comes after may follow."""
    if not due:
        return 0, True
    try:
        results = await client.attach_articles([forward_payload(a) for _, a in due])
    except Exception as exc:  # noqa: BLE001 - in process, the story service's own errors
        if refused(exc) and len(due) > 1:
            half = len(due) // 2
            first, settled = await _forward(engine, client, due[:half], max_tries)
            if not settled:
                return first, False
            rest, settled = await _forward(engine, client, due[half:], max_tries)
            return first + rest, settled
        is_refusal = refused(exc) and await client.ready()
        return 0, await _failed(engine, due, exc, max_tries if is_refusal else None)
    forwarded = [(message.id, article.id, result["stories"])
                 for (message, article), result in zip(due, results, strict=True)]
    await asyncio.to_thread(store.mark_forwarded, engine, forwarded)
    for _message_id, article_id, stories in forwarded:
        with bound(article_id=article_id):
            log.info("article forwarded: %s", ", ".join(stories) or "on no story")
    return len(forwarded), True


async def _failed(engine: Engine, due: list, exc: Exception, park_after: int | None) -> bool:
    message, article = due[0]
    delay = retry_delay(message.attempts)
    error = failure_text(exc)
    parked = await asyncio.to_thread(store.mark_failed, engine, message.id, error, delay,
                                     park_after)
    with bound(article_id=article.id):
        if parked:
            log.error("article %s parked as failed: the story service refused it %d times "
                      "(%s); redrive it once that is fixed", article.id, park_after, error)
        elif park_after:
            log.warning("the story service refused article %s (%s); retry in %.1fs",
                        article.id, error, delay.total_seconds())
        else:
            log.warning("forward of %d articles from %s failed (%s); retry in %.1fs",
                        len(due), article.id, error, delay.total_seconds())
    return parked


async def run_relay(engine: Engine, client: StoryClient, interval: float, batch: int,
                    max_bytes: int, max_tries: int = MAX_TRIES, waiter: Waiter | None = None
                    ) -> None:
    """Forward what is due, then wait for the outbox's wake-up (`waiter`: articles accepted)
    or at most `interval` seconds, the poll that catches what no wake-up announced."""
    while True:
        try:
            sent = await relay_once(engine, client, batch, max_bytes, max_tries)
        except Exception:  # the loop must outlive a database hiccup
            log.exception("relay pass failed")
            sent = 0
        if sent < batch:
            await (waiter.wait(interval) if waiter else asyncio.sleep(interval))
