"""Ingest HTTP API: accept articles, report their status."""

import asyncio
import contextlib

import httpx
from fastapi import Depends, Request, Response

from services.ingest import store
from services.ingest.clients import StoryClient
from services.ingest.relay import run_relay
from services.ingest.schemas import ArticleAccepted, ArticleCreate, ArticleStatus
from shared.db import get_engine, ping
from shared.problems import Problem
from shared.settings import Settings, get_settings
from shared.web import BodyLimit, api_key_dependency, auth_headers, health_router, make_app


def create_app(settings: Settings | None = None, story_http: httpx.AsyncClient | None = None,
               run_relay_loop: bool = True):
    settings = settings or get_settings()
    engine = get_engine(settings.service_database_url("ingest"))
    story_http = story_http or httpx.AsyncClient(base_url=settings.story_url, timeout=10.0)
    story_http.headers.update(auth_headers(settings))
    client = StoryClient(story_http)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        task = None
        if run_relay_loop:
            task = asyncio.create_task(run_relay(engine, client, settings.relay_interval,
                                                 settings.relay_batch))
        yield
        if task:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    app = make_app("storywire ingest", "Accepts articles and forwards them to the story service.",
                   lifespan)
    app.state.engine = engine
    app.state.story_client = client
    app.include_router(health_router({"database": lambda: ping(engine)}))
    require_key = api_key_dependency(settings)

    app.add_middleware(BodyLimit, max_bytes=settings.max_article_bytes)

    async def json_only(request: Request) -> None:
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            raise Problem(415, "unsupported-media-type", "Send the article as application/json")

    @app.post("/v1/articles", status_code=202, response_model=ArticleAccepted,
              dependencies=[require_key, Depends(json_only)], tags=["articles"],
              responses={200: {"model": ArticleAccepted, "description": "An exact repeat"}})
    async def create_article(article: ArticleCreate, request: Request, response: Response):
        fields = article.model_dump()
        fields["url"] = str(article.url)
        accepted = await asyncio.to_thread(store.accept_article, engine, fields)
        stored = accepted.article
        if not accepted.created:
            response.status_code = 200
        status_url = str(request.url_for("read_article", article_id=stored.id))
        response.headers["Location"] = status_url
        return ArticleAccepted(id=stored.id, status=_status(stored), status_url=status_url,
                               duplicate=not accepted.created, revision_of=stored.revision_of)

    @app.get("/v1/articles/{article_id}", response_model=ArticleStatus, tags=["articles"])
    async def read_article(article_id: str):
        stored = await asyncio.to_thread(store.get_article, engine, article_id)
        if stored is None:
            raise Problem(404, "not-found", "No such article", article_id)
        return ArticleStatus(id=stored.id, url=stored.url, status=_status(stored),
                             stories=stored.stories, unrouted=_status(stored) == "unrouted",
                             received_at=stored.received_at, forwarded_at=stored.forwarded_at,
                             revision_of=stored.revision_of)

    return app

def _status(article) -> str:
    if article.status != "forwarded":
        return "accepted"
    return "attached" if article.stories else "unrouted"
