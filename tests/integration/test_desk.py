"""The desk's pages without a browser, on SQLite and PostgreSQL: open when no key exists;
with keys, each page follows the key's scopes (a subscriptions key sees only its subscriber's
subscriptions, a read key cannot write); forms need their CSRF token; bad form input is a
problem and writes nothing; every page has the CSP; a hostile title is escaped; the story
forms record the same events as the API."""

import re

import httpx
import pytest
from conftest import RULING_ARTICLE
from fastapi.testclient import TestClient

from services.desk.web import CSRF_COOKIE, KEY_COOKIE, use_clients
from services.embedded import asgi_client
from services.ingest.api import create_app as ingest_app
from services.notify.api import create_app as notify_app
from services.story.api import create_app as story_app
from shared import keys
from shared.db import get_engine
from shared.migrate import upgrade
from shared.problems import PROBLEM_JSON
from shared.settings import Settings

KEY = "desk-test-operator-key"
STORY = "guzman-detention-conditions"
JSON = {"accept": "application/json"}
HOSTILE = {
    "id": "hostile-1", "outlet": "Hostile <b>Wire</b>", "url": "javascript:alert(3)",
    "title": "<script>alert(1)</script> Judge keeps Guzman in solitary",
    "published_at": "2017-05-04T21:00:00Z",
    "body": ("A federal judge on Thursday refused to release Joaquin \"El Chapo\" Guzman from "
             "solitary confinement <img src=x onerror=alert(2)>.\n\nU.S. District Judge "
             "Brian Cogan also rejected the request to let Amnesty International observers "
             "visit Guzman at the Metropolitan Correctional Center."),
}


def desk_client(db_url, tmp_path, api_key=None) -> TestClient:
    for service in ("ingest", "story", "notify"):
        upgrade(service, get_engine(db_url))
    settings = Settings(database_url=db_url, data_dir=tmp_path, api_key=api_key)
    story = story_app(settings, run_snapshotter=False)
    notify = notify_app(settings, run_dispatch_loop=False, enqueue=lambda _id: None)
    ingest = ingest_app(settings, run_relay_loop=False)
    use_clients(story, asgi_client(ingest, "ingest"), asgi_client(notify, "notify"))
    client = TestClient(story)
    client.notify = TestClient(notify)
    client.ingest = TestClient(ingest)
    return client


@pytest.fixture
def open_desk(db_url, tmp_path):
    with desk_client(db_url, tmp_path) as client:
        yield client


@pytest.fixture
def keyed_desk(db_url, tmp_path):
    with desk_client(db_url, tmp_path, KEY) as client:
        yield client


def csrf(client: TestClient, path: str = "/desk/stories") -> str:
    """The CSRF token a page's forms carry (and the cookie it set)."""
    page = client.get(path)
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    assert client.cookies.get(CSRF_COOKIE) == token
    return token


def sign_in(client: TestClient, token: str) -> None:
    client.cookies.clear()
    answer = client.post("/desk/sign-in", data={"key": token, "csrf": csrf(client,
                                                                           "/desk/sign-in")},
                         follow_redirects=False)
    assert answer.status_code == 303, answer.text
    cookie = answer.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Secure" not in cookie
    assert token not in answer.text and token not in answer.headers["location"]


def test_open_without_keys_with_the_csp_on_every_page(open_desk):
    for path in ("/desk/stories", f"/desk/stories/{STORY}", "/desk/subscriptions",
                 "/desk/sign-in", f"/desk/stories/{STORY}/edit", "/desk/stories/none"):
        page = open_desk.get(path, headers={"accept": "text/html"})
        assert page.status_code == (404 if path.endswith("none") else 200), path
        policy = page.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "script-src 'self';" in policy, path
        assert "<script>" not in page.text and "unsafe-inline" not in policy
    assert "Guzman detention conditions" in open_desk.get("/desk/stories").text
    assert open_desk.get("/v1/stories").headers.get("content-security-policy") is None


