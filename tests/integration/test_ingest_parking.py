"""Articles the story service keeps refusing while it is ready are parked as failed after
RELAY_MAX_TRIES, and the articles behind them keep flowing; an outage parks nothing. The story
service is a real HTTP server on loopback that refuses one article id; on SQLite and
PostgreSQL."""

import asyncio
import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
import sqlalchemy as sa
from conftest import free_port
from fastapi.testclient import TestClient

from services import cli
from services.ingest import store
from services.ingest.api import create_app
from services.ingest.clients import StoryClient
from services.ingest.models import OutboxMessage
from services.ingest.relay import relay_once
from shared import keys
from shared.db import get_engine, utcnow
from shared.migrate import upgrade
from shared.settings import Settings, get_settings

OPERATOR = "operator-key-for-parking-tests"
TRIES = 3


def article(n: int) -> dict:
    return {"outlet": "Court Wire", "url": f"https://wire.example/2017/05/guzman-{n}",
            "title": f"Guzman stays in solitary ({n})", "published_at": "2017-05-04T20:00:00Z",
            "body": f"A federal judge refused to release Joaquin Guzman, filing {n} shows."}


class StoryStandIn:
    """Answers `/v1/articles:batch` like the story service, except with `status` for any batch
    holding one of `refuse`; `/readyz` answers ok while `ready`. Keeps the ids of every batch
    it accepted, in order."""

    def __init__(self):
        self.refuse: set[str] = set()
        self.status, self.ready = 500, True
        self.accepted: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path != "/readyz":
                    return self._send(404, {"title": "Not Found"})
                if server.ready:
                    return self._send(200, {"status": "ok", "checks": {"database": "ok"}})
                return self._send(503, {"title": "A dependency is unavailable"})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                ids = [a["id"] for a in body["articles"]]
                if server.refuse & set(ids):
                    return self._send(server.status, {"title": "Internal Server Error"})
                server.accepted += ids
                self._send(200, {"results": [{"article_id": i, "stories": ["guzman"]}
                                             for i in ids]})

            def _send(self, status, document):
                raw = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def story():
    server = StoryStandIn()
    yield server
    server.close()


@pytest.fixture
def settings(db_url):
    upgrade("ingest", get_engine(db_url))
    return Settings(database_url=db_url, api_key=OPERATOR)


@pytest.fixture
def client(settings):
    with TestClient(create_app(settings, run_relay_loop=False)) as c:
        c.headers["authorization"] = f"Bearer {OPERATOR}"
        yield c


def relay_pass(engine, base: str) -> int:
    """One pass of the relay with every backoff over."""
    with engine.begin() as conn:
        conn.execute(sa.update(OutboxMessage.__table__)
                     .where(OutboxMessage.__table__.c.sent_at.is_(None))
                     .values(next_attempt_at=utcnow()))

    async def forward():
        async with httpx.AsyncClient(base_url=base, timeout=5) as http:
            return await relay_once(engine, StoryClient(http), 10, max_tries=TRIES)

    return asyncio.run(forward())


def accept(client, numbers) -> list[str]:
    answer = client.post("/v1/articles:batch", json={"articles": [article(n) for n in numbers]})
    assert answer.status_code == 207, answer.text
    return [r["article"]["id"] for r in answer.json()["results"]]


