"""Chaos with real processes: `storywire serve` ingest, story and notify, `storywire worker` and
`storywire beat` on a private PostgreSQL cluster and a private redis-server (own ports, so the
shared servers are never touched). During a burst of articles, each reporting a ruling, the
story service, the worker and notify are killed (-9) and started again, the broker is killed
and started empty on the same port, and PostgreSQL crashes and recovers
(`pg_ctl restart -m immediate`); every service and loop reconnects by itself. Once things
settle: no article lost or attached twice, no event recorded twice, every development alerted
under one `webhook-id`, and every send the receiver saw is in its delivery's attempts."""

import datetime
import time
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from conftest import migrate_stack, ready, stack_env, wait_until

from services.demo.receiver import WebhookReceiver

pytestmark = [pytest.mark.e2e, pytest.mark.chaos]

KEY = "chaos-test-operator-key"
AUTH = {"authorization": f"Bearer {KEY}"}
SLUG = "guzman-detention-conditions"  # the story every fresh store tracks
BURST = 120
PACE_SECONDS = 0.1  # between the articles of the burst
HOLD_SECONDS = 0.5  # each webhook request is held this long, so sends are in flight when hit

TOPICS = ["Guzman jail conditions", "Solitary confinement fight", "Detention restrictions",
          "Guzman defense and the jail"]
COURTS = ["U.S. District Judge Brian Cogan", "A federal judge in Brooklyn", "Judge Cogan",
          "The judge presiding over the case", "A Brooklyn federal court"]
ACTIONS = ["denied", "granted", "rejected", "approved", "refused"]
MOTIONS = ["a motion filed by Joaquin Guzman's lawyers", "Joaquin Guzman's request",
           "a defense application by Joaquin Guzman", "the plea by Joaquin Guzman",
           "an emergency motion from Joaquin Guzman"]
REQUESTS = [
    "move him out of solitary confinement", "let his wife Emma Coronel visit him",
    "allow Amnesty International observers into the jail",
    "turn off the lights in his cell at night", "let him telephone his sisters in Sinaloa",
    "give him an hour of exercise outdoors", "ease the special administrative measures",
    "let him meet Eduardo Balarezo every morning", "move him to general population",
    "allow him a Spanish language radio", "let a dentist from Queens examine him",
    "give him paper and pencils for letters", "allow him to receive books about Mexican history",
    "let Mariel Colon bring him documents", "grant a visit by the Mexican consul",
    "permit a psychiatrist to examine him", "let his twin daughters see him",
    "move his cell away from the elevator"]
REASONS = ["citing security concerns", "after a hearing that lasted two hours",
           "pointing to his escapes from Mexican prisons", "in a three-page order",
           "without explanation", "saying prison officials had acted reasonably",
           "over the objection of prosecutors"]


def article(n: int) -> dict:
    """A short report of a ruling on its own day (most are on the story; a few are unrouted)."""
    day = datetime.date(2017, 1, 2) + datetime.timedelta(days=n * 2)
    request = REQUESTS[n % len(REQUESTS)]
    return {
        "outlet": f"Court Wire {n % 5}", "url": f"https://wire.example/2017/guzman-ruling-{n}",
        "title": f"{TOPICS[n % 4]}: Guzman bid to {request}",
        "published_at": f"{day.isoformat()}T20:00:00Z",
        "body": (f"{COURTS[n % 5]} on {day:%B} {day.day}, 2017 {ACTIONS[(n // 5) % 5]} "
                 f"{MOTIONS[(n // 3) % 5]} to {request}, {REASONS[n % 7]}."),
    }


class SlowReceiver(WebhookReceiver):
    """Records (and verifies) each request as it comes in, then holds it before answering."""

    def __init__(self):
        super().__init__()
        self.in_flight = 0

    def _receive(self, body: bytes, headers: dict) -> int:
        self.in_flight += 1
        try:
            status = super()._receive(body, headers)
            time.sleep(HOLD_SECONDS)
            return status
        finally:
            self.in_flight -= 1