def test_time_travel_and_what_articles_changed(open_desk):
    article = {**RULING_ARTICLE, "id": "ruling-1"}
    assert open_desk.post("/v1/articles", json=article).status_code == 200
    copy = {**article, "id": "ruling-2", "outlet": "Wire copy", "url": "https://copy.example/"}
    assert open_desk.post("/v1/articles", json=copy).status_code == 200
    story = f"/desk/stories/{STORY}"
    now = open_desk.get(story).text
    assert now.count('data-type="ruling" data-outcome="denied"') == 2
    assert "data-stream=" in now and '<mark class="new">' in now
    assert now.count('class="article"') == 1 and "1 copy of it" in now    # the copy under it
    assert open_desk.get(story, params={"outcome": "granted"}).text.count(
        'class="development"') == 0
    before = open_desk.get(story, params={"as_of": "2017-05-03"}).text
    assert 'class="development"' not in before and "data-stream=" not in before
    assert "as it stood in the news on 2017-05-03" in before
    assert open_desk.get(story, params={"as_of": "2017-05-04"}).text.count(
        'data-outcome="denied"') == 2
    first = open_desk.get(story, params={"known_at": "1"}).text
    assert 'class="article"' not in first and "version <span id=\"version\">1<" in first
    bad = open_desk.get(story, params={"as_of": "yesterday"}, headers=JSON)
    assert bad.status_code == 400 and bad.json()["type"].endswith(":bad-as-of")
    page = open_desk.get(f"{story}/articles/ruling-2").text
    assert "A copy of" in page and '<p class="sentence known"' in page
    assert f'href="{story}/articles/ruling-1#s0"' in page


def test_a_hostile_article_is_escaped(open_desk):
    assert open_desk.post("/v1/articles", json=HOSTILE).status_code == 200
    story = open_desk.get(f"/desk/stories/{STORY}").text
    article = open_desk.get(f"/desk/stories/{STORY}/articles/hostile-1").text
    for page in (story, article):
        assert "<script>alert" not in page and "<img src=x" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "javascript:" not in page          # its link goes nowhere
    assert "&lt;img src=x onerror=alert(2)&gt;" in article
    assert "Hostile &lt;b&gt;Wire&lt;/b&gt;" in article


def test_story_forms_record_the_api_events_and_bad_input_writes_nothing(open_desk):
    token = csrf(open_desk)
    slugs = open_desk.get("/v1/stories").json()["stories"]

    for bad in ({"title": " "}, {"title": "Zone", "time_zone": "Mars/Olympus"},
                {"title": "Slug", "slug": "Not A Slug"}):
        answer = open_desk.post("/desk/stories", data={**bad, "csrf": token}, headers=JSON)
        assert answer.status_code == 422, bad
        assert answer.headers["content-type"].startswith(PROBLEM_JSON)
        assert answer.json()["type"] == "urn:storywire:problem:validation-error"
    page = open_desk.post("/desk/stories", data={"title": " ", "csrf": token},
                          headers={"accept": "text/html"})
    assert page.status_code == 422 and "The form is not valid" in page.text
    forged = open_desk.post("/desk/stories", data={"title": "Forged"}, headers=JSON)
    assert forged.status_code == 403 and forged.json()["type"].endswith(":csrf")
    cross = open_desk.post("/desk/stories", data={"title": "Cross", "csrf": token},
                           headers={**JSON, "origin": "https://elsewhere.example"})
    assert cross.status_code == 403
    assert open_desk.get("/v1/stories").json()["stories"] == slugs

    made = open_desk.post("/desk/stories", data={
        "title": "Cogan courtroom", "entities": "Brian Cogan\nJoaquin Guzman\n",
        "keywords": "courtroom", "time_zone": "America/New_York", "csrf": token},
        follow_redirects=False)
    assert made.status_code == 303 and made.headers["location"] == "/desk/stories/cogan-courtroom"
    assert open_desk.post("/desk/stories", data={"title": "Cogan courtroom", "csrf": token},
                          headers=JSON).status_code == 409
    edited = open_desk.post("/desk/stories/cogan-courtroom", data={
        "title": "Cogan's courtroom", "entities": "Brian Cogan", "keywords": "",
        "time_zone": "", "csrf": token}, follow_redirects=False)
    assert edited.status_code == 303
    assert open_desk.post("/desk/stories/cogan-courtroom/archive", data={"csrf": token},
                          follow_redirects=False).status_code == 303
    state = open_desk.get("/v1/stories/cogan-courtroom").json()
    assert (state["title"], state["entities"], state["time_zone"], state["status"]) == \
        ("Cogan's courtroom", ["Brian Cogan"], None, "archived")
    events = open_desk.get("/v1/stories/cogan-courtroom/events").json()["events"]
    assert [e["type"] for e in events] == ["StoryDefined", "StoryDefined", "StoryArchived"]


