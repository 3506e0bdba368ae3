"""Ingest HTTP API: accept articles (one, a batch, or a signed webhook), report their status;
register webhook integrations and feeds. The routes are in services/ingest/routes/."""

import asyncio
import contextlib

import httpx

from services.ingest import store
from services.ingest.clients import StoryClient
from services.ingest.relay import run_relay
from services.ingest.routes import ROUTERS
from shared import tracing
from shared.db import get_engine, ping
from shared.metrics import ReadAtScrape, metrics_router, outbox_gauges
from shared.settings import Settings, get_settings
from shared.wakeup import OUTBOX, listeners, waiting
from shared.web import BodyLimit, KeyAuth, auth_headers, health_router, make_app


def create_app(settings: Settings | None = None, story_http: httpx.AsyncClient | None = None,
               run_relay_loop: bool = True):
    settings = settings or get_settings()
    engine = get_engine(settings.service_database_url("ingest"))
    # A batch of long articles takes the story service a while to analyze.
    urls = None if story_http else settings.story_urls()
    story_http = story_http or httpx.AsyncClient(base_url=urls[0],
                                                 timeout=httpx.Timeout(10.0, read=120.0))
    story_http.headers.update(auth_headers(settings))
    tracing.instrument_client(story_http)
    client = StoryClient(story_http, urls)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        if not run_relay_loop:
            yield
            return
        carriers = listeners(OUTBOX, settings.service_database_url("ingest"))
        async with waiting(OUTBOX, carriers, settings.wakeups) as waiter:
            task = asyncio.create_task(run_relay(engine, client, settings.relay_interval,
                                                 settings.relay_batch,
                                                 settings.relay_batch_bytes,
                                                 settings.relay_max_tries, waiter))
            yield
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = make_app("storywire ingest", "Accepts articles and forwards them to the story service.",
                   lifespan)
    app.state.settings = settings
    app.state.engine = engine
    app.state.story_client = client
    app.state.auth = KeyAuth(settings)
    app.include_router(health_router({"database": lambda: ping(engine)}))
    app.include_router(metrics_router([ReadAtScrape(
        "the outbox", lambda: outbox_gauges(store.outbox_summary(engine)))]))
    app.add_middleware(BodyLimit, max_bytes=max(settings.max_article_bytes,
                                                settings.batch_max_bytes))
    for router in ROUTERS:
        app.include_router(router)
    return app
