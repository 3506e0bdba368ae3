"""`storywire demo`: the whole flow on the embedded default, printed for a person to read."""

import asyncio
import json
import time
from pathlib import Path

from services.demo.receiver import WebhookReceiver
from services.embedded import run_embedded
from shared.settings import Settings

ARTICLES = Path(__file__).with_name("articles.json")
STORY = "guzman-detention-conditions"


async def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.2)


async def serve_desk(apps, host: str, port: int, out=print) -> None:
    """Serve the story service, with its desk, until interrupted (Ctrl-C)."""
    import uvicorn

    # an open page's event stream never ends by itself: shutting down waits for it briefly
    server = uvicorn.Server(uvicorn.Config(apps.story, host=host, port=port, lifespan="off",
                                           log_config=None, log_level="warning",
                                           timeout_graceful_shutdown=2))
    serving = asyncio.create_task(server.serve())
    while not server.started and not serving.done():
        await asyncio.sleep(0.05)
    if server.started:
        out(f"\nThe desk: http://{host}:{port}/desk/stories/{STORY}  (Ctrl-C to stop)")
    await serving


async def demo(settings: Settings, out=print, serve=None) -> dict:
    """The demo's flow and report; then, with `serve` (a coroutine function taking the
    apps), that before the services stop."""
    articles = json.loads(ARTICLES.read_text())
    with WebhookReceiver() as receiver:
        async with run_embedded(settings) as apps:
            ingest, notify, story = apps.client("ingest"), apps.client("notify"), \
                apps.client("story")
            created = (await notify.post("/v1/subscriptions", json={
                "name": "Demo desk", "url": receiver.url, "stories": [STORY]})).json()
            receiver.secret = created["secret"]
            out(f"Subscribed a webhook receiver at {receiver.url} ({created['id']})\n")

            ids = []
            for article in articles:
                body = {k: article[k] for k in ("outlet", "url", "title", "published_at", "body")}
                response = await ingest.post("/v1/articles", json=body)
                response.raise_for_status()
                ids.append(response.json()["id"])
                out(f"POST /v1/articles  {response.status_code}  {article['title']}")

            async def all_forwarded():
                statuses = [(await ingest.get(f"/v1/articles/{i}")).json() for i in ids]
                done = all(s["status"] != "accepted" for s in statuses)
                return statuses if done else None

            statuses = await _wait_for(all_forwarded, 60, "articles to reach the story")
            out("")
            for article, status in zip(articles, statuses, strict=True):
                where = ", ".join(status["stories"]) or "no story (unrouted)"
                out(f"{status['status']:>9}  {article['outlet']}: {article['title']} -> {where}")

            attached = (await story.get(f"/v1/stories/{STORY}/articles")).json()["items"]
            out(f"\nWhat each article changed in \"{STORY}\":")
            titles = {a["id"]: a["title"] for a in attached}
            for item in attached:
                copy = (f"copy of \"{titles[item['duplicate_of']]}\", "
                        if item["duplicate_of"] else "")
                out(f"  {item['outlet']}: {copy}{item['new_sentences']} new sentence(s)")

            state = (await story.get(f"/v1/stories/{STORY}")).json()
            expected = state["counts"]["developments"]

            async def all_delivered():
                return len(receiver.alerts) >= expected

            await _wait_for(all_delivered, 60, "alerts to be delivered")
            timeline = (await story.get(f"/v1/stories/{STORY}/timeline")).json()["items"]
            out(f"\nTimeline of \"{state['title']}\" (story version {state['version']}):")
            for item in timeline:
                outcome = f" {item['outcome']}" if item.get("outcome") else ""
                out(f"  {item.get('date') or '(undated)':>10}  {item['type']}{outcome}: "
                    f"{item['evidence']}")
                out(f"              source: {item['source']['outlet']}")
            if state["conflicts"]:
                out("\nConflicts between sources:")
                for conflict in state["conflicts"]:
                    values = "; ".join(f"{v['value']!r} ({v.get('outlet', v['article_id'])})"
                                       for v in conflict["values"])
                    out(f"  {conflict['attribute']}: {values}")
            out(f"\nAlerts delivered to the local receiver ({len(receiver.alerts)}), "
                "each signature verified:")
            for alert in receiver.alerts:
                data = alert["payload"]["data"]
                dev = data["development"]
                outcome = f" {dev['outcome']}" if dev.get("outcome") else ""
                out(f"  [{alert['webhook_id']}] {dev['type']}{outcome} {dev.get('date') or ''}"
                    f" — {dev['evidence'][:90]}")
            if serve:
                await serve(apps)
            return {"timeline": timeline, "alerts": receiver.alerts, "state": state}