def call(http: httpx.Client, method: str, url: str, ok=(200,), **kwargs) -> httpx.Response:
    """A request that waits out a service or database being restarted (no answer, or a 5xx)."""
    deadline = time.monotonic() + 60
    while True:
        try:
            response = http.request(method, url, **kwargs)
            if response.status_code in ok:
                return response
            problem = f"{response.status_code} {response.text[:300]}"
            if response.status_code < 500:
                pytest.fail(f"{method} {url}: {problem}")
        except httpx.HTTPError as exc:
            problem = repr(exc)
        if time.monotonic() > deadline:
            pytest.fail(f"{method} {url} kept failing: {problem}")
        time.sleep(0.3)


def all_pages(http: httpx.Client, url: str) -> list[dict]:
    items, cursor = [], None
    while True:
        params = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = call(http, "GET", url, params=params).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def story_events(http: httpx.Client, story: str) -> list[dict]:
    events, after = [], 1
    while True:
        page = call(http, "GET", f"{story}/v1/stories/{SLUG}/events",
                    params={"from_version": after, "limit": 1000}).json()["events"]
        events += page
        if len(page) < 1000:
            return events
        after = page[-1]["version"] + 1


def feed(http: httpx.Client, story: str) -> list[dict]:
    events, after = [], 0
    while True:
        page = call(http, "GET", f"{story}/v1/events",
                    params={"after": after, "limit": 1000}).json()
        events += page["events"]
        if not page["events"]:
            return events
        after = page["next_after"]


