"""Channels against real loopback servers: a Standard Webhooks receiver and a Slack stand-in
(scripted answers: 500, 429 with Retry-After, 410, hanging past the timeout) and an aiosmtpd
SMTP server. Deliveries run in this process through `tasks.deliver`."""

import json
import threading
import time
from datetime import timedelta
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from conftest import free_port
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, select
from standardwebhooks import Webhook, WebhookVerificationError

from services.notify import store, tasks
from services.notify.api import create_app
from services.notify.matching import alert_body
from services.notify.models import (
    Delivery,
    DeliveryAttempt,
    Subscriber,
    Subscription,
)
from shared.db import get_engine, utcnow
from shared.migrate import upgrade
from shared.settings import Settings
from shared.tasks import configure as configure_tasks

STORY = "guzman-detention-conditions"


def development_event(position: int, dev_id: str, type_="ruling", outcome="denied",
                      evidence="A judge declined to ease the conditions.") -> dict:
    return {
        "position": position,
        "type": "DevelopmentDetected",
        "data": {
            "story": STORY, "story_title": "Guzman detention conditions",
            "development": {"id": dev_id, "type": type_, "outcome": outcome,
                            "date": "2017-05-04", "summary": "s", "evidence": evidence},
            "article": {"id": "a1", "outlet": "Court News", "url": "https://example.org/a1",
                        "title": "Judge keeps Guzman in solitary",
                        "published_at": "2017-05-04T20:00:00+00:00"},
        },
    }


class Receiver:
    """A loopback HTTP server answering from a script: each answer is a status, optional
    headers, and optionally an event to wait for (or seconds to sleep) before answering."""

    def __init__(self):
        self.requests: list[dict] = []
        self.script: list[dict] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver.lock:
                    receiver.requests.append({"headers": {k.lower(): v for k, v in
                                                          self.headers.items()},
                                              "body": body, "at": time.time()})
                    answer = receiver.script.pop(0) if receiver.script else {}
                if answer.get("wait"):
                    answer["wait"].wait(30)
                if answer.get("sleep"):
                    time.sleep(answer["sleep"])
                try:
                    self.send_response(answer.get("status", 200))
                    for name, value in answer.get("headers", {}).items():
                        self.send_header(name, value)
                    self.send_header("content-length", "2")
                    self.end_headers()
                    self.wfile.write(b"ok")
                except OSError:
                    pass  # the sender is gone

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hooks"

    def verified(self, secret: str) -> list[dict]:
        """Requests whose Standard Webhooks signature verifies with this secret."""
        good = []
        for request in self.requests:
            try:
                good.append({"id": request["headers"]["webhook-id"],
                             "payload": Webhook(secret).verify(request["body"],
                                                               request["headers"])})
            except (WebhookVerificationError, KeyError):
                pass
        return good

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


class Mailbox:
    """aiosmtpd handler keeping every message; `logins` records authentications."""

    def __init__(self):
        self.messages = []
        self.logins = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content,
                                                                    policy=policy.default)))
        return "250 OK"


