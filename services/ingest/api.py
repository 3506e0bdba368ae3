"""Ingest HTTP API: accept articles (one, a batch, or a signed webhook), report their status;
register webhook integrations and feeds."""

import asyncio
import contextlib
import logging
import uuid
from datetime import timedelta
from typing import Annotated, Literal

import httpx
from fastapi import Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError

from services.ingest import store
from services.ingest.clients import StoryClient
from services.ingest.models import Feed, Integration
from services.ingest.normalize import decode_json, map_fields, request_hash
from services.ingest.relay import run_relay
from services.ingest.schemas import (
    ArticleAccepted,
    ArticleCreate,
    ArticlesBatch,
    ArticlesPublic,
    ArticleStatus,
    FeedCreate,
    FeedPublic,
    IntegrationCreate,
    IntegrationCreated,
    IntegrationPublic,
)
from services.ingest.signatures import (
    TOLERANCE_SECONDS,
    BadSignature,
    new_secret,
    verify_github,
    verify_standard,
)
from shared import openapi
from shared.db import get_engine, ping
from shared.logs import bound
from shared.problems import Problem
from shared.settings import Settings, get_settings
from shared.urlguard import UnsafeURL, check_url
from shared.wakeup import OUTBOX, listeners, waiting
from shared.web import (
    BodyLimit,
    Caller,
    KeyAuth,
    auth_headers,
    health_router,
    make_app,
)

log = logging.getLogger("storywire.ingest.api")
MAX_BATCH = 100
RECEIPT_TTL = timedelta(seconds=2 * TOLERANCE_SECONDS)
IdempotencyKeyHeader = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]
NOT_JSON = "The body is not JSON in a known charset"
# what each route answers beyond what its shape tells (see shared/openapi.py)
PROBLEMS = {
    "create_article": {415: NOT_JSON},
    "create_articles": {415: NOT_JSON},
    "receive_webhook": {401: "The webhook signature is not valid",
                        409: "This webhook-id was received already",
                        413: "The request body is too large", 415: NOT_JSON},
    "redrive_article": {409: "The article is not failed"},
    "create_integration": {409: "An integration of that name exists"},
    "create_feed": {409: "That feed is registered already"},
}


def _article_body(schema: type[BaseModel]) -> dict:
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": schema.model_json_schema()}}}}


