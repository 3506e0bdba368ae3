"""The notify API on SQLite and PostgreSQL: subscribers and subscriptions, secrets shown once
and rotated, refused URLs, attempts, redrive, test alerts, the Atom feed; digests."""

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit
from xml.etree import ElementTree as ET

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, update
from sqlmodel import Session, select
from test_notify_channels import Receiver, development_event

from services.notify import store, tasks
from services.notify.api import create_app
from services.notify.models import Delivery, DigestItem, Subscriber, Subscription
from shared.db import get_engine
from shared.migrate import upgrade
from shared.settings import Settings
from shared.tasks import configure as configure_tasks

KEY = "notify-admin-key"
AUTH = {"authorization": f"Bearer {KEY}"}
ATOM = "{http://www.w3.org/2005/Atom}"


@pytest.fixture
def api(db_url, tmp_path):
    settings = Settings(notify_database_url=db_url, api_key=KEY, allow_private_urls=True,
                        webhook_timeout=2, delivery_max_attempts=2,
                        notify_public_url="http://testserver", data_dir=tmp_path)
    engine = get_engine(db_url)
    upgrade("notify", engine)
    configure_tasks(settings)
    queued: list[str] = []
    with TestClient(create_app(settings, run_dispatch_loop=False, enqueue=queued.extend),
                    headers=AUTH) as client:
        client.engine, client.queued, client.settings = engine, queued, settings
        yield client
    tasks._settings = None


def count(engine, model) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()


def deliver(delivery_id: str) -> str:
    with httpx.Client(timeout=2) as http:
        return tasks.deliver(delivery_id, http)


def test_subscribers_and_subscriptions_crud(api):
    assert api.get("/v1/subscribers", headers={"authorization": "Bearer nope"}).status_code == 401
    desk = api.post("/v1/subscribers", json={"name": "Court desk", "email": "desk@example.org",
                                             "time_zone": "America/New_York"})
    assert desk.status_code == 201, desk.text
    desk = desk.json()
    assert desk["feed_url"].startswith("http://testserver/v1/feeds/")
    created = api.post("/v1/subscriptions", json={
        "subscriber_id": desk["id"], "name": "rulings", "channel": "webhook",
        "url": "https://hooks.example.org/sw", "types": ["ruling"], "outcomes": ["denied"]})
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    assert secret.startswith("whsec_")
    slack = api.post("/v1/subscriptions", json={
        "subscriber_id": desk["id"], "name": "slack", "channel": "slack",
        "url": "https://hooks.slack.example/T/B/x", "rate": "daily", "digest_time": "07:30"})
    email = api.post("/v1/subscriptions", json={
        "subscriber_id": desk["id"], "name": "mail", "channel": "email",
        "email": "editor@example.org", "rate": "weekly", "digest_weekday": 4})
    assert slack.json()["secret"] is None and email.json()["email"] == "editor@example.org"
    listed = api.get(f"/v1/subscribers/{desk['id']}/subscriptions")
    assert [s["name"] for s in listed.json()] == ["rulings", "slack", "mail"]
    assert secret not in listed.text and secret not in api.get("/v1/subscriptions").text
    sub_id = created.json()["id"]
    patched = api.patch(f"/v1/subscriptions/{sub_id}", json={"stories": ["s1"],
                                                              "rate": "hourly"})
    assert patched.json()["stories"] == ["s1"] and patched.json()["rate"] == "hourly"
    assert api.patch(f"/v1/subscribers/{desk['id']}",
                     json={"time_zone": "Asia/Tokyo"}).json()["time_zone"] == "Asia/Tokyo"
    assert api.delete(f"/v1/subscriptions/{sub_id}").status_code == 204
    assert api.get(f"/v1/subscriptions/{sub_id}").status_code == 404
    assert api.delete(f"/v1/subscribers/{desk['id']}").status_code == 204
    assert count(api.engine, Subscription) == 0 and count(api.engine, Subscriber) == 0


@pytest.mark.parametrize("body", [
    {"name": "x", "channel": "email", "url": "https://example.org/h"},
    {"name": "x", "channel": "email", "email": "not-an-address"},
    {"name": "x", "channel": "email", "email": "a@example.org\r\nBcc: b@example.org"},
    {"name": "x", "channel": "webhook"},
    {"name": "x", "url": "ftp://example.org/h"},
    {"name": "x", "url": "https://example.org/h", "rate": "monthly"},
    {"name": "x", "url": "https://example.org/h", "rate": "daily", "digest_time": "25:00"},
    {"name": "x", "url": "https://example.org/h", "types": ["gossip"]},
    {"name": "x", "url": "https://example.org/h", "subscriber_id": "sbr_missing"},
])
def test_bad_subscriptions_are_problems_and_write_nothing(api, body):
    response = api.post("/v1/subscriptions", json=body)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert count(api.engine, Subscription) == 0 and count(api.engine, Subscriber) == 0


