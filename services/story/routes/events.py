"""Raw events: a story's from a version, live as Server-Sent Events, and the global feed."""

import asyncio
import json
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import StreamingResponse

from services.story import paging, stories
from services.story.deps import ReadKey, ReadsDep, ServiceDep, StoreDep
from services.story.events import story_stream
from services.story.reads import IfNoneMatch, answer
from services.story.schemas import EventsPublic, StoryEventsPublic
from services.story.service import for_readers
from shared import openapi
from shared.eventstore import EventStore
from shared.problems import Problem
from shared.web import add_examples

router = APIRouter(tags=["events"])

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


@router.get("/v1/stories/{slug}/events", dependencies=[ReadKey],
            response_model=StoryEventsPublic, summary="A story's raw events from a version")
async def read_story_events(
    slug: str, reads: ReadsDep, store: StoreDep,
    from_version: Annotated[int, Query(ge=1, le=MAX_VERSION)] = 1,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    if_none_match: IfNoneMatch = None,
):
    def work():
        version = reads.render(slug, lambda v: v.version)  # 404 if none

        def build():  # up to the version the tag names, whatever came since
            events = [e for e in store.read_stream(story_stream(slug), from_version, limit)
                      if e.version <= version]
            next_from = events[-1].version + 1 if events else from_version
            return {"events": [e.to_dict() for e in for_readers(store, events)],
                    "next_from_version": next_from, "version": version}
        return reads.tagged(paging.etag(slug, version, reads.variant), if_none_match, build,
                            keep=False)
    return answer(*await asyncio.to_thread(work))


@router.get("/v1/stories/{slug}/stream", dependencies=[ReadKey],
            summary="Server-Sent Events of the story's new events; resumable with "
                    "Last-Event-ID (a story version)",
            response_class=EventStream)
async def stream_story(slug: str, request: Request, service: ServiceDep, store: StoreDep,
                       last_event_id: Annotated[str | None, Header()] = None,
                       from_version: Annotated[int | None, Query(ge=0, le=LAST_SINCE)] = None):
    head = await asyncio.to_thread(stories.render, service, slug, lambda v: v.version)
    after = resume_after(last_event_id, from_version if from_version is not None else head)
    return EventStream(sse_events(store, slug, after, request),
                       headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/v1/events", dependencies=[ReadKey], response_model=EventsPublic,
            summary="The global feed: every event after a position, in order, none skipped")
async def read_events(
    reads: ReadsDep, store: StoreDep,
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
        return reads.tagged(paging.feed_etag(head, reads.variant), if_none_match, build,
                            keep=False)
    return answer(*await asyncio.to_thread(work))


add_examples(router, {"stream_story": (
    'id: 12\nevent: DevelopmentDetected\ndata: {"position":14,"stream_id":'
    '"story:guzman-detention-conditions","version":12,"type":"DevelopmentDetected",...}\n\n')})
openapi.declare(router, {"stream_story": {400: "Last-Event-ID is not a story version"}})