@pytest.fixture
def mailbox():
    box = Mailbox()

    def authenticate(server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and \
            (auth_data.login, auth_data.password) == (b"desk", b"s3cret-pass")
        if ok:
            box.logins.append(auth_data.login)
        return AuthResult(success=ok)

    controller = Controller(box, hostname="127.0.0.1", port=free_port(),
                            authenticator=authenticate, auth_require_tls=False)
    controller.start()
    box.port = controller.port
    yield box
    controller.stop()


@pytest.fixture
def notify(tmp_path, mailbox):
    """Notify on its own SQLite database, its tasks configured to use it."""
    settings = Settings(notify_database_url=f"sqlite:///{tmp_path / 'notify.db'}",
                        allow_private_urls=True, webhook_timeout=0.5, slack_interval=1.0,
                        smtp_port=mailbox.port, smtp_username="desk",
                        smtp_password="s3cret-pass", notify_public_url="http://testserver",
                        data_dir=tmp_path)
    engine = get_engine(settings.service_database_url("notify"))
    upgrade("notify", engine)
    configure_tasks(settings)
    yield settings, engine
    tasks._settings = None


def add_subscription(engine, channel: str, target: str, email: str | None = None,
                     **fields) -> Subscription:
    with Session(engine) as session:
        owner = Subscriber(name="Court desk", email=email)
        session.add(owner)
        sub = Subscription(name="court desk", channel=channel, target=target,
                           subscriber_id=owner.id,
                           secret="whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
                           if channel == "webhook" else None, **fields)
        session.add(sub)
        session.commit()
        session.refresh(sub)
        return sub


def one_delivery(engine, sub_id: str, dev_id: str) -> Delivery:
    with Session(engine) as session:
        return session.exec(select(Delivery).where(Delivery.subscription_id == sub_id,
                                                   Delivery.development_id == dev_id)).one()


def attempts(engine, delivery_id: str) -> list[DeliveryAttempt]:
    with Session(engine) as session:
        return session.exec(select(DeliveryAttempt).where(
            DeliveryAttempt.delivery_id == delivery_id).order_by(DeliveryAttempt.id)).all()


def run(delivery_id: str, scheduled: list) -> str:
    import httpx

    with httpx.Client(timeout=httpx.Timeout(0.5)) as http:
        return tasks.deliver(delivery_id, http, lambda i, s: scheduled.append((i, s)))


def test_webhook_retries_waits_timeouts_and_410_disables_and_tells_the_owner(notify, mailbox):
    settings, engine = notify
    with Receiver() as receiver:
        sub = add_subscription(engine, "webhook", receiver.url, email="desk@example.org")
        store.record_deliveries(engine, [development_event(1, "d1")], 1, "http://sw")
        delivery = one_delivery(engine, sub.id, "d1")
        receiver.script = [{"status": 500},
                           {"status": 429, "headers": {"Retry-After": "3000"}},
                           {"status": 200, "sleep": 2.0},  # past the 0.5 s timeout
                           {"status": 503, "headers": {"Retry-After": "1"}},
                           {"status": 410}]
        scheduled = []

        # 500: the 5 s retry (with jitter) is a Celery countdown.
        assert run(delivery.id, scheduled) == "pending"
        (retry,) = scheduled
        assert retry[0] == delivery.id and 4.5 <= retry[1] <= 5.5
        assert store.take_due(engine) == []  # the countdown holds it; no double enqueue

        # 429 with Retry-After 3000 s: longer than the 5 min step, so Retry-After wins, and
        # a 50 min wait is held in the database for the sweep, not in the broker.
        before = utcnow()
        assert run(delivery.id, scheduled) == "pending"
        assert len(scheduled) == 1
        row = one_delivery(engine, sub.id, "d1")
        assert 2990 <= (row.next_attempt_at - before).total_seconds() <= 3010
        assert row.enqueued_at is None

        # A hanging endpoint: the attempt times out and the next wait (30 min) is in the DB.
        assert run(delivery.id, scheduled) == "pending"
        timed_out = attempts(engine, delivery.id)[-1]
        assert timed_out.status_code is None and "Timeout" in timed_out.error
        assert timed_out.duration_ms < 2000

        # 503 with a short Retry-After: the schedule's longer wait (2 h) stands.
        before = utcnow()
        assert run(delivery.id, scheduled) == "pending"
        wait = (one_delivery(engine, sub.id, "d1").next_attempt_at - before).total_seconds()
        assert 7200 * 0.9 - 5 <= wait <= 7200 * 1.1 + 5

        # 410 Gone: failed, the subscription disabled, its owner told by email.
        assert run(delivery.id, scheduled) == "failed"
        codes = [a.status_code for a in attempts(engine, delivery.id)]
        assert codes == [500, 429, None, 503, 410]
        with Session(engine) as session:
            refreshed = session.get(Subscription, sub.id)
        assert not refreshed.active and "410" in refreshed.disabled_reason
        (to, notice), = mailbox.messages
        assert to == ["desk@example.org"] and "paused" in notice["Subject"]
        assert "410" in notice.get_content()
        assert all(r["headers"]["webhook-id"] == delivery.id for r in receiver.requests)
        assert len(receiver.verified(sub.secret)) == 5


def test_an_endpoint_failing_for_days_is_disabled(notify, mailbox):
    settings, engine = notify
    with Receiver() as receiver:
        sub = add_subscription(engine, "webhook", receiver.url, email="desk@example.org")
        store.record_deliveries(engine, [development_event(1, "d1"), development_event(2, "d2")],
                                2, "http://sw")
        receiver.script = [{"status": 500}, {"status": 200}, {"status": 500}]
        first = one_delivery(engine, sub.id, "d1").id
        assert run(first, []) == "pending"
        with Session(engine) as session:
            assert session.get(Subscription, sub.id).failing_since is not None
        assert run(one_delivery(engine, sub.id, "d2").id, []) == "delivered"
        with Session(engine) as session:  # a success ends the failing streak
            assert session.get(Subscription, sub.id).failing_since is None
            session.exec(update(Subscription).values(
                failing_since=utcnow() - timedelta(hours=73)))
            session.commit()
        assert run(first, []) == "pending"  # still retrying this one, but the endpoint is off
        with Session(engine) as session:
            refreshed = session.get(Subscription, sub.id)
        assert not refreshed.active and "failing since" in refreshed.disabled_reason
        assert len(mailbox.messages) == 1
        assert run(first, []) == "failed"  # the next attempt finds it disabled
        assert len(receiver.requests) == 3


def test_slack_block_kit_pacing_and_retry_after(notify):
    settings, engine = notify
    with Receiver() as slack:
        sub = add_subscription(engine, "slack", slack.url)
        long = "The judge wrote <at length> & more. " * 200  # 7,400 characters
        store.record_deliveries(engine, [development_event(1, "d1", evidence=long),
                                         development_event(2, "d2"),
                                         development_event(3, "d3")], 3, "http://sw")
        d1, d2, d3 = (one_delivery(engine, sub.id, d).id for d in ("d1", "d2", "d3"))
        scheduled = []
        assert run(d1, scheduled) == "delivered"
        message = json.loads(slack.requests[0]["body"])
        assert message["text"].startswith("Guzman detention conditions: ruling denied")
        assert len(message["blocks"]) <= 50
        sections = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
        assert all(len(t) <= 3000 for t in sections)
        assert "&lt;at length&gt; &amp; more" in sections[0]
        assert "<https://example.org/a1|Court News>" in sections[0]
        assert "timeline" in sections[0]
        context = [b for b in message["blocks"] if b["type"] == "context"][0]
        assert "subscribed to every development" in context["elements"][0]["text"]

        # Within a second of the last message to this hook, the next one waits its turn:
        # no attempt is made or counted, and a countdown brings it back.
        assert run(d2, scheduled) == "deferred"
        assert len(slack.requests) == 1 and attempts(engine, d2) == []
        assert one_delivery(engine, sub.id, "d2").status == "pending"
        assert scheduled[-1][0] == d2 and 0 < scheduled[-1][1] <= 1.0

        # 429 with Retry-After: the hook is held that long, the delivery retried after it.
        with Session(engine) as session:  # a second has passed
            session.exec(update(store.HookPacing).values(next_send_at=utcnow()))
            session.commit()
        slack.script = [{"status": 429, "headers": {"Retry-After": "40"}}]
        assert run(d2, scheduled) == "pending"
        assert (one_delivery(engine, sub.id, "d2").next_attempt_at - utcnow()).total_seconds() \
            >= 35
        assert run(d3, scheduled) == "deferred"
        assert scheduled[-1][0] == d3 and scheduled[-1][1] >= 35
        assert len(slack.requests) == 2


def test_email_parts_headers_and_one_click_unsubscribe(notify, mailbox):
    settings, engine = notify
    sub = add_subscription(engine, "email", "editor@example.org")
    evil = 'The filing said "<script>alert(1)</script>" in open court.'
    store.record_deliveries(engine, [development_event(1, "d1", evidence=evil)], 1,
                            "https://sw.example")
    delivery = one_delivery(engine, sub.id, "d1")
    assert run(delivery.id, []) == "delivered"
    assert mailbox.logins == [b"desk"]  # SMTP AUTH with the configured account
    (to, message), = mailbox.messages
    assert to == ["editor@example.org"]
    assert message["Subject"] == "Guzman detention conditions: ruling denied (2017-05-04)"
    assert message["Message-ID"] == f"<{delivery.id}@storywire>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = message["List-Unsubscribe"].strip("<>")
    assert link.startswith("http://testserver/v1/unsubscribe/")
    assert sub.id not in link.rsplit("/", 1)[1].split(".")[1]  # the signature part is opaque
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for part in (text, html):
        assert "https://example.org/a1" in part
        assert "https://sw.example/v1/stories/guzman-detention-conditions/timeline" in part
        assert "subscribed to every development" in part
        assert link in part
    assert evil in text
    assert "<script>" not in html and "&lt;script&gt;" in html

    app = create_app(settings, run_dispatch_loop=False, enqueue=lambda i: None)
    with TestClient(app) as client:
        path = urlsplit(link).path
        page = client.get(path)  # what a link scanner does: nothing changes
        assert page.status_code == 200 and "<form method=\"post\"" in page.text
        with Session(engine) as session:
            assert session.get(Subscription, sub.id).active
        forged = client.post(path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB"))
        assert forged.status_code == 404
        assert forged.headers["content-type"] == "application/problem+json"
        done = client.post(path, headers={"content-type": "application/x-www-form-urlencoded"},
                           content="List-Unsubscribe=One-Click")
        assert done.status_code == 200 and "Unsubscribed" in done.text
    with Session(engine) as session:
        refreshed = session.get(Subscription, sub.id)
    assert not refreshed.active and refreshed.disabled_reason == "unsubscribed"
    assert store.record_deliveries(engine, [development_event(2, "d2")], 2, "http://sw") == 0
    assert len(mailbox.messages) == 1


def test_a_url_that_resolves_to_a_private_address_is_refused_at_delivery(notify):
    settings, engine = notify
    with Receiver() as receiver:
        sub = add_subscription(engine, "webhook", receiver.url)
        store.record_deliveries(engine, [development_event(1, "d1")], 1, "http://sw")
        delivery = one_delivery(engine, sub.id, "d1")
        configure_tasks(settings.model_copy(update={"allow_private_urls": False}))
        assert run(delivery.id, []) == "pending"
        (attempt,) = attempts(engine, delivery.id)
        assert attempt.error.startswith("refused:") and "loopback" in attempt.error
        assert receiver.requests == []


def test_alert_body_says_what_happened_why_and_where(notify):
    body = alert_body(development_event(9, "d9")["data"], 9, "type is ruling", "https://sw",
                      utcnow())
    data = body["data"]
    assert data["development"]["type"] == "ruling" and data["development"]["outcome"]
    assert data["development"]["evidence"] and data["sources"][0]["url"]
    assert data["story"]["timeline_url"].endswith("/timeline") and data["reason"]
