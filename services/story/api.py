"""Story HTTP API: forwarded articles in; story state, timeline and the global feed out."""

import asyncio
from typing import Annotated

from fastapi import Query

from services.story.analysis import Article
from services.story.events import story_stream
from services.story.schemas import AttachedPublic, EventsPublic, ForwardedArticle
from services.story.service import StoryService
from shared.db import get_engine, ping
from shared.eventstore import EventStore
from shared.problems import Problem
from shared.settings import Settings, get_settings
from shared.web import api_key_dependency, health_router, make_app

MAX_PAGE = 1000


def create_app(settings: Settings | None = None):
    settings = settings or get_settings()
    engine = get_engine(settings.service_database_url("story"))
    store = EventStore(engine)
    service = StoryService(store)
    app = make_app("storywire story", "Stories as event streams: state, timeline, global feed.")
    app.state.store = store
    app.state.service = service
    app.include_router(health_router({"database": lambda: ping(engine)}))
    require_key = api_key_dependency(settings)

    def read_state(slug: str):
        state = service.state(slug)
        if state is None:
            raise Problem(404, "story-not-found", "No such story", slug)
        return state

    @app.post("/v1/articles", response_model=AttachedPublic, dependencies=[require_key],
              tags=["articles"], summary="Attach a forwarded article (idempotent by article id)")
    async def attach_article(article: ForwardedArticle):
        domain = Article(id=article.id, outlet=article.outlet, url=article.url,
                         title=article.title, published_at=article.published_at,
                         body=article.body)
        result = await asyncio.to_thread(service.attach_article, domain)
        return result.to_dict()

    @app.get("/v1/stories", tags=["stories"])
    async def read_stories():
        slugs = await asyncio.to_thread(service.slugs)
        states = [await asyncio.to_thread(read_state, s) for s in slugs]
        return {"stories": [_brief(s.summary()) for s in states]}

    @app.get("/v1/stories/{slug}", tags=["stories"])
    async def read_story(slug: str):
        state = await asyncio.to_thread(read_state, slug)
        return state.summary()

    @app.get("/v1/stories/{slug}/timeline", tags=["stories"])
    async def read_timeline(slug: str):
        state = await asyncio.to_thread(read_state, slug)
        return {"slug": slug, "version": state.version, "timeline": state.timeline()}

    @app.get("/v1/stories/{slug}/articles", tags=["stories"])
    async def read_story_articles(slug: str):
        state = await asyncio.to_thread(read_state, slug)
        return {"slug": slug, "version": state.version, "articles": list(state.articles.values())}

    @app.get("/v1/stories/{slug}/events", response_model=EventsPublic, tags=["events"])
    async def read_story_events(
        slug: str,
        from_version: Annotated[int, Query(ge=1)] = 1,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    ):
        await asyncio.to_thread(read_state, slug)
        events = await asyncio.to_thread(store.read_stream, story_stream(slug), from_version,
                                         limit)
        head = await asyncio.to_thread(store.head_position)
        after = events[-1].position if events else 0
        return {"events": [e.to_dict() for e in events], "next_after": after, "head": head}

    @app.get("/v1/events", response_model=EventsPublic, tags=["events"],
             summary="The global feed: every event after a position, in order, none skipped")
    async def read_events(
        after: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = 100,
    ):
        events = await asyncio.to_thread(store.read_all, after, limit)
        head = await asyncio.to_thread(store.head_position)
        next_after = events[-1].position if events else after
        return {"events": [e.to_dict() for e in events], "next_after": next_after, "head": head}

    return app


def _brief(summary: dict) -> dict:
    keys = ("slug", "title", "status", "version", "updated_at", "counts")
    return {k: summary[k] for k in keys}
