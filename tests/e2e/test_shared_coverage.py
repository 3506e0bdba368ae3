"""Two stories that take the same articles, on the embedded services (in-process apps, an
in-process Celery worker, a loopback webhook receiver), on SQLite and PostgreSQL: a
subscription that follows both is alerted once per story and development, each alert labelled
with its own story; a copy of an article corroborates and alerts nobody again."""

import asyncio
import time
from pathlib import Path

import pytest

from services.demo.receiver import WebhookReceiver
from services.embedded import run_embedded
from shared.settings import Settings

pytestmark = pytest.mark.e2e

# the seed articles live next to the repository, never copied into it; test input only
SEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"
SEED_ARTICLES = {  # outlet and publish time from the seeds README
    "000": ("Newsday", "2017-04-05T22:00:00Z"),
    "001": ("Associated Press", "2017-04-06T01:00:00Z"),
    "002": ("Courthouse News Service", "2017-05-04T20:00:00Z"),
}
FIRST = "guzman-detention-conditions"   # tracked from the start
SECOND = "guzman-jail-conditions"
SECOND_DEFINITION = {
    "slug": SECOND, "title": "Guzman jail conditions",
    "description": "Joaquin \"El Chapo\" Guzman's solitary confinement in a Manhattan jail.",
    "entities": ["Joaquin Guzman", "El Chapo", "Brian Cogan", "Amnesty International"],
    "keywords": ["solitary confinement", "jail", "conditions", "visit"],
}


def seed_articles() -> list[dict]:
    if not SEEDS.is_dir():
        pytest.skip(f"seed articles not found at {SEEDS} (they live outside the repository)")
    articles = []
    for prefix, (outlet, published) in SEED_ARTICLES.items():
        (path,) = SEEDS.glob(f"{prefix}_*.txt")
        text = path.read_text(encoding="utf-8")
        articles.append({"outlet": outlet, "url": f"https://seeds.example/{path.stem}",
                         "title": text.splitlines()[0][:200], "published_at": published,
                         "body": text})
    return articles


async def _until(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = await predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(0.2)


def test_two_stories_sharing_coverage_each_alert_for_their_own_developments(db_url, tmp_path):
    articles = seed_articles()
    settings = Settings(database_url=db_url, data_dir=str(tmp_path), allow_private_urls=True,
                        relay_interval=0.1, dispatch_interval=0.1)

    async def run(receiver):
        async with run_embedded(settings) as apps:
            ingest, notify, story = (apps.client(n) for n in ("ingest", "notify", "story"))
            defined = await story.post("/v1/stories", json=SECOND_DEFINITION)
            assert defined.status_code == 201, defined.text
            created = await notify.post("/v1/subscriptions", json={
                "name": "Both desks", "url": receiver.url, "stories": [FIRST, SECOND]})
            assert created.status_code == 201, created.text
            receiver.secret = created.json()["secret"]

            ids = []
            for article in articles:
                accepted = await ingest.post("/v1/articles", json=article)
                assert accepted.status_code == 202, accepted.text
                ids.append(accepted.json()["id"])

            async def forwarded():
                statuses = [(await ingest.get(f"/v1/articles/{i}")).json() for i in ids]
                return statuses if all(s["status"] == "attached" for s in statuses) else None

            for status in await _until(forwarded, 60, "the articles to reach the stories"):
                assert sorted(status["stories"]) == [FIRST, SECOND]

            detected = {}
            for slug in (FIRST, SECOND):
                events = (await story.get(f"/v1/stories/{slug}/events?limit=1000")).json()
                detected[slug] = [e["data"]["development"]["id"] for e in events["events"]
                                  if e["type"] == "DevelopmentDetected"]
            expected = sum(len(d) for d in detected.values())

            async def delivered():
                return len(receiver.alerts) >= expected

            await _until(delivered, 60, f"{expected} alerts")
            # the copy (001) corroborates; give any extra alert the time to show up
            for _ in range(10):
                await asyncio.sleep(0.2)
                deliveries = (await notify.get(
                    f"/v1/subscriptions/{created.json()['id']}/deliveries")).json()
            return detected, deliveries

    with WebhookReceiver() as receiver:
        detected, deliveries = asyncio.run(run(receiver))
        alerts = [a["payload"]["data"] for a in receiver.alerts]

    assert detected[FIRST] and detected[SECOND]
    assert len(detected[FIRST]) == len(set(detected[FIRST]))
    assert not set(detected[FIRST]) & set(detected[SECOND])   # ids are the story's own
    got = sorted((a["story"]["slug"], a["development"]["id"]) for a in alerts)
    assert got == sorted((slug, dev) for slug, devs in detected.items() for dev in devs)
    assert {a["story"]["slug"] for a in alerts} == {FIRST, SECOND}
    for alert in alerts:
        assert alert["story"]["timeline_url"].endswith(
            f"/v1/stories/{alert['story']['slug']}/timeline")
    items = deliveries["items"] if isinstance(deliveries, dict) else deliveries
    assert len(items) == len(alerts)
