"""Signed webhooks from a CMS, and the integrations that say how to check and read them."""

import asyncio
from datetime import timedelta

from fastapi import APIRouter, Request, Response

from services.ingest import store
from services.ingest.models import Integration
from services.ingest.normalize import decode_json, map_fields
from services.ingest.routes.articles import NOT_JSON, accept, accepted_body, article_fields
from services.ingest.schemas import (
    ArticleAccepted,
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
from shared.problems import Problem
from shared.web import AdminKey, EngineDep, SettingsDep

router = APIRouter(tags=["webhooks"])
RECEIPT_TTL = timedelta(seconds=2 * TOLERANCE_SECONDS)


@router.post("/v1/webhooks/{integration}", status_code=202, response_model=ArticleAccepted)
async def receive_webhook(integration: str, request: Request, engine: EngineDep,
                          settings: SettingsDep):
    """A CMS's signed webhook: Standard Webhooks (`webhook-id`, `webhook-timestamp`,
    `webhook-signature`; five minutes' tolerance; a webhook-id is accepted once) or
    GitHub-style `X-Hub-Signature-256`, as the integration was registered. Each integration
    may send `WEBHOOK_RATE_LIMIT` signed webhooks per `RATE_LIMIT_WINDOW` seconds."""
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
    # counted once the sender is known to be the integration, before anything is stored
    await asyncio.to_thread(request.app.state.auth.count, "webhooks", integration)
    document = decode_json(raw, headers.get("content-type"))
    fields = article_fields(map_fields(document, found.mapping, {"outlet": found.outlet}))
    receipt = (integration, webhook_id[:200], RECEIPT_TTL) if webhook_id else None

    def render(results):
        return (202 if results[0].created else 200), accepted_body(request, results[0])

    return await accept(engine, [fields], render, receipt=receipt)


def integration_public(request: Request, integration: Integration) -> dict:
    url = str(request.url_for("receive_webhook", integration=integration.name))
    return IntegrationPublic(webhook_url=url, **integration.model_dump()).model_dump()


@router.post("/v1/integrations", status_code=201, response_model=IntegrationCreated,
             dependencies=[AdminKey])
async def create_integration(body: IntegrationCreate, request: Request, engine: EngineDep):
    """Register a CMS; its signing secret is in this response only."""
    integration = Integration(name=body.name, signing=body.signing,
                              secret=body.secret or new_secret(body.signing),
                              mapping=body.mapping, outlet=body.outlet)
    created = await asyncio.to_thread(store.add_unique, engine, integration)
    if created is None:
        raise Problem(409, "conflict", "An integration of that name exists", body.name)
    return {**integration_public(request, created), "secret": created.secret}


@router.get("/v1/integrations", dependencies=[AdminKey])
async def read_integrations(request: Request, engine: EngineDep):
    found = await asyncio.to_thread(store.list_integrations, engine)
    return {"integrations": [integration_public(request, i) for i in found]}


@router.delete("/v1/integrations/{name}", status_code=204, dependencies=[AdminKey])
async def delete_integration(name: str, engine: EngineDep):
    if not await asyncio.to_thread(store.delete_integration, engine, name):
        raise Problem(404, "not-found", "No such integration", name)
    return Response(status_code=204)


openapi.declare(router, {
    "receive_webhook": {401: "The webhook signature is not valid",
                        409: "This webhook-id was received already",
                        429: "Too many webhooks from this integration; `Retry-After` says "
                             "how many seconds to wait",
                        413: "The request body is too large", 415: NOT_JSON},
    "create_integration": {409: "An integration of that name exists"},
})
