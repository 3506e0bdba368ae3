"""Notify HTTP API: subscribers, subscriptions, deliveries, unsubscribe links and Atom feeds;
runs the feed dispatcher in the background. The routes are in services/notify/routes/."""

import asyncio
import contextlib

import httpx

from services.notify.clients import StoryFeedClient
from services.notify.deps import Enqueue, Links
from services.notify.dispatcher import run_dispatcher
from services.notify.routes import ROUTERS
from services.notify.tasks import deliver_now
from services.notify.tokens import signing_key
from shared import tracing
from shared.db import get_engine, ping
from shared.metrics import ReadAtScrape, metrics_router, queue_gauges
from shared.settings import Settings, get_settings
from shared.tasks import celery_app, queue_lengths
from shared.wakeup import EVENTS, listeners, waiting
from shared.web import KeyAuth, auth_headers, health_router, make_app


def create_app(settings: Settings | None = None, story_http: httpx.AsyncClient | None = None,
               enqueue: Enqueue | None = None, run_dispatch_loop: bool = True):
    settings = settings or get_settings()
    engine = get_engine(settings.service_database_url("notify"))
    story_http = story_http or httpx.AsyncClient(base_url=settings.story_urls()[0],
                                                 timeout=10.0)
    story_http.headers.update(auth_headers(settings))
    tracing.instrument_client(story_http)
    feed = StoryFeedClient(story_http)
    send_later = enqueue or deliver_now
    # Without a beat process (the embedded default's in-memory broker) the loop closes digests.
    digest_every = 60.0 if settings.broker_url.startswith("memory://") else None

    @contextlib.asynccontextmanager
    async def lifespan(app):
        if not run_dispatch_loop:
            yield
            return
        async with waiting(EVENTS, listeners(EVENTS, broker_url=settings.broker_url),
                           settings.wakeups) as waiter:
            task = asyncio.create_task(run_dispatcher(
                engine, feed, send_later, settings.dispatch_interval, settings.dispatch_batch,
                settings.public_url, digest_every, waiter))
            yield
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = make_app("storywire notify", "Subscribers and their alerts.", lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.feed = feed
    app.state.enqueue = send_later
    app.state.links = Links(signing_key(settings), settings.notify_public_url.rstrip("/"))
    app.state.auth = KeyAuth(settings)

    def check_broker() -> None:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)

    app.include_router(health_router({"database": lambda: ping(engine),
                                      "broker": check_broker}))
    app.include_router(metrics_router([ReadAtScrape(
        "the Celery queues", lambda: queue_gauges(queue_lengths(celery_app)))]))
    for router in ROUTERS:
        app.include_router(router)
    return app
