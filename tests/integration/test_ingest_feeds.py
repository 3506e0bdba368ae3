"""Feeds against a loopback HTTP server: conditional GET with ETag, a feed that changes between
polls, summary-only items fetched and extracted, backoff on errors, status in the API, and the
Celery tasks that beat fires."""

import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from services.ingest import poller, store
from services.ingest.api import create_app
from services.ingest.models import Feed, IngestArticle, OutboxMessage
from shared.db import get_engine, utcnow
from shared.migrate import upgrade
from shared.settings import Settings

PAGE = """<html><head><title>Judge keeps Guzman in solitary</title>
<script>var tracking = "do-not-ingest";</script></head><body>
<nav><a href="/">Home</a> | <a href="/courts">Courts</a></nav>
<article><h1>Judge keeps Guzman in solitary</h1>
<p>A federal judge in Brooklyn on Thursday refused to release Joaquin Guzman from solitary
confinement, pointing to his two escapes from Mexican prisons.</p>
<p>U.S. District Judge Brian Cogan also rejected a request to let observers from Amnesty
International visit him at the Metropolitan Correctional Center in Manhattan.</p>
<p>The court will hold a hearing next month on the government's motion about his lawyers.</p>
</article><footer>Copyright Brooklyn Court Reporter</footer></body></html>"""


def rss(items: str) -> bytes:
    return (f'<?xml version="1.0"?><rss version="2.0" '
            f'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
            f'<title>Court desk</title>{items}</channel></rss>').encode()


def full_item(base: str, n: int, text: str) -> str:
    return (f"<item><title>Guzman hearing {n}</title><link>{base}/full/{n}</link>"
            f"<guid>full-{n}</guid><pubDate>Thu, 04 May 2017 20:0{n}:00 GMT</pubDate>"
            f"<description>Teaser {n}</description>"
            f"<content:encoded><![CDATA[<p>{text}</p>]]></content:encoded></item>")


class FeedServer:
    """Serves /feed.xml (honouring If-None-Match against its ETag) and /page.html; the feed's
    document, version and status can be changed between polls."""

    def __init__(self):
        self.document, self.version, self.status = b"", 1, 200
        self.requests: list[tuple[str, str | None]] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                server.requests.append((self.path, self.headers.get("if-none-match")))
                if self.path == "/page.html":
                    return self._send(200, PAGE.encode(), "text/html; charset=utf-8")
                if server.status != 200:
                    return self._send(server.status, b"unavailable", "text/plain",
                                      {"retry-after": "3600"})
                etag = f'"v{server.version}"'
                if self.headers.get("if-none-match") == etag:
                    return self._send(304, b"", None, {"etag": etag})
                return self._send(200, server.document, "application/rss+xml", {"etag": etag})

            def _send(self, status, body, content_type, headers=None):
                self.send_response(status)
                if content_type:
                    self.send_header("content-type", content_type)
                for name, value in (headers or {}).items():
                    self.send_header(name, value)
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def publish(self, document: bytes) -> None:
        self.document, self.version = document, self.version + 1

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    s = FeedServer()
    yield s
    s.close()


@pytest.fixture
def settings(db_url):
    upgrade("ingest", get_engine(db_url))
    return Settings(database_url=db_url, allow_private_urls=True)


def articles(engine) -> list[IngestArticle]:
    with Session(engine) as session:
        return list(session.exec(select(IngestArticle).order_by(IngestArticle.received_at)))


def poll(engine, feed_id: str, allow_private=True) -> str:
    with session_feed(engine, feed_id) as feed:
        feed.next_poll_at = utcnow() - timedelta(seconds=1)  # due now
    with poller.http_client(5.0, allow_private) as http:
        return poller.poll_feed(engine, http, feed_id, utcnow())


