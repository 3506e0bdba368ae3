"""Story HTTP API: forwarded articles in; stories, their state, timeline, changes and live
events out. The routes are in services/story/routes/."""

import asyncio
import contextlib
import logging

from services import desk
from services.story.reads import Bodies
from services.story.routes import ROUTERS
from services.story.service import StoryService
from services.story.store import Snapshots
from services.story.writers import ShardedWriters
from shared.db import get_engine, ping
from shared.eventstore import EventStore
from shared.metrics import metrics_router
from shared.settings import Settings, get_settings
from shared.wakeup import Publisher
from shared.web import BodyLimit, KeyAuth, health_router, make_app

log = logging.getLogger("storywire.story.api")


def max_request_bytes(settings: Settings) -> int:
    """Far above the most the relay sends (RELAY_BATCH_BYTES of text, or one article of at
    most MAX_ARTICLE_BYTES, JSON-escaped at up to six bytes a character), so that a batch
    ingest has accepted is never refused here."""
    return 8 * (settings.relay_batch_bytes + settings.max_article_bytes)


def create_app(settings: Settings | None = None, run_snapshotter: bool = True):
    settings = settings or get_settings()
    db_url = settings.service_database_url("story")
    engine = get_engine(db_url)
    store = EventStore(engine)
    service = StoryService(store, Snapshots(engine))

    @contextlib.asynccontextmanager
    async def lifespan(app):
        if settings.story_writers > 1:
            service.writers = ShardedWriters(db_url, settings.story_writers)
            # start the processes and load their stories now, not on the first article
            await asyncio.to_thread(service.writers.attach, service.slugs(), [])
        task = asyncio.create_task(_snapshot_loop(service)) if run_snapshotter else None
        yield
        if task:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if service.writers:
            await asyncio.to_thread(service.writers.close)
            service.writers = None

    app = make_app("storywire story", "Stories as event streams: state, timeline, developments, "
                   "matters, changes since a version, time travel and live events.", lifespan)
    app.state.settings = settings
    app.state.store = store
    app.state.service = service
    app.state.followers = Publisher(settings.broker_url, settings.wakeups)
    app.state.bodies = Bodies()  # rendered JSON by ETag
    app.state.auth = KeyAuth(settings)
    app.add_middleware(BodyLimit, max_bytes=max_request_bytes(settings))
    app.include_router(health_router({"database": lambda: ping(engine)}))
    app.include_router(metrics_router())
    desk.install(app, settings, service, app.state.auth)
    for router in ROUTERS:
        app.include_router(router)
    return app


async def _snapshot_loop(service: StoryService, interval: float = 2.0) -> None:
    while True:
        try:
            consumed = await asyncio.to_thread(service.snapshot_due)
        except Exception:  # the loop must outlive a database hiccup
            log.exception("snapshot pass failed")
            consumed = 0
        if not consumed:
            await asyncio.sleep(interval)