def test_nothing_lost_or_doubled_through_crashes_of_every_part(private_postgres, private_redis,
                                                                processes, tmp_path):
    private_redis.start()
    env, ports = stack_env(private_postgres.url, private_redis.url, KEY,
                           STORYWIRE_DATA_DIR=str(tmp_path), STORYWIRE_DISPATCH_INTERVAL="0.5",
                           STORYWIRE_DELIVERY_CLAIM_SECONDS="15", STORYWIRE_SWEEP_INTERVAL="2",
                           STORYWIRE_LOG_LEVEL="INFO")
    migrate_stack(env)
    started = Counter()
    running = {}

    def start(name: str, args: list[str]):
        started[name] += 1
        running[name] = processes(f"{name}-{started[name]}", ["-m", "services.cli", *args], env)

    def serve(name: str) -> None:
        start(name, ["serve", name, "--port", str(ports[name])])

    def start_worker() -> None:
        start("worker", ["worker", "--concurrency", "2"])

    def logs() -> str:
        return "\n".join([f"--- {name}\n{proc.output()[-2500:]}" for name, proc in running.items()]
                         + [f"--- postgres\n{private_postgres.output()[-2500:]}"])

    for name in ports:
        serve(name)
    start_worker()
    start("beat", ["beat"])
    for name, port in ports.items():
        wait_until(lambda p=port: ready(p), 30, what=f"{name}\n{running[name].output()}")
    wait_until(lambda: "ready" in running["worker"].output(), 30,
               what=f"the worker\n{running['worker'].output()}")

    ingest, story, notify = (f"http://127.0.0.1:{ports[n]}" for n in ("ingest", "story", "notify"))
    receiver = SlowReceiver()

    def sending() -> None:
        wait_until(lambda: receiver.in_flight, 60, interval=0.02,
                   what=f"a webhook send under way\n{logs()}")

    chaos = [  # (articles sent by then, what happens)
        (20, lambda: (running["story"].kill(), serve("story"))),
        (40, lambda: (sending(), running["worker"].kill(), start_worker())),
        (60, lambda: (running["notify"].kill(), serve("notify"))),
        (80, lambda: (sending(), private_redis.kill(), time.sleep(1), private_redis.start())),
        (100, lambda: (sending(), private_postgres.restart())),
    ]
    ids: list[str] = []

    def burst() -> None:
        with httpx.Client(headers=AUTH, timeout=30) as http:
            for n in range(BURST):
                accepted = call(http, "POST", f"{ingest}/v1/articles", ok=(200, 202),
                                json=article(n))
                ids.append(accepted.json()["id"])
                time.sleep(PACE_SECONDS)

    with receiver, httpx.Client(headers=AUTH, timeout=30) as http, \
            ThreadPoolExecutor(1) as pool:
        subscription = call(http, "POST", f"{notify}/v1/subscriptions", ok=(201,),
                            json={"name": "chaos desk", "url": receiver.url}).json()
        receiver.secret = subscription["secret"]

        sent = pool.submit(burst)
        for count, happen in chaos:
            wait_until(lambda c=count: len(ids) >= c or sent.done(), 120, interval=0.02,
                       what=f"{count} articles sent\n{logs()}")
            happen()
        sent.result()
        assert len(set(ids)) == BURST

        def settled_articles():
            statuses = {i: call(http, "GET", f"{ingest}/v1/articles/{i}").json() for i in ids}
            return statuses if all(s["status"] != "accepted" for s in statuses.values()) else None

        def settle(predicate, what):
            """Wait (generously) for predicate(); on a timeout say what was awaited and show
            every process's latest output."""
            try:
                return wait_until(predicate, 150, interval=1, what="the system to settle")
            except pytest.fail.Exception as exc:
                awaited = what() if callable(what) else what
                pytest.fail(f"{exc}: {awaited}\n{logs()}", pytrace=False)

        statuses = settle(settled_articles, "every article forwarded")
        events = story_events(http, story)
        developments = {e["data"]["development"]["id"] for e in events
                        if e["type"] == "DevelopmentDetected"}
        deliveries_url = f"{notify}/v1/subscriptions/{subscription['id']}/deliveries"

        def settled_deliveries():
            rows = call(http, "GET", deliveries_url, params={"limit": 1000}).json()
            seen["deliveries"] = Counter(r["status"] for r in rows)
            done = len(rows) == len(developments) and all(
                r["status"] == "delivered" for r in rows)
            return rows if done else None

        seen = {}
        deliveries = settle(settled_deliveries, lambda: f"every one of {len(developments)} "
                            f"developments delivered (deliveries: {seen})")

        # every accepted article attached exactly once, or unrouted
        assert {s["status"] for s in statuses.values()} <= {"attached", "unrouted"}, statuses
        attached = {i for i, s in statuses.items() if s["status"] == "attached"}
        assert all(statuses[i]["stories"] == [SLUG] for i in attached)
        in_stream = Counter(e["data"]["article"]["id"] for e in events
                            if e["type"] == "ArticleAttached")
        assert set(in_stream) == attached and set(in_stream.values()) == {1}
        listed = Counter(a["id"] for a in all_pages(http, f"{story}/v1/stories/{SLUG}/articles"))
        assert set(listed) == attached and set(listed.values()) == {1}
        assert len(attached) > BURST // 2  # the burst mostly reached the story

        # no event recorded twice, in the story's stream or the global feed
        assert [e["version"] for e in events] == list(range(1, len(events) + 1))
        assert len({e["event_id"] for e in events}) == len(events)
        everything = feed(http, story)
        assert len({e["event_id"] for e in everything}) == len(everything)
        assert len({(e["stream_id"], e["version"]) for e in everything}) == len(everything)
        assert len({e["position"] for e in everything}) == len(everything)
        assert {e["event_id"] for e in events} <= {e["event_id"] for e in everything}

        # every development alerted, each under one webhook-id
        listed_developments = {d["id"] for d in all_pages(
            http, f"{story}/v1/stories/{SLUG}/developments")}
        assert listed_developments == developments and len(developments) > BURST // 3
        assert receiver.rejected == []
        webhook_ids = defaultdict(set)
        for alert in receiver.alerts:
            webhook_ids[alert["payload"]["data"]["development"]["id"]].add(alert["webhook_id"])
        assert set(webhook_ids) == developments
        assert all(len(seen) == 1 for seen in webhook_ids.values()), {
            d: seen for d, seen in webhook_ids.items() if len(seen) > 1}
        assert {d["development_id"]: {d["id"]} for d in deliveries} == webhook_ids

        # every send the receiver saw is among its delivery's attempts
        sends = Counter(r["headers"]["webhook-id"] for r in receiver.requests)
        for delivery in deliveries:
            attempts = call(http, "GET", f"{notify}/v1/deliveries/{delivery['id']}/attempts"
                            ).json()
            assert len(attempts) >= sends[delivery["id"]], (delivery, attempts)
            assert {a["state"] for a in attempts} <= {"completed", "interrupted"}, attempts
            assert attempts[-1]["state"] == "completed"
            assert attempts[-1]["status_code"] == 204

    for name, proc in running.items():
        assert proc.proc.poll() is None, f"{name} died\n{proc.output()[-3000:]}"
        assert KEY not in proc.output()
