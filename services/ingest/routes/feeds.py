"""RSS and Atom feeds that Celery beat polls for articles (see services/ingest/tasks.py)."""

import asyncio
import uuid

from fastapi import APIRouter, Response

from services.ingest import store
from services.ingest.models import Feed
from services.ingest.schemas import FeedCreate, FeedPublic
from shared import openapi
from shared.problems import Problem
from shared.urlguard import UnsafeURL, check_url
from shared.web import AdminKey, EngineDep, SettingsDep

router = APIRouter(tags=["feeds"])


@router.post("/v1/feeds", status_code=201, response_model=FeedPublic, dependencies=[AdminKey])
async def create_feed(body: FeedCreate, engine: EngineDep, settings: SettingsDep):
    """Register an RSS or Atom feed; Celery beat polls it (see services/ingest/tasks.py)."""
    try:            # refused now, as a subscription's URL is, not only at each fetch
        await asyncio.to_thread(check_url, str(body.url), settings.allow_private_urls)
    except UnsafeURL as exc:
        raise Problem(422, "unsafe-url", "The URL is not allowed", str(exc)) from exc
    feed = Feed(id=f"feed_{uuid.uuid4().hex[:16]}", url=str(body.url), outlet=body.outlet,
                interval_seconds=body.interval_seconds)
    created = await asyncio.to_thread(store.add_unique, engine, feed)
    if created is None:
        raise Problem(409, "conflict", "That feed is registered already", str(body.url))
    return created.model_dump()


@router.get("/v1/feeds", dependencies=[AdminKey])
async def read_feeds(engine: EngineDep):
    feeds = await asyncio.to_thread(store.list_feeds, engine)
    return {"feeds": [FeedPublic(**f.model_dump()).model_dump(mode="json") for f in feeds]}


@router.get("/v1/feeds/{feed_id}", response_model=FeedPublic, dependencies=[AdminKey])
async def read_feed(feed_id: str, engine: EngineDep):
    feed = await asyncio.to_thread(store.get_feed, engine, feed_id)
    if feed is None:
        raise Problem(404, "not-found", "No such feed", feed_id)
    return feed.model_dump()


@router.delete("/v1/feeds/{feed_id}", status_code=204, dependencies=[AdminKey])
async def delete_feed(feed_id: str, engine: EngineDep):
    if not await asyncio.to_thread(store.delete_feed, engine, feed_id):
        raise Problem(404, "not-found", "No such feed", feed_id)
    return Response(status_code=204)


openapi.declare(router, {"create_feed": {409: "That feed is registered already"}})
