"""A subscriber's subscriptions: channel, filters, rate, time zone; recent deliveries and
their attempts; a test alert; failed deliveries redriven. Everything through the notify API,
with the viewer's own key (a subscriptions key sees only its own subscriber)."""

import asyncio
from typing import Annotated

from fastapi import Query, Request
from fastapi.responses import RedirectResponse

from services.desk import views
from services.desk.web import (
    DeskDep,
    FormDep,
    ViewerDep,
    api_answer,
    desk_router,
    page,
    text,
)

router = desk_router()
DELIVERIES_SHOWN = 5
CHANNELS = ("webhook", "slack", "email")
RATES = ("realtime", "hourly", "daily", "weekly")
TYPES = ("ruling", "hearing", "filing", "verdict", "sentence", "custody", "charge", "appeal",
         "statement")
Id = Annotated[str | None, Query(max_length=64)]


def subscription_fields(form, channel: str) -> dict:
    """A subscription form's fields as the notify API takes them (a blank one left out)."""
    scalars = {"name": text(form, "name"), "rate": text(form, "rate"),
               "email" if channel == "email" else "url": text(form, "target")}
    return {**{k: v for k, v in scalars.items() if v},
            "stories": views.lines(text(form, "stories")),
            "types": [t for t in form.getlist("types") if isinstance(t, str)],
            "outcomes": views.lines(text(form, "outcomes"))}


async def deliveries_of(desk, viewer, subscription_id: str) -> list[dict]:
    found = await api_answer(await desk.notify.get(
        f"/v1/subscriptions/{subscription_id}/deliveries",
        params={"limit": DELIVERIES_SHOWN}, headers=viewer.headers))
    attempts = await asyncio.gather(*(desk.notify.get(
        f"/v1/deliveries/{d['id']}/attempts", headers=viewer.headers) for d in found))
    return [{**d, "attempt_list": await api_answer(a)} for d, a in zip(found, attempts,
                                                                        strict=True)]


@router.get("/subscriptions")
async def read_subscriptions(request: Request, desk: DeskDep, viewer: ViewerDep,
                             subscriber_id: Id = None):
    caller = viewer.require("subscriptions")
    subscriber_id = caller.subscriber_id or subscriber_id or None
    subscribers = [] if caller.subscriber_id else await api_answer(
        await desk.notify.get("/v1/subscribers", headers=viewer.headers))
    subscriber = await api_answer(await desk.notify.get(
        f"/v1/subscribers/{subscriber_id}", headers=viewer.headers)) if subscriber_id else None
    found = await api_answer(await desk.notify.get(
        "/v1/subscriptions", params={"subscriber_id": subscriber_id} if subscriber_id else {},
        headers=viewer.headers))
    deliveries = await asyncio.gather(*(deliveries_of(desk, viewer, s["id"]) for s in found))
    return page(request, viewer, "subscriptions.html", subscribers=subscribers,
                subscriber=subscriber, subscriptions=list(zip(found, deliveries, strict=True)),
                channels=CHANNELS, rates=RATES, types=TYPES,
                note=request.query_params.get("note"))


@router.post("/subscriptions")
async def create_subscription(request: Request, desk: DeskDep, viewer: ViewerDep,
                              form: FormDep):
    viewer.require("subscriptions")
    channel = text(form, "channel")
    body = {**subscription_fields(form, channel), "channel": channel}
    if text(form, "subscriber_id"):
        body["subscriber_id"] = text(form, "subscriber_id")
    created = await api_answer(await desk.notify.post("/v1/subscriptions", json=body,
                                                      headers=viewer.headers))
    response = page(request, viewer, "subscription_created.html", status=201,
                    subscription=created)
    response.headers["Cache-Control"] = "no-store"     # the secret is shown this once
    return response


def back(subscriber_id: str | None, note: str) -> RedirectResponse:
    return RedirectResponse("/desk/subscriptions" + views.query(
        {"subscriber_id": subscriber_id, "note": note}), status_code=303)


@router.post("/subscriptions/{subscription_id}")
async def update_subscription(subscription_id: str, desk: DeskDep, viewer: ViewerDep,
                              form: FormDep):
    viewer.require("subscriptions")
    current = await api_answer(await desk.notify.get(f"/v1/subscriptions/{subscription_id}",
                                                     headers=viewer.headers))
    body = subscription_fields(form, current["channel"])
    body["active"] = text(form, "active") == "on"
    updated = await api_answer(await desk.notify.patch(
        f"/v1/subscriptions/{subscription_id}", json=body, headers=viewer.headers))
    return back(updated["subscriber_id"], f"Saved {updated['name']}")


@router.post("/subscribers/{subscriber_id}")
async def update_subscriber(subscriber_id: str, desk: DeskDep, viewer: ViewerDep,
                            form: FormDep):
    viewer.require("subscriptions")
    body = {"name": text(form, "name"), "time_zone": text(form, "time_zone")}
    updated = await api_answer(await desk.notify.patch(
        f"/v1/subscribers/{subscriber_id}", json={k: v for k, v in body.items() if v},
        headers=viewer.headers))
    return back(updated["id"], f"Saved {updated['name']}")


@router.post("/subscriptions/{subscription_id}/test")
async def send_test_alert(subscription_id: str, desk: DeskDep, viewer: ViewerDep,
                          form: FormDep):
    viewer.require("subscriptions")
    queued = await api_answer(await desk.notify.post(
        f"/v1/subscriptions/{subscription_id}/test", headers=viewer.headers))
    return back(text(form, "subscriber_id") or None,
                f"Test alert queued (delivery {queued['delivery_id']})")


@router.post("/subscriptions/{subscription_id}/redrive")
async def redrive_deliveries(subscription_id: str, desk: DeskDep, viewer: ViewerDep,
                             form: FormDep):
    viewer.require("subscriptions")
    redriven = await api_answer(await desk.notify.post(
        "/v1/deliveries/redrive", json={"subscription_id": subscription_id},
        headers=viewer.headers))
    return back(text(form, "subscriber_id") or None,
                f"{len(redriven['redriven'])} failed delivery(ies) sent again")
