"""Story HTTP API: forwarded articles in; stories, their state, timeline, changes and live
events out."""

import asyncio
import contextlib
import json
import logging
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Annotated

import orjson
from fastapi import Header, Query, Request, Response
from fastapi.responses import StreamingResponse

from services import desk
from services.story import paging, stories
from services.story.analysis import Article
from services.story.events import story_stream
from services.story.paging import MAX_PAGE, BadCursor
from services.story.schemas import (
    AttachedBatchPublic,
    AttachedPublic,
    EventsPublic,
    ForwardedArticle,
    ForwardedBatch,
    StoryCreate,
    StoryEventsPublic,
    StoryUpdate,
)
from services.story.service import StoryService, for_readers
from services.story.store import Snapshots
from services.story.writers import ShardedWriters
from shared import openapi
from shared.db import get_engine, ping
from shared.eventstore import EventStore
from shared.metrics import metrics_router
from shared.problems import Problem
from shared.settings import Settings, get_settings
from shared.wakeup import EVENTS, Publisher
from shared.web import BodyLimit, KeyAuth, add_examples, health_router, make_app

log = logging.getLogger("storywire.story.api")
BODY_CACHE = 256
EXAMPLES = Path(__file__).with_name("openapi_examples.json")

Cursor = Annotated[str | None, Query(description="`next_cursor` of the previous page")]
Limit = Annotated[int, Query(ge=1, le=MAX_PAGE, description=f"page size, at most {MAX_PAGE}")]
AsOf = Annotated[str | None, Query(description=(
    "The news date: `YYYY-MM-DD` (all of that day, in the story's time zone) or an ISO 8601 "
    "time with its offset. The story as it stood in the news then: the articles published by "
    "then and what they reported, without developments or matter changes dated after that "
    "day. A story version number is read as `known_at`."))]
KnownAt = Annotated[str | None, Query(description=(
    "As storywire knew the story: an ISO 8601 time with its offset (what it had recorded by "
    "then), or a story version. Combines with `as_of`."))]
IfNoneMatch = Annotated[str | None, Header()]


BAD_READ = "as_of, known_at or the cursor is not valid"
WRITE_CONFLICT = "The story moved on meanwhile, or these events are recorded already"
PROBLEMS = {
    "attach_article": {409: WRITE_CONFLICT},
    "attach_articles": {409: WRITE_CONFLICT},
    "create_story": {409: "A story with this slug exists"},
    "update_story": {409: WRITE_CONFLICT},
    "archive_story": {409: WRITE_CONFLICT},
    "read_story": {400: BAD_READ},
    "read_timeline": {400: BAD_READ},
    "read_developments": {400: BAD_READ},
    "read_matters": {400: BAD_READ},
    "read_story_articles": {400: BAD_READ},
    "stream_story": {400: "Last-Event-ID is not a story version"},
}


def max_request_bytes(settings: Settings) -> int:
    """Far above the most the relay sends (RELAY_BATCH_BYTES of text, or one article of at
    most MAX_ARTICLE_BYTES, JSON-escaped at up to six bytes a character), so that a batch
    ingest has accepted is never refused here."""
    return 8 * (settings.relay_batch_bytes + settings.max_article_bytes)


def event_context(article: ForwardedArticle) -> dict:
    """What the events of a forwarded article carry in their metadata beside its id: when
    ingest accepted it, the trace it is followed in."""
    context = {"accepted_at": article.accepted_at.isoformat() if article.accepted_at else None,
               "traceparent": article.traceparent}
    return {k: v for k, v in context.items() if v}


def domain_article(article: ForwardedArticle) -> Article:
    return Article(id=article.id, outlet=article.outlet, url=article.url, title=article.title,
                   published_at=article.published_at, body=article.body)


# what the event store's columns hold: stream versions are 32-bit, feed positions 64-bit
# (a read "since" or "after" N starts at N + 1)
MAX_VERSION = 2**31 - 1
LAST_SINCE = MAX_VERSION - 1
MAX_POSITION = 2**63 - 1