@pytest.mark.parametrize("refusal", [500, 422])
def test_a_refused_article_is_parked_after_its_tries_and_the_rest_flows(
        client, settings, story, refusal):
    engine = get_engine(settings.database_url)
    _key, admin = keys.create_key(engine, "ops", ["admin"])
    _key, cms = keys.create_key(engine, "cms", ["ingest"])
    ids = accept(client, range(7))
    poison = ids[3]
    story.refuse, story.status = {poison}, refusal

    # the batch is halved until the refused article stands alone: those before it go through
    assert relay_pass(engine, story.base) == 3
    assert story.accepted == ids[:3]
    for tries in range(1, TRIES):
        status = client.get(f"/v1/articles/{poison}").json()
        assert status["status"] == "accepted" and status["forward_attempts"] == tries
        assert relay_pass(engine, story.base) == 0   # it goes alone, and nothing overtakes it
    assert story.accepted == ids[:3]

    status = client.get(f"/v1/articles/{poison}", headers={"authorization": f"Bearer {cms}"})
    assert status.status_code == 200
    status = status.json()
    assert status["status"] == "failed" and status["forward_attempts"] == TRIES
    assert status["last_error"].startswith(f"HTTP {refusal} from the story service")
    assert "127.0.0.1" not in status["last_error"] and OPERATOR not in status["last_error"]
    assert status["failed_at"] is not None

    # the articles behind it are delivered, and so are those accepted after
    assert relay_pass(engine, story.base) == 3
    ids += accept(client, [7])
    assert relay_pass(engine, story.base) == 1
    assert story.accepted == [i for i in ids if i != poison]
    assert all(client.get(f"/v1/articles/{i}").json()["status"] == "attached"
               for i in ids if i != poison)

    listed = client.get("/v1/articles", params={"status": "failed"},
                        headers={"authorization": f"Bearer {admin}"})
    assert listed.status_code == 200
    assert [(a["id"], a["status"]) for a in listed.json()["articles"]] == [(poison, "failed")]
    for route in ("/v1/articles?status=failed", f"/v1/articles/{poison}/redrive"):
        call = client.get if "?" in route else client.post
        assert call(route, headers={"authorization": f"Bearer {cms}"}).status_code == 403

    # redriven once the story service takes it: delivered after those that were behind it
    story.refuse = set()
    redriven = client.post(f"/v1/articles/{poison}/redrive",
                           headers={"authorization": f"Bearer {admin}"})
    assert redriven.status_code == 200 and redriven.json()["status"] == "accepted"
    assert relay_pass(engine, story.base) == 1
    assert story.accepted == [i for i in ids if i != poison] + [poison]
    assert client.get(f"/v1/articles/{poison}").json()["status"] == "attached"
    assert client.get("/v1/articles", params={"status": "failed"}).json()["articles"] == []
    again = client.post(f"/v1/articles/{poison}/redrive")
    assert again.status_code == 409
    assert again.json()["type"] == "urn:storywire:problem:not-failed"
    assert client.post("/v1/articles/nope/redrive").status_code == 404


@pytest.mark.parametrize("outage", ["down", "503", "not-ready", "429"])
def test_an_outage_parks_nothing_and_everything_lands_once_it_ends(
        client, settings, story, outage):
    engine = get_engine(settings.database_url)
    ids = accept(client, range(5))
    base = f"http://127.0.0.1:{free_port()}" if outage == "down" else story.base
    story.refuse = set(ids) if outage in ("503", "429") else {ids[2]}
    story.status = int(outage) if outage.isdigit() else 500
    story.ready = outage != "not-ready"
    for _ in range(TRIES + 3):
        relay_pass(engine, base)
    statuses = [client.get(f"/v1/articles/{i}").json() for i in ids]
    waiting = [s for s in statuses if s["status"] == "accepted"]
    assert waiting and all(s["status"] in ("accepted", "attached") for s in statuses)
    assert waiting[0]["forward_attempts"] == TRIES + 3 and waiting[0]["last_error"]
    assert client.get("/v1/articles", params={"status": "failed"}).json()["articles"] == []

    story.refuse, story.ready = set(), True
    relay_pass(engine, story.base)
    assert story.accepted == ids
    assert all(client.get(f"/v1/articles/{i}").json()["status"] == "attached" for i in ids)


def test_the_cli_redrives_one_failed_article_or_all(settings, monkeypatch, capsys):
    engine = get_engine(settings.database_url)
    ids = [store.accept_article(engine, {**article(n), "published_at": utcnow()}).article.id
           for n in range(3)]
    for message, _article in store.due_messages(engine, 10, utcnow()):
        if message.article_id != ids[1]:
            assert store.mark_failed(engine, message.id, "HTTP 500", timedelta(0), 1)
    assert [a.id for a, _m in store.failed_articles(engine, 10)] == [ids[0], ids[2]]
    monkeypatch.setenv("STORYWIRE_DATABASE_URL", settings.database_url)
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit, match="is not failed"):
            cli.main(["articles", "redrive", ids[1]])
        with pytest.raises(SystemExit, match="--all"):
            cli.main(["articles", "redrive"])
        assert cli.main(["articles", "redrive", ids[2]]) == 0
        assert [a.id for a, _m in store.failed_articles(engine, 10)] == [ids[0]]
        assert cli.main(["articles", "redrive", "--all"]) == 0
    finally:
        get_settings.cache_clear()
    assert f"redriven {ids[0]}" in capsys.readouterr().out
    assert store.failed_articles(engine, 10) == []
    due = store.due_messages(engine, 10, utcnow())
    assert [a.id for _m, a in due] == ids and all(a.status == "accepted" for _m, a in due)
