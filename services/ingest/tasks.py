"""Celery tasks of ingest: beat fires `poll_feeds_task`, which hands each due feed to
`poll_feed_task`, on the ingest queue of the one storywire Celery app (shared.tasks)."""

import logging

from services.ingest import poller, store
from shared.db import get_engine, utcnow
from shared.tasks import INGEST_QUEUE as QUEUE
from shared.tasks import celery_app, current_settings

log = logging.getLogger("storywire.ingest.tasks")


def _engine():
    return get_engine(current_settings().service_database_url("ingest"))


@celery_app.task(name="ingest.poll_feeds")
def poll_feeds_task() -> int:
    """Hand every due feed to its own task; returns how many."""
    due = store.due_feeds(_engine(), utcnow())
    for feed_id in due:
        poll_feed_task.apply_async((feed_id,), queue=QUEUE)
    return len(due)


@celery_app.task(name="ingest.poll_feed", acks_late=True)
def poll_feed_task(feed_id: str) -> str:
    settings = current_settings()
    with poller.http_client(settings.feed_timeout, settings.allow_private_urls) as http:
        outcome = poller.poll_feed(_engine(), http, feed_id, utcnow())
    log.info("feed %s: %s", feed_id, outcome)
    return outcome
