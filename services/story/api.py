"""Story HTTP API: forwarded articles in; stories, their state, timeline, changes and live
events out. The routes are in services/story/routes/."""

import asyncio
import contextlib
import logging

import httpx
from fastapi import Request

from services import desk
from services.story.reads import Bodies
from services.story.routes import ROUTERS
from services.story.service import StoryService
from services.story.shards import Leases, NotHeld, ShardedStories, ShardsUnavailable, http_forward
from services.story.store import Snapshots
from services.story.writers import ShardedWriters
from shared.db import get_engine, ping
from shared.eventstore import EventStore, FencedOut
from shared.metrics import metrics_router
from shared.problems import problem_response
from shared.settings import Settings, get_settings
from shared.wakeup import Publisher
from shared.web import BodyLimit, KeyAuth, auth_headers, health_router, make_app

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
    sharing = sharing_stories(settings, store)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        if settings.story_writers > 1:
            service.writers = ShardedWriters(db_url, settings.story_writers)
            # start the processes and load their stories now, not on the first article
            await asyncio.to_thread(service.writers.attach, service.slugs(), [])
        if sharing:
            service.shards = await asyncio.to_thread(share_stories, settings, db_url, service)
        task = asyncio.create_task(_snapshot_loop(service)) if run_snapshotter else None
        yield
        if task:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if service.shards:
            await asyncio.to_thread(stop_sharing, service.shards)
            service.shards = None
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
    install_shard_problems(app)
    return app


def sharing_stories(settings: Settings, store: EventStore) -> bool:
    """Whether this instance shares the stories with others (`STORY_SHARDS` above one, on
    PostgreSQL; on SQLite there is one instance, and it writes every story)."""
    if settings.story_shards <= 1:
        return False
    if not store.postgres:
        log.warning("STORY_SHARDS is ignored on SQLite: one instance writes every story")
        return False
    if not settings.story_instance_url:
        raise ValueError("STORY_SHARDS above 1 needs STORY_INSTANCE_URL: where the other "
                         "story-service instances reach this one")
    return True


def share_stories(settings: Settings, db_url: str, service: StoryService) -> ShardedStories:
    """Take this instance's share of the shards, and write batches across instances."""
    leases = Leases(db_url, settings.story_shards, settings.story_instance_url,
                    settings.story_lease_seconds)
    leases.start()
    client = httpx.Client(timeout=httpx.Timeout(10.0, connect=2.0, read=120.0),
                          headers=auth_headers(settings))
    return ShardedStories(leases, service.attach_here, http_forward(client), client.close)


def stop_sharing(shards: ShardedStories) -> None:
    shards.close()
    shards.leases.stop()


def install_shard_problems(app) -> None:
    @app.exception_handler(NotHeld)
    async def _not_held(request: Request, exc: NotHeld):
        return problem_response(409, "shard-not-held", "Not the holder of these story shards",
                                str(exc), request.url.path, shards=exc.shards)

    @app.exception_handler(FencedOut)
    async def _fenced_out(request: Request, exc: FencedOut):
        return problem_response(409, "shard-not-held", "Not the holder of these story shards",
                                str(exc), request.url.path)

    @app.exception_handler(ShardsUnavailable)
    async def _unavailable(request: Request, exc: ShardsUnavailable):
        return problem_response(503, "shards-unavailable", "Some stories cannot be written now",
                                str(exc), request.url.path, headers={"Retry-After": "2"})


async def _snapshot_loop(service: StoryService, interval: float = 2.0) -> None:
    while True:
        if not service.snapshotting():  # another instance does
            await asyncio.sleep(interval)
            continue
        try:
            consumed = await asyncio.to_thread(service.snapshot_due)
        except Exception:  # the loop must outlive a database hiccup
            log.exception("snapshot pass failed")
            consumed = 0
        if not consumed:
            await asyncio.sleep(interval)
