"""The desk in a real browser (the system's Chromium driven by Playwright) against real
service processes on PostgreSQL and Redis: sign in with an API key, the Guzman story's
timeline from the three seeds, a new article's development appearing live, what an article
changed, a subscription's secret shown once, hostile article text shown as text, and no
serious or critical axe-core violation on any page. Screenshots of each page go to the test's
artifact folder (STORYWIRE_TEST_ARTIFACTS, else the pytest tmp dir)."""

import html
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from conftest import free_port, missing, serve_stack, stack_env, wait_until
from test_shared_coverage import seed_articles

from services.demo.run import ARTICLES

pytestmark = pytest.mark.e2e

CHROMIUM = Path(os.environ.get("STORYWIRE_TEST_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
AXE = Path(__file__).with_name("axe") / "axe.min.js"
KEY = "desk-browser-operator-key-not-a-secret"
STORY = "guzman-detention-conditions"
# the demo's article that postpones the hearing: a development the seeds do not have
POSTPONED = next(a for a in json.loads(ARTICLES.read_text()) if "pushed back" in a["title"])
# sent HTML-escaped, as a CMS may: ingest decodes it to literal tags in the stored text
HOSTILE_TITLE = ("<script>alert('title')</script> Cogan keeps Guzman alone "
                 "<img src=x onerror=alert('img')>")
HOSTILE_BODY = ("A federal judge on Thursday again refused to release Joaquin \"El Chapo\" "
                "Guzman from solitary confinement <img src=x onerror=alert('body')>.\n\n"
                "<script>alert('body')</script> U.S. District Judge Brian Cogan also said the "
                "Metropolitan Correctional Center may keep him alone.")


@pytest.fixture
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        missing("Playwright", str(exc))
    if not CHROMIUM.exists():
        missing("Chromium", f"no browser at {CHROMIUM}; apt-get install -y chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def artifacts(tmp_path):
    folder = Path(os.environ.get("STORYWIRE_TEST_ARTIFACTS") or tmp_path) / "desk"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


class Watched:
    """A page whose dialogs (an alert a script opened) and console errors are recorded."""

    def __init__(self, context):
        self.page = context.new_page()
        self.dialogs: list[str] = []
        self.errors: list[str] = []
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))


def axe_violations(page) -> list[dict]:
    """Serious and critical axe-core violations of the page (its script evaluated through
    the browser's debugging protocol, which the page's CSP does not govern)."""
    page.evaluate(AXE.read_text(encoding="utf-8"))
    found = page.evaluate("async () => (await axe.run(document)).violations.map("
                          "v => ({id: v.id, impact: v.impact, nodes: v.nodes.length}))")
    return [v for v in found if v["impact"] in ("serious", "critical")]


def shoot(page, artifacts: Path, name: str) -> None:
    page.screenshot(path=str(artifacts / f"{name}.png"), full_page=True)
    assert axe_violations(page) == [], name


def escaped(text: str) -> str:
    return html.escape(text, quote=False)


def test_the_desk_in_a_browser(pg_url, redis_url, processes, browser, artifacts):
    env, ports = stack_env(pg_url, redis_url, KEY)
    env["STORYWIRE_INGEST_URL"] = f"http://127.0.0.1:{ports['ingest']}"
    env["STORYWIRE_NOTIFY_URL"] = f"http://127.0.0.1:{ports['notify']}"
    serve_stack(processes, env, ports)
    desk = f"http://127.0.0.1:{ports['story']}/desk"
    api = httpx.Client(timeout=10, headers={"authorization": f"Bearer {KEY}"})
    ingest = f"http://127.0.0.1:{ports['ingest']}/v1/articles"
    timeline_url = f"http://127.0.0.1:{ports['story']}/v1/stories/{STORY}/timeline"

    for article in seed_articles():
        assert api.post(ingest, json=article).status_code == 202

    def seeds_in():
        items = api.get(timeline_url).json()["items"]
        return items if len([d for d in items if d["date"]]) >= 3 else None
    wait_until(seeds_in, 60, what="the seeds' developments")

    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = Watched(context)
    page = tab.page

    # signed out: the desk asks for a key; signing in keeps it in an HttpOnly cookie
    page.goto(f"{desk}/stories")
    assert page.get_by_role("heading", name="Sign in with an API key").is_visible()
    assert [e for e in tab.errors if "401" not in e] == []
    tab.errors.clear()                              # that 401 was the point
    page.goto(f"{desk}/sign-in")
    shoot(page, artifacts, "sign-in")
    page.get_by_label("API key").fill(KEY)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{desk}/stories")
    (cookie,) = [c for c in context.cookies() if c["name"] == "storywire_desk_key"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert KEY not in page.content() and KEY not in page.url
    shoot(page, artifacts, "stories")

    # the story page: the seeds' two denials (May 4) and the hearing (May 5)
    response = page.goto(f"{desk}/stories/{STORY}")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    rulings = page.locator("li.development[data-type=ruling][data-outcome=denied]")
    assert rulings.count() == 2
    assert all("2017-05-04" in t for t in rulings.locator("time").all_inner_texts())
    hearing = page.locator("li.development[data-type=hearing]")
    assert "2017-05-05" in hearing.locator("time").all_inner_texts()
    shoot(page, artifacts, "story")

    # from the keyboard: the first Tab reaches the skip link, which moves focus to the content
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"

    # filtered by outcome: only the denials
    page.get_by_label("Outcome").select_option("denied")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**outcome=denied**")
    assert page.locator("li.development").count() == 2

    # live: a new article's development appears without a reload
    page.goto(f"{desk}/stories/{STORY}")
    page.evaluate("window.stillThisPage = true")
    before = page.locator("li.development").count()
    assert page.locator("li.development[data-outcome=postponed]").count() == 0
    postponed = {k: POSTPONED[k] for k in ("outlet", "url", "title", "published_at", "body")}
    assert api.post(ingest, json=postponed).status_code == 202
    page.locator("li.development[data-outcome=postponed]").wait_for(timeout=30_000)
    assert page.locator("li.development").count() == before + 1
    assert page.evaluate("window.stillThisPage") is True
    assert page.get_by_text(POSTPONED["title"]).first.is_visible()

    # what an article changed: the AP edit's new sentences highlighted, known ones muted
    page.get_by_role("link", name=seed_articles()[1]["title"]).first.click()
    page.wait_for_url("**/articles/**")
    assert page.locator(".sentence.new mark.new").count() >= 1
    assert page.locator(".sentence.known").count() >= 1
    assert page.locator(".sentence.known a.repeats").first.get_attribute("href").startswith(
        f"/desk/stories/{STORY}/articles/")
    shoot(page, artifacts, "article")

    # hostile text in a title and body is shown as text, and never runs
    hostile = {"outlet": "Hostile Wire", "url": "https://hostile.example/guzman",
               "title": escaped(HOSTILE_TITLE), "published_at": "2017-05-06T15:00:00Z",
               "body": escaped(HOSTILE_BODY)}
    accepted = api.post(ingest, json=hostile)
    assert accepted.status_code == 202, accepted.text
    article_id = accepted.json()["id"]
    wait_until(lambda: api.get(f"{ingest}/{article_id}").json()["status"] == "attached", 30,
               what="the hostile article to be attached")
    # escaping alone holds: a browser that ignores the CSP runs nothing either
    unguarded = Watched(browser.new_context(bypass_csp=True,
                                            storage_state=context.storage_state()))
    for path in (f"/stories/{STORY}", f"/stories/{STORY}/articles/{article_id}", "/stories"):
        for either in (page, unguarded.page):
            either.goto(desk + path)
            assert either.locator("img[src=x]").count() == 0, path
            assert either.locator("script").count() == 1, path   # desk.js only
    assert unguarded.dialogs == [] and unguarded.errors == []
    page.goto(f"{desk}/stories/{STORY}/articles/{article_id}")
    assert page.get_by_role("heading", level=1).inner_text() == HOSTILE_TITLE
    assert page.get_by_text("<script>alert('body')</script>", exact=False).is_visible()

    # a subscription: its secret shown once, at creation
    page.goto(f"{desk}/subscriptions")
    form = page.locator("form", has=page.get_by_role("button", name="Subscribe"))
    form.get_by_label("Name").fill("Court desk")
    form.get_by_label("Webhook or Slack URL, or email address").fill(
        f"http://127.0.0.1:{free_port()}/hook")
    form.get_by_label("ruling").check()
    form.get_by_role("button", name="Subscribe").click()
    secret = page.locator("#secret").inner_text()
    assert secret.startswith("whsec_")
    shoot(page, artifacts, "subscription-created")
    page.goto(f"{desk}/subscriptions")
    assert page.get_by_role("heading", name="Court desk").is_visible()
    assert secret not in page.content()
    shoot(page, artifacts, "subscriptions")

    page.goto(f"{desk}/operations")
    assert page.locator("#outbox").inner_text().isdigit()
    shoot(page, artifacts, "operations")

    # a phone's width: the story page still fits
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{desk}/stories/{STORY}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(page, artifacts, "story-phone")

    assert tab.dialogs == []
    assert tab.errors == []


def test_demo_serve_prints_the_desk_address_and_serves_it(tmp_path, browser, artifacts):
    """`storywire demo --serve` runs the demo, prints the desk's address and serves it;
    STORYWIRE_DESK_SCREENSHOT names where to keep a screenshot of its story page."""
    port = free_port()
    demo = subprocess.Popen([sys.executable, "-m", "services.cli", "demo", "--serve",
                             "--port", str(port)], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            env={**os.environ, "STORYWIRE_LOG_FORMAT": "console"})
    try:
        lines = []
        for line in demo.stdout:
            lines.append(line)
            if "/desk/stories/" in line:
                break
        address = f"http://127.0.0.1:{port}/desk/stories/{STORY}"
        assert address in lines[-1], "".join(lines)
        assert any("Timeline of" in line for line in lines)
        page = Watched(browser.new_context(viewport={"width": 1100, "height": 800})).page
        page.goto(address)
        assert page.locator("li.development").count() >= 5
        target = os.environ.get("STORYWIRE_DESK_SCREENSHOT")
        page.screenshot(path=target or str(artifacts / "demo-story.png"), full_page=False)
    finally:
        demo.send_signal(signal.SIGINT)     # Ctrl-C, while the page's event stream is open
        assert demo.wait(30) in (0, 130)