def resume_after(last_event_id: str | None, default: int) -> int:
    """The story version a resumed event stream continues after: its `Last-Event-ID`, which
    must be a story version, else `default`."""
    if last_event_id is None:
        return default
    if not (last_event_id.isascii() and last_event_id.isdigit()) or \
            int(last_event_id) > LAST_SINCE:
        raise Problem(400, "bad-last-event-id", "Last-Event-ID must be a story version")
    return int(last_event_id)


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
    app.state.store = store
    app.state.service = service
    followers = Publisher(settings.broker_url, settings.wakeups)

    def appended(attach, *args):
        """Attach articles, then wake the feed's followers (notify's dispatcher) at once."""
        result = attach(*args)
        followers.publish(EVENTS)
        return result
    app.add_middleware(BodyLimit, max_bytes=max_request_bytes(settings))
    app.include_router(health_router({"database": lambda: ping(engine)}))
    app.include_router(metrics_router())
    auth = KeyAuth(settings)
    app.state.auth = auth
    desk.install(app, settings, service, auth)
    require_key = auth.require("admin")  # story definitions; articles forwarded by ingest
    read_key = auth.require("read")

    # -- helpers -------------------------------------------------------------------------------

    def render(slug: str, fn, as_of: int | None = None):
        return stories.render(service, slug, fn, as_of)

    bodies: OrderedDict[str, bytes] = OrderedDict()  # rendered JSON by ETag
    bodies_lock = threading.Lock()

    def tagged(tag: str, if_none_match: str | None, build, keep: bool = True
               ) -> tuple[str, bytes | None]:
        """(tag, build() as JSON), or (tag, None) when the client has this tag already. With
        `keep`, a rendered body is kept per ETag, so polling an unchanged story costs one
        lookup (raw event pages, which can be large, are rendered each time)."""
        if paging.etag_matches(if_none_match, tag):
            return tag, None
        with bodies_lock:
            body = bodies.get(tag)
            if body is not None:
                bodies.move_to_end(tag)
        if body is None:
            body = orjson.dumps(build())
            if keep:
                with bodies_lock:
                    bodies[tag] = body
                    while len(bodies) > BODY_CACHE:
                        bodies.popitem(last=False)
        return tag, body

    def answer(tag: str, body: bytes | None) -> Response:
        if body is None:
            return Response(status_code=304, headers={"ETag": tag})
        return Response(body, media_type="application/json", headers={"ETag": tag})

    def variant_of(request: Request) -> str:
        return request.url.path + str(sorted(request.query_params.items()))

    async def cached(request: Request, slug: str, if_none_match: str | None, fn,
                     as_of: str | None = None, known_at: str | None = None,
                     version: int | None = None) -> Response:
        """fn(view) as JSON with an ETag; 304 when the client has this version already. The
        view is the story at `version`, else as `known_at` and `as_of` ask (see AsOf, KnownAt),
        else now."""
        variant = variant_of(request)
        news = stories.news_date(as_of)

        def work():
            known = version if version is not None else \
                stories.known_version(service, slug, as_of, known_at)
            if news is None:
                return render(slug, lambda view: tagged(paging.etag(slug, view.version, variant),
                                                        if_none_match, lambda: fn(view)), known)
            head = render(slug, lambda view: view.version)
            head = head if known is None else min(known, head)
            return tagged(paging.etag(slug, head, variant), if_none_match,
                          lambda: fn(service.news_view(slug, news, head)))

        return answer(*await asyncio.to_thread(work))

    async def paged(request, slug, items_of, cursor, limit, if_none_match,
                    as_of=None, known_at=None):
        """A page of items_of(view). Every page of one walk reads the story at the version of
        the first page (the cursor carries it), so appends never shift items between pages."""
        offset, version = 0, None
        if cursor:
            try:
                version, offset = paging.decode_cursor(cursor)
            except BadCursor as exc:
                raise Problem(400, "bad-cursor", "The cursor is not valid", cursor) from exc
        return await cached(request, slug, if_none_match,
                            lambda view: paging.page(items_of(view), view.version, offset, limit),
                            as_of, known_at, version)

    # -- articles in ---------------------------------------------------------------------------

    @app.post("/v1/articles", response_model=AttachedPublic, dependencies=[require_key],
              tags=["articles"], summary="Attach a forwarded article (idempotent by article id)")
    async def attach_article(article: ForwardedArticle):
        result = await asyncio.to_thread(appended, service.attach_article,
                                         domain_article(article), article.revision_of,
                                         event_context(article))
        return result.to_dict()

    @app.post("/v1/articles:batch", response_model=AttachedBatchPublic,
              dependencies=[require_key], tags=["articles"],
              summary="Attach forwarded articles in order (idempotent by article id)")
    async def attach_articles(batch: ForwardedBatch):
        """Each article is analyzed knowing the ones before it; each story gets one append for
        the whole batch, so either all of a story's new events are recorded or none."""
        items = [(domain_article(a), a.revision_of) for a in batch.articles]
        results = await asyncio.to_thread(appended, service.attach_articles, items,
                                          {a.id: event_context(a) for a in batch.articles})
        return {"results": [r.to_dict() for r in results]}

    # -- stories -------------------------------------------------------------------------------

    @app.post("/v1/stories", status_code=201, dependencies=[require_key], tags=["stories"],
              summary="Start tracking a story")
    async def create_story(body: StoryCreate, response: Response):
        summary = await asyncio.to_thread(stories.create_story, service, body)
        response.headers["Location"] = f"/v1/stories/{summary['slug']}"
        return summary

    @app.get("/v1/stories", dependencies=[read_key], tags=["stories"],
             summary="Stories, newest first")
    async def read_stories(request: Request,
                           status: Annotated[str | None, Query(pattern="^(active|archived)$")]
                           = None, if_none_match: IfNoneMatch = None):
        def work():
            briefs = [b for b in (service.read(s, lambda v: v.brief()) for s in service.slugs())
                      if b]
            tag = paging.stories_etag({b["slug"]: b["version"] for b in briefs},
                                      variant_of(request))
            return tagged(tag, if_none_match, lambda: {"stories": [
                b for b in briefs if status is None or b["status"] == status]})
        return answer(*await asyncio.to_thread(work))

    @app.get("/v1/stories/{slug}", dependencies=[read_key], tags=["stories"],
             summary="A story's state: counts, latest developments, open matters, outlets, "
                     "corroborated facts, conflicts")
    async def read_story(slug: str, request: Request, as_of: AsOf = None,
                         known_at: KnownAt = None, if_none_match: IfNoneMatch = None):
        return await cached(request, slug, if_none_match, lambda v: v.summary(),
                            as_of, known_at)

    @app.patch("/v1/stories/{slug}", dependencies=[require_key], tags=["stories"],
               summary="Change a story's definition (recorded as an event)")
    async def update_story(slug: str, body: StoryUpdate):
        return await asyncio.to_thread(stories.update_story, service, slug, body)

    @app.post("/v1/stories/{slug}/archive", dependencies=[require_key], tags=["stories"],
              summary="Stop tracking a story; its history stays readable")
    async def archive_story(slug: str):
        return await asyncio.to_thread(stories.archive_story, service, slug)

    @app.get("/v1/stories/{slug}/timeline", dependencies=[read_key], tags=["stories"],
             summary="Developments in date order, each with evidence and sources")
    async def read_timeline(slug: str, request: Request,
                            as_of: AsOf = None, known_at: KnownAt = None,
                            cursor: Cursor = None, limit: Limit = 50,
                            if_none_match: IfNoneMatch = None):
        return await paged(request, slug, lambda v: v.timeline(), cursor, limit,
                           if_none_match, as_of, known_at)

    @app.get("/v1/stories/{slug}/developments", dependencies=[read_key], tags=["stories"],
             summary="Developments in the order they were detected, filtered")
    async def read_developments(
        slug: str, request: Request,
        type: Annotated[str | None, Query(description="ruling, hearing, filing, ...")] = None,
        outcome: Annotated[str | None, Query()] = None,
        since: Annotated[str | None, Query(description="developments dated on or after this "
                                           "YYYY-MM-DD")] = None,
        as_of: AsOf = None, known_at: KnownAt = None,
        cursor: Cursor = None, limit: Limit = 50, if_none_match: IfNoneMatch = None,
    ):
        def items(view):
            return [d for d in view.development_list()
                    if (type is None or d["type"] == type)
                    and (outcome is None or d.get("outcome") == outcome)
                    and (since is None or (d.get("date") or "") >= since)]
        return await paged(request, slug, items, cursor, limit, if_none_match, as_of, known_at)

    @app.get("/v1/stories/{slug}/matters", dependencies=[read_key], tags=["stories"],
             summary="Legal matters followed across articles, with their status history")
    async def read_matters(slug: str, request: Request, as_of: AsOf = None,
                           known_at: KnownAt = None, if_none_match: IfNoneMatch = None):
        return await cached(request, slug, if_none_match,
                            lambda v: {"version": v.version,
                                       "matters": list(v.matters.values())},
                            as_of, known_at)

    @app.get("/v1/stories/{slug}/articles", dependencies=[read_key], tags=["stories"],
             summary="Articles attached to the story, in the order they arrived")
    async def read_story_articles(slug: str, request: Request, as_of: AsOf = None,
                                  known_at: KnownAt = None, cursor: Cursor = None,
                                  limit: Limit = 50, if_none_match: IfNoneMatch = None):
        return await paged(request, slug, lambda v: list(v.articles.values()),
                           cursor, limit, if_none_match, as_of, known_at)

    @app.get("/v1/stories/{slug}/changes", dependencies=[read_key], tags=["stories"],
             summary="What changed since a version: a readable summary plus the raw events")
    async def read_changes(slug: str, request: Request,
                           since_version: Annotated[int, Query(ge=0, le=LAST_SINCE)],
                           limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
                           if_none_match: IfNoneMatch = None):
        def work():
            head = render(slug, lambda v: v.version)

            def build():  # up to the version the tag names, whatever came since
                events = store.read_stream(story_stream(slug), since_version + 1, limit)
                raw = [e.to_dict() for e in for_readers(store, events) if e.version <= head]
                upto = raw[-1]["version"] if raw else max(head, since_version)
                body = paging.changes(raw, since_version, upto)
                body["events"] = raw
                body["complete"] = upto >= head
                return body
            return tagged(paging.etag(slug, head, variant_of(request)), if_none_match, build,
                          keep=False)
        return answer(*await asyncio.to_thread(work))

    @app.get("/v1/stories/{slug}/events", dependencies=[read_key],
             response_model=StoryEventsPublic, tags=["events"],
             summary="A story's raw events from a version")
    async def read_story_events(
        slug: str, request: Request,
        from_version: Annotated[int, Query(ge=1, le=MAX_VERSION)] = 1,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        if_none_match: IfNoneMatch = None,
    ):
        def work():
            version = render(slug, lambda v: v.version)  # 404 if none

            def build():  # up to the version the tag names, whatever came since
                events = [e for e in store.read_stream(story_stream(slug), from_version, limit)
                          if e.version <= version]
                next_from = events[-1].version + 1 if events else from_version
                return {"events": [e.to_dict() for e in for_readers(store, events)],
                        "next_from_version": next_from, "version": version}
            return tagged(paging.etag(slug, version, variant_of(request)), if_none_match, build,
                          keep=False)
        return answer(*await asyncio.to_thread(work))

    @app.get("/v1/stories/{slug}/stream", dependencies=[read_key], tags=["events"],
             summary="Server-Sent Events of the story's new events; resumable with "
                     "Last-Event-ID (a story version)",
             response_class=EventStream)
    async def stream_story(slug: str, request: Request,
                           last_event_id: Annotated[str | None, Header()] = None,
                           from_version: Annotated[int | None, Query(ge=0, le=LAST_SINCE)] = None):
        head = await asyncio.to_thread(render, slug, lambda v: v.version)
        after = resume_after(last_event_id, from_version if from_version is not None else head)
        return EventStream(sse_events(store, slug, after, request),
                           headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    @app.get("/v1/events", dependencies=[read_key], response_model=EventsPublic,
             tags=["events"],
             summary="The global feed: every event after a position, in order, none skipped")
    async def read_events(
        request: Request,
        after: Annotated[int, Query(ge=0, le=MAX_POSITION - 1)] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        if_none_match: IfNoneMatch = None,
    ):
        def work():
            head = store.head_position()  # every event up to it is committed

            def build():
                events = [e for e in store.read_all(after, limit) if e.position <= head]
                next_after = events[-1].position if events else after
                return {"events": [e.to_dict() for e in for_readers(store, events)],
                        "next_after": next_after,
                        "head": head}
            return tagged(paging.feed_etag(head, variant_of(request)), if_none_match, build,
                          keep=False)
        return answer(*await asyncio.to_thread(work))

    add_examples(app, {**json.loads(EXAMPLES.read_text(encoding="utf-8")), "stream_story": (
        'id: 12\nevent: DevelopmentDetected\ndata: {"position":14,"stream_id":'
        '"story:guzman-detention-conditions","version":12,"type":"DevelopmentDetected",...}\n\n')})
    openapi.declare(app, PROBLEMS)
    return app


class EventStream(StreamingResponse):
    media_type = "text/event-stream"


SSE_POLL = 0.25
SSE_KEEPALIVE = 15.0


async def sse_events(store: EventStore, slug: str, after: int, request: Request):
    """Events of the story after `after`, then new ones as they are appended."""
    yield b"retry: 2000\n\n"
    idle = 0.0
    while not await request.is_disconnected():
        events = await asyncio.to_thread(store.read_stream, story_stream(slug), after + 1, 100)
        events = await asyncio.to_thread(for_readers, store, events)
        for event in events:
            data = json.dumps(event.to_dict(), separators=(",", ":"))
            yield f"id: {event.version}\nevent: {event.type}\ndata: {data}\n\n".encode()
            after = event.version
        if events:
            idle = 0.0
            continue
        await asyncio.sleep(SSE_POLL)
        idle += SSE_POLL
        if idle >= SSE_KEEPALIVE:
            idle = 0.0
            yield b": keep-alive\n\n"


async def _snapshot_loop(service: StoryService, interval: float = 2.0) -> None:
    while True:
        try:
            consumed = await asyncio.to_thread(service.snapshot_due)
        except Exception:  # the loop must outlive a database hiccup
            log.exception("snapshot pass failed")
            consumed = 0
        if not consumed:
            await asyncio.sleep(interval)