def test_keys_and_scopes(keyed_desk):
    operator = {"authorization": f"Bearer {KEY}"}
    notify = keyed_desk.notify
    owners = {}
    for name in ("Court desk", "Sports desk"):
        created = notify.post("/v1/subscriptions", headers=operator, json={
            "name": name, "url": "https://hooks.example/" + name[:5].lower()})
        assert created.status_code == 201, created.text
        owners[name] = created.json()["subscriber_id"]
    engine = get_engine(str(keyed_desk.app.state.auth.settings.keys_database()))
    _, reader = keys.create_key(engine, "reader", ["read"])
    _, court = keys.create_key(engine, "court", ["subscriptions"], owners["Court desk"])

    # no key: nothing but the sign-in page
    assert keyed_desk.get("/desk/stories", headers=JSON).status_code == 401
    assert keyed_desk.get("/desk/sign-in").status_code == 200
    bad = keyed_desk.post("/desk/sign-in", data={"key": "sw_live_nope_nope",
                                                 "csrf": csrf(keyed_desk, "/desk/sign-in")},
                          headers=JSON)
    assert bad.status_code == 401 and keyed_desk.cookies.get(KEY_COOKIE) is None

    # a read key reads stories, cannot write them, and has no subscriptions page
    sign_in(keyed_desk, reader)
    assert keyed_desk.get(f"/desk/stories/{STORY}").status_code == 200
    assert reader not in keyed_desk.get(f"/desk/stories/{STORY}").text
    refused = keyed_desk.post("/desk/stories", data={"title": "Mine", "csrf": csrf(keyed_desk)},
                              headers=JSON)
    assert refused.status_code == 403
    assert keyed_desk.get("/v1/stories/mine", headers=operator).status_code == 404
    assert keyed_desk.get("/desk/subscriptions", headers=JSON).status_code == 403
    assert keyed_desk.get("/desk/operations", headers=JSON).status_code == 403

    # a subscriptions key sees its own subscriber's subscriptions only
    sign_in(keyed_desk, court)
    page = keyed_desk.get("/desk/subscriptions")
    assert page.status_code == 200
    assert "Court desk" in page.text and "Sports desk" not in page.text
    other = keyed_desk.get("/desk/subscriptions",
                           params={"subscriber_id": owners["Sports desk"]})
    assert "Sports desk" not in other.text
    assert keyed_desk.get(f"/desk/stories/{STORY}", headers=JSON).status_code == 403

    # the story's event stream takes the cookie, from this origin only
    assert keyed_desk.get(f"/desk/stories/{STORY}/stream", headers={
        **JSON, "sec-fetch-site": "cross-site"}).status_code == 403
    sign_in(keyed_desk, KEY)
    with keyed_desk.stream("GET", f"/desk/stories/{STORY}/stream?from_version=0",
                           headers={"sec-fetch-site": "same-origin"}) as stream:
        assert stream.status_code == 200
        assert stream.headers["content-type"].startswith("text/event-stream")
        first = b""
        for chunk in stream.iter_bytes():
            first += chunk
            if b"event: StoryDefined" in first:
                break
    assert b"event: StoryDefined" in first
    keyed_desk.cookies.clear()
    assert keyed_desk.get(f"/desk/stories/{STORY}/stream", headers=JSON).status_code == 401