class session_feed:
    def __init__(self, engine, feed_id):
        self.session, self.feed_id = Session(engine), feed_id

    def __enter__(self):
        self.feed = self.session.get(Feed, self.feed_id)
        return self.feed

    def __exit__(self, *exc):
        self.session.add(self.feed)
        self.session.commit()
        self.session.close()


def test_feed_polled_with_etag_changes_picked_up_and_summaries_fetched(server, settings):
    engine = get_engine(settings.database_url)
    server.publish(rss(full_item(server.base, 1, "The first full text about Guzman.")
                       + f"<item><title>Judge keeps Guzman in solitary</title>"
                         f"<link>{server.base}/page.html</link><guid>teaser</guid>"
                         f"<description>Read more...</description></item>"))
    with TestClient(create_app(settings, run_relay_loop=False)) as client:
        created = client.post("/v1/feeds", json={"url": f"{server.base}/feed.xml",
                                                 "outlet": "Brooklyn Court Reporter"})
        assert created.status_code == 201, created.text
        feed_id = created.json()["id"]
        assert created.json()["status"] == "pending"
        assert client.post("/v1/feeds", json={"url": f"{server.base}/feed.xml",
                                              "outlet": "Again"}).status_code == 409

        assert poll(engine, feed_id) == "ok: 2 new"
        stored = articles(engine)
        assert [a.url for a in stored] == [f"{server.base}/page.html", f"{server.base}/full/1"]
        teaser = stored[0]
        assert "Amnesty" in teaser.body and "escapes" in teaser.body
        assert "Read more" not in teaser.body and "do-not-ingest" not in teaser.body
        assert "Copyright" not in teaser.body and "Home" not in teaser.body
        assert stored[1].body == "The first full text about Guzman."

        # Unchanged: the server answers 304 to the ETag and nothing is fetched again.
        server.requests.clear()
        assert poll(engine, feed_id) == "not-modified"
        assert server.requests == [("/feed.xml", f'"v{server.version}"')]

        # Changed: a corrected item (a revision) and a new one; the unchanged teaser is skipped.
        server.publish(rss(full_item(server.base, 2, "A second article on Guzman.")
                           + full_item(server.base, 1, "The first full text, corrected.")
                           + f"<item><title>Judge keeps Guzman in solitary</title>"
                             f"<link>{server.base}/page.html</link><guid>teaser</guid>"
                             f"<description>Read more...</description></item>"))
        server.requests.clear()
        assert poll(engine, feed_id) == "ok: 2 new"
        assert ("/page.html", None) not in server.requests
        stored = articles(engine)
        assert len(stored) == 4
        corrected = next(a for a in stored if a.body == "The first full text, corrected.")
        assert corrected.revision_of == next(a.id for a in stored if a.body.startswith(
            "The first full text about"))
        with Session(engine) as session:
            assert len(session.exec(select(OutboxMessage)).all()) == 4

        status = client.get(f"/v1/feeds/{feed_id}").json()
        assert status["status"] == "ok" and status["articles"] == 4
        assert status["failures"] == 0 and status["last_success_at"]


def test_feed_errors_back_off_and_show_in_the_status(server, settings):
    engine = get_engine(settings.database_url)
    feed = store.add_unique(engine, Feed(id="feed_broken", url=f"{server.base}/feed.xml",
                                          outlet="Desk", interval_seconds=300))
    server.status = 503
    assert poll(engine, feed.id) == "failed: HTTP 503"
    first = store.get_feed(engine, feed.id)
    assert first.status == "failing" and first.failures == 1
    assert first.next_poll_at - first.last_polled_at >= timedelta(seconds=3599)  # Retry-After
    server.status = 200
    server.publish(b"<html>not a feed</html>")
    assert poll(engine, feed.id).startswith("failed: FeedError")
    second = store.get_feed(engine, feed.id)
    assert second.failures == 2 and second.next_poll_at - second.last_polled_at > \
        timedelta(seconds=900)
    server.status = 410
    assert poll(engine, feed.id) == "gone"
    assert store.get_feed(engine, feed.id).status == "gone"
    assert store.due_feeds(engine, utcnow() + timedelta(days=2)) == []
    assert articles(engine) == []