def validation_problem(exc: ValidationError) -> Problem:
    errors = [{"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]} for e in exc.errors()]
    return Problem(422, "validation-error", "The request is not valid",
                   f"{len(errors)} field(s) failed validation", errors=errors)


def article_fields(document: object) -> dict:
    """Validated, normalized article fields, or a 422 Problem."""
    try:
        article = ArticleCreate.model_validate(document)
    except ValidationError as exc:
        raise validation_problem(exc) from None
    return article.model_dump() | {"url": str(article.url)}


def article_status(article, message=None) -> ArticleStatus:
    status = _status(article)
    waiting = message is not None and message.sent_at is None
    return ArticleStatus(id=article.id, url=article.url, status=status, stories=article.stories,
                         unrouted=status == "unrouted", received_at=article.received_at,
                         forwarded_at=article.forwarded_at,
                         forward_attempts=message.attempts if message else 0,
                         last_error=message.last_error if waiting else None,
                         failed_at=message.parked_at if waiting else None,
                         revision_of=article.revision_of)


def _status(article) -> str:
    if article.status != "forwarded":
        return "failed" if article.status == "failed" else "accepted"
    return "attached" if article.stories else "unrouted"


def create_app(settings: Settings | None = None, story_http: httpx.AsyncClient | None = None,
               run_relay_loop: bool = True):
    settings = settings or get_settings()
    engine = get_engine(settings.service_database_url("ingest"))
    # A batch of long articles takes the story service a while to analyze.
    story_http = story_http or httpx.AsyncClient(base_url=settings.story_url,
                                                 timeout=httpx.Timeout(10.0, read=120.0))
    story_http.headers.update(auth_headers(settings))
    client = StoryClient(story_http)

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
    app.state.engine = engine
    app.state.story_client = client
    app.include_router(health_router({"database": lambda: ping(engine)}))
    app.add_middleware(BodyLimit, max_bytes=max(settings.max_article_bytes,
                                                settings.batch_max_bytes))

    auth = KeyAuth(settings)
    app.state.auth = auth
    ingest_key = auth.require("ingest")
    sending = auth.require("ingest", limit="ingest")  # sending articles is rate-limited per key
    admin_key = auth.require("admin")

    async def read_body(request: Request, limit: int) -> tuple[bytes, object]:
        raw = await request.body()
        if len(raw) > limit:
            raise Problem(413, "payload-too-large", "The request body is too large",
                          f"at most {limit} bytes")
        return raw, decode_json(raw, request.headers.get("content-type"))

    async def accept(items: list[dict], render, caller: Caller | None = None,
                     idempotency_key: str | None = None, raw: bytes = b"",
                     receipt: tuple | None = None) -> JSONResponse:
        claim = None
        if idempotency_key is not None:
            claim = store.IdempotencyKey(caller.key_id, idempotency_key, request_hash(raw))
        try:
            outcome = await asyncio.to_thread(store.accept_articles, engine, items, render,
                                              claim, receipt)
        except store.IdempotencyKeyReused:
            raise Problem(422, "idempotency-key-reused",
                          "This Idempotency-Key was used for a different request",
                          "Use a new key for a new request") from None
        except store.WebhookReplayed as exc:
            raise Problem(409, "webhook-replayed", "This webhook-id was received already",
                          article_id=exc.article_id) from None
        for result in outcome.results:
            with bound(article_id=result.article.id):
                log.info("article accepted" if result.created else "article already accepted")
        headers = {"idempotent-replayed": "true"} if outcome.replayed else {}
        if "status_url" in outcome.response:
            headers["location"] = outcome.response["status_url"]
        return JSONResponse(outcome.response, status_code=outcome.status_code, headers=headers)

    def accepted_body(request: Request, result: store.Accepted) -> dict:
        article = result.article
        status_url = str(request.url_for("read_article", article_id=article.id))
        return ArticleAccepted(id=article.id, status=_status(article), status_url=status_url,
                               duplicate=not result.created,
                               revision_of=article.revision_of).model_dump(mode="json")

    # -- articles ----------------------------------------------------------------------------

    @app.post("/v1/articles", status_code=202, response_model=ArticleAccepted, tags=["articles"],
              openapi_extra=_article_body(ArticleCreate),
              responses={200: {"model": ArticleAccepted, "description": "An exact repeat"}})
    async def create_article(request: Request, caller: Annotated[Caller, sending],
                             idempotency_key: IdempotencyKeyHeader = None):
        """Accept one article. HTML bodies are reduced to their text. With an Idempotency-Key,
        a retry of the same request gets the first answer again."""
        raw, document = await read_body(request, settings.max_article_bytes)
        fields = article_fields(document)

        def render(results):
            return (202 if results[0].created else 200), accepted_body(request, results[0])

        return await accept([fields], render, caller, idempotency_key, raw)

    @app.post("/v1/articles:batch", status_code=207, tags=["articles"],
              openapi_extra=_article_body(ArticlesBatch))
    async def create_articles(request: Request, caller: Annotated[Caller, sending],
                              idempotency_key: IdempotencyKeyHeader = None):
        """Accept up to 100 articles; each item gets its own result (202, 200 for an exact
        repeat, or a 422 problem). Valid items are stored even when others are not."""
        raw, document = await read_body(request, settings.batch_max_bytes)
        try:
            batch = ArticlesBatch.model_validate(document)
        except ValidationError as exc:
            raise validation_problem(exc) from None
        valid, rejected = [], {}
        for index, item in enumerate(batch.articles):
            try:
                valid.append((index, article_fields(item)))
            except Problem as problem:
                rejected[index] = {"index": index, "status": 422, "problem": {
                    "type": f"urn:storywire:problem:{problem.type}", "title": problem.title,
                    "status": 422, "detail": problem.detail, **problem.extra}}

        def render(results):
            items = dict(rejected)
            for (index, _fields), result in zip(valid, results, strict=True):
                status = 202 if result.created else 200
                items[index] = {"index": index, "status": status,
                                "article": accepted_body(request, result)}
            ordered = [items[i] for i in sorted(items)]
            counts = {"accepted": sum(r["status"] == 202 for r in ordered),
                      "duplicates": sum(r["status"] == 200 for r in ordered),
                      "rejected": len(rejected)}
            return 207, {"results": ordered, "counts": counts}

        return await accept([fields for _i, fields in valid], render, caller,
                            idempotency_key, raw)

    @app.get("/v1/articles/{article_id}", response_model=ArticleStatus, tags=["articles"],
             dependencies=[ingest_key])
    async def read_article(article_id: str):
        found = await asyncio.to_thread(store.get_article, engine, article_id)
        if found is None:
            raise Problem(404, "not-found", "No such article", article_id)
        return article_status(*found)

    @app.get("/v1/articles", response_model=ArticlesPublic, tags=["articles"],
             dependencies=[admin_key])
    async def read_articles(status: Annotated[Literal["failed"], Query()],
                            limit: Annotated[int, Query(ge=1, le=500)] = 100):
        """Articles parked as failed (the story service kept refusing them while it was
        ready), in acceptance order."""
        found = await asyncio.to_thread(store.failed_articles, engine, limit)
        return ArticlesPublic(articles=[article_status(*row) for row in found])

    @app.get("/v1/outbox", tags=["articles"], dependencies=[admin_key],
             summary="What the relay has still to forward, since when, and articles parked")
    async def read_outbox():
        summary = await asyncio.to_thread(store.outbox_summary, engine)
        oldest = summary["oldest_pending"]
        return {**summary, "oldest_pending": oldest.isoformat() if oldest else None}

    @app.post("/v1/articles/{article_id}/redrive", response_model=ArticleStatus,
              tags=["articles"], dependencies=[admin_key])
    async def redrive_article(article_id: str):
        """Put a failed article back in the outbox: it is forwarded next, before newer ones."""
        redriven = await asyncio.to_thread(store.redrive, engine, [article_id])
        found = await asyncio.to_thread(store.get_article, engine, article_id)
        if found is None:
            raise Problem(404, "not-found", "No such article", article_id)
        if not redriven:
            raise Problem(409, "not-failed", "The article is not failed",
                          f"{article_id} is {_status(found[0])}")
        return article_status(*found)

    # -- signed webhooks ---------------------------------------------------------------------

    @app.post("/v1/webhooks/{integration}", status_code=202, response_model=ArticleAccepted,
              tags=["webhooks"])
    async def receive_webhook(integration: str, request: Request):
        """A CMS's signed webhook: Standard Webhooks (`webhook-id`, `webhook-timestamp`,
        `webhook-signature`; five minutes' tolerance; a webhook-id is accepted once) or
        GitHub-style `X-Hub-Signature-256`, as the integration was registered."""
        found = await asyncio.to_thread(store.get_integration, engine, integration)
        if found is None:
            raise Problem(404, "not-found", "No such integration", integration)
        raw = await request.body()
        if len(raw) > settings.max_article_bytes:
            raise Problem(413, "payload-too-large", "The request body is too large",
                          f"at most {settings.max_article_bytes} bytes")
        headers = {k.lower(): v for k, v in request.headers.items()}
        verify = verify_standard if found.signing == "standard" else verify_github
        try:
            webhook_id = verify(found.secret, raw, headers)
        except BadSignature as exc:
            raise Problem(401, "bad-signature", "The webhook signature is not valid",
                          str(exc)) from None
        document = decode_json(raw, headers.get("content-type"))
        fields = article_fields(map_fields(document, found.mapping, {"outlet": found.outlet}))
        receipt = (integration, webhook_id[:200], RECEIPT_TTL) if webhook_id else None

        def render(results):
            return (202 if results[0].created else 200), accepted_body(request, results[0])

        return await accept([fields], render, receipt=receipt)

    def integration_public(request: Request, integration: Integration) -> dict:
        url = str(request.url_for("receive_webhook", integration=integration.name))
        return IntegrationPublic(webhook_url=url, **integration.model_dump()).model_dump()

    @app.post("/v1/integrations", status_code=201, response_model=IntegrationCreated,
              tags=["webhooks"], dependencies=[admin_key])
    async def create_integration(body: IntegrationCreate, request: Request):
        """Register a CMS; its signing secret is in this response only."""
        integration = Integration(name=body.name, signing=body.signing,
                                  secret=body.secret or new_secret(body.signing),
                                  mapping=body.mapping, outlet=body.outlet)
        created = await asyncio.to_thread(store.add_unique, engine, integration)
        if created is None:
            raise Problem(409, "conflict", "An integration of that name exists", body.name)
        return {**integration_public(request, created), "secret": created.secret}

    @app.get("/v1/integrations", tags=["webhooks"], dependencies=[admin_key])
    async def read_integrations(request: Request):
        found = await asyncio.to_thread(store.list_integrations, engine)
        return {"integrations": [integration_public(request, i) for i in found]}

    @app.delete("/v1/integrations/{name}", status_code=204, tags=["webhooks"],
                dependencies=[admin_key])
    async def delete_integration(name: str):
        if not await asyncio.to_thread(store.delete_integration, engine, name):
            raise Problem(404, "not-found", "No such integration", name)
        return Response(status_code=204)

    # -- feeds -------------------------------------------------------------------------------

    @app.post("/v1/feeds", status_code=201, response_model=FeedPublic, tags=["feeds"],
              dependencies=[admin_key])
    async def create_feed(body: FeedCreate):
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

    @app.get("/v1/feeds", tags=["feeds"], dependencies=[admin_key])
    async def read_feeds():
        feeds = await asyncio.to_thread(store.list_feeds, engine)
        return {"feeds": [FeedPublic(**f.model_dump()).model_dump(mode="json") for f in feeds]}

    @app.get("/v1/feeds/{feed_id}", response_model=FeedPublic, tags=["feeds"],
             dependencies=[admin_key])
    async def read_feed(feed_id: str):
        feed = await asyncio.to_thread(store.get_feed, engine, feed_id)
        if feed is None:
            raise Problem(404, "not-found", "No such feed", feed_id)
        return feed.model_dump()

    @app.delete("/v1/feeds/{feed_id}", status_code=204, tags=["feeds"],
                dependencies=[admin_key])
    async def delete_feed(feed_id: str):
        if not await asyncio.to_thread(store.delete_feed, engine, feed_id):
            raise Problem(404, "not-found", "No such feed", feed_id)
        return Response(status_code=204)

    openapi.declare(app, PROBLEMS)
    return app
