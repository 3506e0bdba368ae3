"""What an operator watches: the outbox, parked articles (redriven from here), the notifier's
lag behind the story feed, deliveries by status and failing endpoints."""

import asyncio
from datetime import UTC, datetime

from fastapi import Request
from fastapi.responses import RedirectResponse

from services import status
from services.desk.web import DeskDep, FormDep, ViewerDep, api_answer, desk_router, page

router = desk_router()


@router.get("/operations")
async def read_operations(request: Request, desk: DeskDep, viewer: ViewerDep):
    viewer.require("admin")
    headers = viewer.headers
    outbox, parked, notify, head = await asyncio.gather(
        desk.ingest.get("/v1/outbox", headers=headers),
        desk.ingest.get("/v1/articles", params={"status": "failed"}, headers=headers),
        desk.notify.get("/v1/status", headers=headers),
        asyncio.to_thread(desk.service.store.head_position))
    outbox, parked, notify = [await api_answer(r) for r in (outbox, parked, notify)]
    oldest = outbox["oldest_pending"]
    report = {"outbox": {**outbox, "oldest_pending": datetime.fromisoformat(oldest)
                         if oldest else None},
              "feed_head": head, "notify_position": notify["feed_position"],
              "deliveries": notify["deliveries"]}
    return page(request, viewer, "operations.html", summary=status.lines(report,
                                                                         datetime.now(UTC)),
                report=status.as_json(report), parked=parked["articles"],
                failing=notify["failing"], note=request.query_params.get("note"))


@router.post("/operations/articles/{article_id}/redrive")
async def redrive_article(article_id: str, desk: DeskDep, viewer: ViewerDep, form: FormDep):
    viewer.require("admin")
    await api_answer(await desk.ingest.post(f"/v1/articles/{article_id}/redrive",
                                            headers=viewer.headers))
    return RedirectResponse(f"/desk/operations?note=Redriven+{article_id}", status_code=303)
