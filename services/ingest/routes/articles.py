"""Articles: accept one or a batch, report their status; the outbox and parked articles."""

import asyncio
import logging
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from sqlalchemy import Engine

from services.ingest import store
from services.ingest.deps import IngestKey, Sender
from services.ingest.normalize import decode_json, request_hash
from services.ingest.schemas import (
    ArticleAccepted,
    ArticleCreate,
    ArticlesBatch,
    ArticlesPublic,
    ArticleStatus,
)
from shared import openapi
from shared.logs import bound
from shared.problems import Problem
from shared.web import AdminKey, Caller, EngineDep, SettingsDep

log = logging.getLogger("storywire.ingest.api")
router = APIRouter(tags=["articles"])
IdempotencyKeyHeader = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200)]
NOT_JSON = "The body is not JSON in a known charset"


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


async def read_body(request: Request, limit: int) -> tuple[bytes, object]:
    raw = await request.body()
    if len(raw) > limit:
        raise Problem(413, "payload-too-large", "The request body is too large",
                      f"at most {limit} bytes")
    return raw, decode_json(raw, request.headers.get("content-type"))


async def accept(engine: Engine, items: list[dict], render, caller: Caller | None = None,
                 idempotency_key: str | None = None, raw: bytes = b"",
                 receipt: tuple | None = None) -> JSONResponse:
    """Store the articles (with their outbox rows) and answer what render(results) gives."""
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


@router.post("/v1/articles", status_code=202, response_model=ArticleAccepted,
             openapi_extra=_article_body(ArticleCreate),
             responses={200: {"model": ArticleAccepted, "description": "An exact repeat"}})
async def create_article(request: Request, caller: Sender, engine: EngineDep,
                         settings: SettingsDep, idempotency_key: IdempotencyKeyHeader = None):
    """Accept one article. HTML bodies are reduced to their text. With an Idempotency-Key,
    a retry of the same request gets the first answer again."""
    raw, document = await read_body(request, settings.max_article_bytes)
    fields = article_fields(document)

    def render(results):
        return (202 if results[0].created else 200), accepted_body(request, results[0])

    return await accept(engine, [fields], render, caller, idempotency_key, raw)


@router.post("/v1/articles:batch", status_code=207, openapi_extra=_article_body(ArticlesBatch))
async def create_articles(request: Request, caller: Sender, engine: EngineDep,
                          settings: SettingsDep, idempotency_key: IdempotencyKeyHeader = None):
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

    return await accept(engine, [fields for _i, fields in valid], render, caller,
                        idempotency_key, raw)


@router.get("/v1/articles/{article_id}", response_model=ArticleStatus, dependencies=[IngestKey])
async def read_article(article_id: str, engine: EngineDep):
    found = await asyncio.to_thread(store.get_article, engine, article_id)
    if found is None:
        raise Problem(404, "not-found", "No such article", article_id)
    return article_status(*found)


@router.get("/v1/articles", response_model=ArticlesPublic, dependencies=[AdminKey])
async def read_articles(status: Annotated[Literal["failed"], Query()], engine: EngineDep,
                        limit: Annotated[int, Query(ge=1, le=500)] = 100):
    """Articles parked as failed (the story service kept refusing them while it was
    ready), in acceptance order."""
    found = await asyncio.to_thread(store.failed_articles, engine, limit)
    return ArticlesPublic(articles=[article_status(*row) for row in found])


@router.get("/v1/outbox", dependencies=[AdminKey],
            summary="What the relay has still to forward, since when, and articles parked")
async def read_outbox(engine: EngineDep):
    summary = await asyncio.to_thread(store.outbox_summary, engine)
    oldest = summary["oldest_pending"]
    return {**summary, "oldest_pending": oldest.isoformat() if oldest else None}


@router.post("/v1/articles/{article_id}/redrive", response_model=ArticleStatus,
             dependencies=[AdminKey])
async def redrive_article(article_id: str, engine: EngineDep):
    """Put a failed article back in the outbox: it is forwarded next, before newer ones."""
    redriven = await asyncio.to_thread(store.redrive, engine, [article_id])
    found = await asyncio.to_thread(store.get_article, engine, article_id)
    if found is None:
        raise Problem(404, "not-found", "No such article", article_id)
    if not redriven:
        raise Problem(409, "not-failed", "The article is not failed",
                      f"{article_id} is {_status(found[0])}")
    return article_status(*found)


# what each route answers beyond what its shape tells (see shared/openapi.py)
openapi.declare(router, {
    "create_article": {415: NOT_JSON},
    "create_articles": {415: NOT_JSON},
    "redrive_article": {409: "The article is not failed"},
})