def test_bad_subscriber_time_zone_is_a_problem(api):
    response = api.post("/v1/subscribers", json={"name": "x", "time_zone": "Mars/Olympus"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert count(api.engine, Subscriber) == 0


@pytest.mark.parametrize("url", ["http://127.0.0.1:9/h", "http://localhost/h",
                                 "http://169.254.169.254/latest/meta-data",
                                 "http://10.1.2.3/h", "http://[::1]/h",
                                 "http://no-such-host.invalid/h"])
def test_private_and_metadata_urls_are_refused_at_creation(db_url, tmp_path, url):
    settings = Settings(notify_database_url=db_url, allow_private_urls=False, data_dir=tmp_path)
    upgrade("notify", get_engine(db_url))
    with TestClient(create_app(settings, run_dispatch_loop=False)) as client:
        response = client.post("/v1/subscriptions", json={"name": "x", "url": url})
        assert response.status_code == 422
        assert response.json()["type"] == "urn:storywire:problem:unsafe-url"
        created = client.post("/v1/subscriptions", json={
            "name": "x", "url": "https://hooks.example.org/h", "channel": "slack"})
        if created.status_code == 201:  # when example.org resolves here
            sub_id = created.json()["id"]
            assert client.patch(f"/v1/subscriptions/{sub_id}",
                                json={"url": url}).status_code == 422
    with Session(get_engine(db_url)) as session:
        assert all(s.target != url for s in session.exec(select(Subscription)))


def test_rotation_signs_with_both_secrets_during_the_grace_period(api):
    with Receiver() as receiver:
        created = api.post("/v1/subscriptions", json={"name": "r", "url": receiver.url}).json()
        old = created["secret"]
        rotated = api.post(f"/v1/subscriptions/{created['id']}/secret")
        assert rotated.status_code == 200
        new = rotated.json()["secret"]
        assert new != old and new not in api.get(f"/v1/subscriptions/{created['id']}").text
        queued = api.post(f"/v1/subscriptions/{created['id']}/test")
        assert queued.status_code == 202
        assert deliver(queued.json()["delivery_id"]) == "delivered"
        assert len(receiver.verified(old)) == 1 and len(receiver.verified(new)) == 1
        test_alert = receiver.verified(new)[0]["payload"]
        assert test_alert["data"]["test"] is True

        with Session(api.engine) as session:  # the grace period ends
            session.exec(update(Subscription).values(
                previous_secret_until=datetime.now(UTC) - timedelta(seconds=1)))
            session.commit()
        again = api.post(f"/v1/subscriptions/{created['id']}/test").json()["delivery_id"]
        assert deliver(again) == "delivered"
        assert len(receiver.verified(old)) == 1 and len(receiver.verified(new)) == 2


def test_attempts_redrive_and_the_atom_feed(api):
    with Receiver() as receiver:
        desk = api.post("/v1/subscribers", json={"name": "Court desk"}).json()
        sub = api.post("/v1/subscriptions", json={"subscriber_id": desk["id"], "name": "r",
                                                  "url": receiver.url}).json()
        store.record_deliveries(api.engine, [development_event(4, "d1")], 4,
                                "https://sw.example")
        (delivery,) = api.get(f"/v1/subscriptions/{sub['id']}/deliveries").json()
        receiver.script = [{"status": 500}, {"status": 502}]
        assert deliver(delivery["id"]) == "pending"
        assert deliver(delivery["id"]) == "failed"  # max attempts 2: dead letter
        attempts = api.get(f"/v1/deliveries/{delivery['id']}/attempts").json()
        assert [a["status_code"] for a in attempts] == [500, 502]
        assert all(a["response_excerpt"] == "ok" and a["duration_ms"] >= 0 for a in attempts)
        assert api.get("/v1/deliveries/msg_nope/attempts").status_code == 404

        assert api.post("/v1/deliveries/redrive", json={}).status_code == 422
        redriven = api.post("/v1/deliveries/redrive", json={"subscription_id": sub["id"]})
        assert redriven.json() == {"redriven": [delivery["id"]]}
        assert api.queued[-1] == delivery["id"]
        assert api.get(f"/v1/deliveries/{delivery['id']}").json()["status"] == "pending"
        assert deliver(delivery["id"]) == "delivered"
        assert api.post("/v1/deliveries/redrive",
                        json={"subscription_id": sub["id"]}).json() == {"redriven": []}

        # The feed needs no API key: its link carries a signed token.
        path = urlsplit(desk["feed_url"]).path
        response = api.get(path, headers={"authorization": ""})
        assert response.status_code == 200 and response.headers["content-type"].startswith(
            "application/atom+xml")
        root = ET.fromstring(response.content)
        assert root.tag == f"{ATOM}feed"
        for tag in ("id", "title", "updated", "author"):
            assert root.find(f"{ATOM}{tag}") is not None
        (entry,) = root.findall(f"{ATOM}entry")
        assert entry.find(f"{ATOM}id").text == "urn:storywire:development:d1"
        assert entry.find(f"{ATOM}link[@rel='alternate']").get("href") == \
            "https://example.org/a1"
        assert "ruling denied" in entry.find(f"{ATOM}title").text
        tampered = path[:-1] + ("B" if path.endswith("A") else "A")  # the signature altered
        assert api.get(tampered).status_code == 404


def test_digests_across_a_daylight_saving_change(api):
    """Daily at 08:00 New York: the window before the March change is 23 hours. Each
    development lands in exactly one digest; an empty window sends nothing."""
    with Receiver() as receiver:
        desk = api.post("/v1/subscribers", json={"name": "NY desk",
                                                 "time_zone": "America/New_York"}).json()
        sub = api.post("/v1/subscriptions", json={
            "subscriber_id": desk["id"], "name": "daily", "url": receiver.url,
            "rate": "daily", "digest_time": "08:00"}).json()
        events = [development_event(n, f"d{n}") for n in (1, 2, 3)]
        assert store.record_deliveries(api.engine, events, 3, "https://sw") == 0
        assert count(api.engine, Delivery) == 0 and count(api.engine, DigestItem) == 3
        recorded = {  # 07:30 EST, 08:30 EST (Saturday), 07:30 EDT (Sunday, after the change)
            "d1": datetime(2024, 3, 9, 12, 30, tzinfo=UTC),
            "d2": datetime(2024, 3, 9, 13, 30, tzinfo=UTC),
            "d3": datetime(2024, 3, 10, 11, 30, tzinfo=UTC),
        }
        with Session(api.engine) as session:
            for dev, at in recorded.items():
                session.exec(update(DigestItem).where(DigestItem.development_id == dev)
                             .values(created_at=at))
            session.commit()

        def close(now):
            return store.close_digests(api.engine, now)

        (first,) = close(datetime(2024, 3, 9, 13, 5, tzinfo=UTC))  # after 08:00 EST
        assert close(datetime(2024, 3, 9, 13, 6, tzinfo=UTC)) == []  # same window again
        assert close(datetime(2024, 3, 10, 11, 59, tzinfo=UTC)) == []  # not yet 08:00 EDT
        (second,) = close(datetime(2024, 3, 10, 12, 1, tzinfo=UTC))  # 08:00 EDT is 12:00Z
        assert close(datetime(2024, 3, 11, 12, 30, tzinfo=UTC)) == []  # empty window
        with Session(api.engine) as session:
            digests = {d.id: d for d in session.exec(select(Delivery))}
            items = {i.development_id: i.delivery_id for i in session.exec(select(DigestItem))}
        assert items == {"d1": first, "d2": second, "d3": second}
        window = digests[second].payload["data"]["window"]
        assert window == {"start": "2024-03-09T13:00:00+00:00",
                          "end": "2024-03-10T12:00:00+00:00"}  # 23 hours
        assert digests[second].development_id == "digest:2024-03-10T12:00:00+00:00"
        for delivery_id in (first, second):
            assert deliver(delivery_id) == "delivered"
        got = [r["payload"] for r in receiver.verified(sub["secret"])]
        assert [p["type"] for p in got] == ["story.digest", "story.digest"]
        assert [[a["development"]["id"] for a in p["data"]["alerts"]] for p in got] == \
            [["d1"], ["d2", "d3"]]
        # The feed lists digest developments too.
        feed = ET.fromstring(api.get(urlsplit(desk["feed_url"]).path).content)
        assert len(feed.findall(f"{ATOM}entry")) == 3


def test_a_failing_insert_puts_no_signing_secret_in_an_error_or_a_log(api, caplog):
    import logging
    import traceback

    desk = api.post("/v1/subscribers", json={"name": "Desk"}).json()
    with caplog.at_level(logging.DEBUG):
        try:
            response = api.post("/v1/subscriptions", json={
                "subscriber_id": desk["id"], "name": "bad\u0000name", "channel": "webhook",
                "url": "https://hooks.example.org/nul"})
            # where the database takes a NUL the row is stored and its secret shown once
            told = "" if response.status_code == 201 else response.text
        except Exception as exc:                     # PostgreSQL refuses the NUL
            told = "".join(traceback.format_exception(exc))
    assert "whsec_" not in told
    assert "whsec_" not in caplog.text
