"""Stories: start, change and archive one; read its state, timeline, developments, matters,
articles and what changed since a version, now or as it stood at a time."""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Query, Response

from services.story import paging, stories
from services.story.deps import ReadKey, ReadsDep, ServiceDep, StoreDep
from services.story.events import story_stream
from services.story.paging import MAX_PAGE
from services.story.reads import IfNoneMatch, answer
from services.story.routes.articles import WRITE_CONFLICT
from services.story.routes.events import LAST_SINCE
from services.story.schemas import StoryCreate, StoryUpdate
from services.story.service import for_readers
from shared import openapi
from shared.web import AdminKey

router = APIRouter(tags=["stories"])
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
BAD_READ = "as_of, known_at or the cursor is not valid"


@router.post("/v1/stories", status_code=201, dependencies=[AdminKey],
             summary="Start tracking a story")
async def create_story(body: StoryCreate, response: Response, service: ServiceDep):
    summary = await asyncio.to_thread(stories.create_story, service, body)
    response.headers["Location"] = f"/v1/stories/{summary['slug']}"
    return summary


@router.get("/v1/stories", dependencies=[ReadKey], summary="Stories, newest first")
async def read_stories(reads: ReadsDep,
                       status: Annotated[str | None, Query(pattern="^(active|archived)$")]
                       = None, if_none_match: IfNoneMatch = None):
    service = reads.service

    def work():
        briefs = [b for b in (service.read(s, lambda v: v.brief()) for s in service.slugs())
                  if b]
        tag = paging.stories_etag({b["slug"]: b["version"] for b in briefs}, reads.variant)
        return reads.tagged(tag, if_none_match, lambda: {"stories": [
            b for b in briefs if status is None or b["status"] == status]})
    return answer(*await asyncio.to_thread(work))


@router.get("/v1/stories/{slug}", dependencies=[ReadKey],
            summary="A story's state: counts, latest developments, open matters, outlets, "
                    "corroborated facts, conflicts")
async def read_story(slug: str, reads: ReadsDep, as_of: AsOf = None,
                     known_at: KnownAt = None, if_none_match: IfNoneMatch = None):
    return await reads.cached(slug, if_none_match, lambda v: v.summary(), as_of, known_at)


@router.patch("/v1/stories/{slug}", dependencies=[AdminKey],
              summary="Change a story's definition (recorded as an event)")
async def update_story(slug: str, body: StoryUpdate, service: ServiceDep):
    return await asyncio.to_thread(stories.update_story, service, slug, body)


@router.post("/v1/stories/{slug}/archive", dependencies=[AdminKey],
             summary="Stop tracking a story; its history stays readable")
async def archive_story(slug: str, service: ServiceDep):
    return await asyncio.to_thread(stories.archive_story, service, slug)


@router.get("/v1/stories/{slug}/timeline", dependencies=[ReadKey],
            summary="Developments in date order, each with evidence and sources")
async def read_timeline(slug: str, reads: ReadsDep,
                        as_of: AsOf = None, known_at: KnownAt = None,
                        cursor: Cursor = None, limit: Limit = 50,
                        if_none_match: IfNoneMatch = None):
    return await reads.paged(slug, lambda v: v.timeline(), cursor, limit, if_none_match,
                             as_of, known_at)


@router.get("/v1/stories/{slug}/developments", dependencies=[ReadKey],
            summary="Developments in the order they were detected, filtered")
async def read_developments(
    slug: str, reads: ReadsDep,
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
    return await reads.paged(slug, items, cursor, limit, if_none_match, as_of, known_at)


@router.get("/v1/stories/{slug}/matters", dependencies=[ReadKey],
            summary="Legal matters followed across articles, with their status history")
async def read_matters(slug: str, reads: ReadsDep, as_of: AsOf = None,
                       known_at: KnownAt = None, if_none_match: IfNoneMatch = None):
    return await reads.cached(slug, if_none_match,
                              lambda v: {"version": v.version,
                                         "matters": list(v.matters.values())},
                              as_of, known_at)


@router.get("/v1/stories/{slug}/articles", dependencies=[ReadKey],
            summary="Articles attached to the story, in the order they arrived")
async def read_story_articles(slug: str, reads: ReadsDep, as_of: AsOf = None,
                              known_at: KnownAt = None, cursor: Cursor = None,
                              limit: Limit = 50, if_none_match: IfNoneMatch = None):
    return await reads.paged(slug, lambda v: list(v.articles.values()),
                             cursor, limit, if_none_match, as_of, known_at)


@router.get("/v1/stories/{slug}/changes", dependencies=[ReadKey],
            summary="What changed since a version: a readable summary plus the raw events")
async def read_changes(slug: str, reads: ReadsDep, store: StoreDep,
                       since_version: Annotated[int, Query(ge=0, le=LAST_SINCE)],
                       limit: Annotated[int, Query(ge=1, le=5000)] = 1000,
                       if_none_match: IfNoneMatch = None):
    def work():
        head = reads.render(slug, lambda v: v.version)

        def build():  # up to the version the tag names, whatever came since
            events = store.read_stream(story_stream(slug), since_version + 1, limit)
            raw = [e.to_dict() for e in for_readers(store, events) if e.version <= head]
            upto = raw[-1]["version"] if raw else max(head, since_version)
            body = paging.changes(raw, since_version, upto)
            body["events"] = raw
            body["complete"] = upto >= head
            return body
        return reads.tagged(paging.etag(slug, head, reads.variant), if_none_match, build,
                            keep=False)
    return answer(*await asyncio.to_thread(work))


openapi.declare(router, {
    "create_story": {409: "A story with this slug exists"},
    "update_story": {409: WRITE_CONFLICT},
    "archive_story": {409: WRITE_CONFLICT},
    "read_story": {400: BAD_READ},
    "read_timeline": {400: BAD_READ},
    "read_developments": {400: BAD_READ},
    "read_matters": {400: BAD_READ},
    "read_story_articles": {400: BAD_READ},
})