def test_feed_items_are_cleaned_like_posted_articles(server, settings):
    engine = get_engine(settings.database_url)
    feed = store.add_unique(engine, Feed(id="feed_dirty", url=f"{server.base}/feed.xml",
                                          outlet="Desk", interval_seconds=300))
    title = "Judge keeps \u202eGuzman\u202c in solitary\u200b &lt;img src=x onerror=alert(1)&gt;"
    body = ("<p>\ufeffA judge ruled\u200b that a &lt; b.</p>"
            "<p>\u2066Cogan\u2069 set a hearing.</p>")
    blank = "\u200b\ufeff"
    server.publish(rss(
        f"<item><title>{title}</title><link>{server.base}/a/1</link><guid>a-1</guid>"
        f"<pubDate>Thu, 04 May 2017 20:00:00 GMT</pubDate>"
        f"<content:encoded><![CDATA[{body}]]></content:encoded></item>"
        f"<item><title>{blank}</title><link>{server.base}/a/2</link><guid>a-2</guid>"
        f"<pubDate>Thu, 04 May 2017 21:00:00 GMT</pubDate>"
        f"<content:encoded><![CDATA[<p>{blank}</p>]]></content:encoded></item>"))
    assert poll(engine, feed.id) == "ok: 1 new"
    [stored] = articles(engine)
    assert stored.title == "Judge keeps Guzman in solitary"
    assert stored.body == "A judge ruled that a < b.\n\nCogan set a hearing."


def test_private_addresses_are_refused_unless_allowed(server, settings):
    engine = get_engine(settings.database_url)
    server.publish(rss(full_item(server.base, 1, "Text.")))
    feed = store.add_unique(engine, Feed(id="feed_local", url=f"{server.base}/feed.xml",
                                          outlet="Desk"))
    assert poll(engine, feed.id, allow_private=False).startswith("failed: UnsafeURL")
    assert server.requests == [] and articles(engine) == []


def test_beat_task_hands_due_feeds_to_poll_tasks(server, settings, monkeypatch):
    from services.ingest import tasks

    engine = get_engine(settings.database_url)
    server.publish(rss(full_item(server.base, 1, "Text about the hearing.")))
    store.add_unique(engine, Feed(id="feed_due", url=f"{server.base}/feed.xml", outlet="Desk"))
    monkeypatch.setattr(tasks, "current_settings", lambda: settings)
    queued = []
    # The broker is the one thing not run here: keep what would be queued, then run it.
    monkeypatch.setattr(tasks.poll_feed_task, "apply_async",
                        lambda args, queue: queued.append((args, queue)))
    assert tasks.poll_feeds_task.apply().get() == 1
    assert queued == [(("feed_due",), tasks.QUEUE)]
    assert tasks.poll_feed_task.apply(args=("feed_due",)).get() == "ok: 1 new"
    assert tasks.poll_feed_task.apply(args=("feed_due",)).get() == "skipped"  # not due yet
    from shared.tasks import celery_app

    assert "ingest-poll-feeds" in celery_app.conf.beat_schedule


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/feed.xml", "http://169.254.169.254/latest",
                                 "http://[::1]/feed.xml", "http://10.0.0.5/rss"])
def test_a_feed_at_an_inside_address_is_refused_at_registration(db_url, url):
    upgrade("ingest", get_engine(db_url))
    settings = Settings(database_url=db_url, allow_private_urls=False)
    with TestClient(create_app(settings, run_relay_loop=False)) as client:
        response = client.post("/v1/feeds", json={"url": url, "outlet": "Inside"})
        assert response.status_code == 422, response.text
        assert response.json()["type"].endswith("unsafe-url")
        assert client.get("/v1/feeds").json()["feeds"] == []
