"""Loss-free forwarding with real processes on PostgreSQL: the story service is killed during a
burst of 500 articles and started again; every article ends attached exactly once."""

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import httpx
import pytest
from conftest import free_port, ready, wait_until

pytestmark = pytest.mark.e2e

KEY = "outage-test-operator-key"
SLUG = "guzman-detention-conditions"
AUTH = {"authorization": f"Bearer {KEY}"}


def article(n: int) -> dict:
    return {
        "outlet": f"Court Wire {n % 7}",
        "url": f"https://wire.example/2017/05/guzman-{n}",
        "title": f"Guzman stays in solitary, judge rules (update {n})",
        "published_at": f"2017-05-{4 + n % 20:02d}T{n % 24:02d}:00:00Z",
        "body": (f"A federal judge refused to release Joaquin Guzman from solitary confinement, "
                 f"court filing {n} shows.\n\nU.S. District Judge Brian Cogan rejected the "
                 f"request to let Amnesty International observers visit him, docket entry {n} "
                 f"says."),
    }


def attached_ids(http: httpx.Client, story: str) -> Counter:
    seen, after = Counter(), 1
    while True:
        page = http.get(f"{story}/v1/stories/{SLUG}/events",
                        params={"from_version": after, "limit": 1000}).json()["events"]
        seen.update(e["data"]["article"]["id"] for e in page if e["type"] == "ArticleAttached")
        if len(page) < 1000:
            return seen
        after = page[-1]["version"] + 1


def writer_processes(story_pid: int) -> list[int]:
    found = subprocess.run(["ps", "-o", "pid=", "--ppid", str(story_pid)], capture_output=True,
                           text=True).stdout.split()
    return [int(pid) for pid in found]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not stat.exists() or stat.read_text().split(") ")[-1][0] != "Z"


@pytest.mark.parametrize("writers", [1, 2])
def test_story_outage_during_a_burst_loses_and_doubles_nothing(pg_url, processes, writers):
    """With STORY_WRITERS=2 the killed service's writer processes exit with it."""
    ports = {"ingest": free_port(), "story": free_port()}
    env = {"STORYWIRE_DATABASE_URL": pg_url, "STORYWIRE_API_KEY": KEY,
           "STORYWIRE_STORY_WRITERS": str(writers),
           "STORYWIRE_STORY_URL": f"http://127.0.0.1:{ports['story']}",
           "STORYWIRE_RELAY_INTERVAL": "0.2", "STORYWIRE_LOG_LEVEL": "WARNING"}
    migrated = subprocess.run([sys.executable, "-m", "services.cli", "migrate", "ingest", "story"],
                              env={**os.environ, **env}, capture_output=True, text=True,
                              timeout=120)
    assert migrated.returncode == 0, migrated.stderr

    def serve(name):
        proc = processes(name, ["-m", "services.cli", "serve", name, "--port",
                                str(ports[name])], env)
        wait_until(lambda: ready(ports[name]), 30, what=f"{name}\n{proc.output()}")
        return proc

    story_proc, ingest_proc = serve("story"), serve("ingest")
    ingest, story = (f"http://127.0.0.1:{ports[n]}" for n in ("ingest", "story"))
    articles = [article(n) for n in range(500)]
    ids = []
    with httpx.Client(headers=AUTH, timeout=30) as http:
        for start in range(0, 150, 50):
            response = http.post(f"{ingest}/v1/articles:batch",
                                 json={"articles": articles[start:start + 50]})
            assert response.status_code == 207, response.text
            ids += [r["article"]["id"] for r in response.json()["results"]]
        wait_until(lambda: sum(attached_ids(http, story).values()) >= 10, 60,
                   what="the first articles to be attached")
        children = writer_processes(story_proc.proc.pid)
        assert bool(children) == (writers > 1)  # a writer process (and its resource tracker)
        os.kill(story_proc.proc.pid, signal.SIGKILL)  # the service alone, mid-burst
        for n in range(150, 500):
            response = http.post(f"{ingest}/v1/articles", json=articles[n])
            assert response.status_code == 202, response.text
            ids.append(response.json()["id"])
        assert len(set(ids)) == 500
        pending = [http.get(f"{ingest}/v1/articles/{i}").json() for i in ids[-5:]]
        assert all(s["status"] == "accepted" for s in pending)
        wait_until(lambda: "failed (" in ingest_proc.output(), 30,
                   what="the relay to meet the outage")

        wait_until(lambda: not any(alive(pid) for pid in children), 15,
                   what="the killed service's writer processes to exit")
        story_proc = serve("story")
        wait_until(lambda: sum(attached_ids(http, story).values()) >= 500, 240, interval=1,
                   what=f"all 500 attached\n{ingest_proc.output()[-3000:]}")
        attached = attached_ids(http, story)
        assert set(attached) == set(ids)
        assert all(times == 1 for times in attached.values())
        statuses = [http.get(f"{ingest}/v1/articles/{i}").json() for i in ids[::25]]
        assert all(s["status"] == "attached" and s["stories"] == [SLUG] for s in statuses)
    assert KEY not in ingest_proc.output() and KEY not in story_proc.output()