def test_subscriptions_and_operations_pages(open_desk):
    token = csrf(open_desk, "/desk/subscriptions")
    form = {"csrf": token, "channel": "webhook", "name": "Court desk",
            "target": "https://hooks.example/court", "stories": STORY, "types": ["ruling",
                                                                               "hearing"],
            "rate": "realtime"}
    bad = open_desk.post("/desk/subscriptions", data={**form, "target": "not a url"},
                         headers=JSON)
    assert bad.status_code == 422 and bad.headers["content-type"].startswith(PROBLEM_JSON)
    assert open_desk.notify.get("/v1/subscriptions").json() == []

    created = open_desk.post("/desk/subscriptions", data=form)
    assert created.status_code == 201 and created.headers["cache-control"] == "no-store"
    secret = re.search(r'id="secret">(whsec_[^<]+)<', created.text).group(1)
    (sub,) = open_desk.notify.get("/v1/subscriptions").json()
    assert (sub["stories"], sub["types"], sub["url"]) == ([STORY], ["ruling", "hearing"],
                                                          "https://hooks.example/court")
    listed = open_desk.get("/desk/subscriptions", params={"subscriber_id": sub["subscriber_id"]})
    assert "Court desk" in listed.text and secret not in listed.text

    changed = open_desk.post(f"/desk/subscriptions/{sub['id']}", data={
        "csrf": token, "name": "Court desk", "target": "https://hooks.example/court2",
        "types": "ruling", "rate": "daily", "active": "on"}, follow_redirects=False)
    assert changed.status_code == 303, changed.text
    now = open_desk.notify.get(f"/v1/subscriptions/{sub['id']}").json()
    assert (now["rate"], now["types"], now["stories"], now["url"], now["active"]) == \
        ("daily", ["ruling"], [], "https://hooks.example/court2", True)
    zone = open_desk.post(f"/desk/subscribers/{sub['subscriber_id']}",
                          data={"csrf": token, "time_zone": "Mars/Base"}, headers=JSON)
    assert zone.status_code == 422
    assert open_desk.post(f"/desk/subscribers/{sub['subscriber_id']}", data={
        "csrf": token, "time_zone": "America/New_York"}).status_code == 200
    assert open_desk.notify.get(f"/v1/subscribers/{sub['subscriber_id']}").json()[
        "time_zone"] == "America/New_York"

    tested = open_desk.post(f"/desk/subscriptions/{sub['id']}/test",
                            data={"csrf": token, "subscriber_id": sub["subscriber_id"]})
    assert "Test alert queued" in tested.text
    assert '<span class="badge status-pending">pending</span> test' in tested.text
    redriven = open_desk.post(f"/desk/subscriptions/{sub['id']}/redrive",
                              data={"csrf": token, "subscriber_id": sub["subscriber_id"]})
    assert "0 failed delivery(ies) sent again" in redriven.text

    operations = open_desk.get("/desk/operations")
    assert operations.status_code == 200
    assert re.search(r'id="outbox">0<', operations.text)
    assert "deliveries     pending 1" in operations.text
    assert open_desk.post("/desk/operations/articles/nope/redrive", data={"csrf": token},
                          headers=JSON).status_code == 404

    # ingest unreachable: a problem, not a crash
    use_clients(open_desk.app, httpx.AsyncClient(base_url="http://127.0.0.1:9"),
                open_desk.app.state.desk.notify)
    down = open_desk.get("/desk/operations", headers=JSON)
    assert down.status_code == 502 and down.json()["type"].endswith(":service-unavailable")
