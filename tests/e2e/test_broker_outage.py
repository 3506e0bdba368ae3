"""Notify outlives its broker, with real processes on PostgreSQL: `storywire serve` (ingest,
story, notify with its dispatcher), `storywire worker` and `storywire beat` on a private
redis-server without persistence. The redis-server is killed (-9) while deliveries are held in
flight by a slow receiver, articles arrive during the outage, and redis comes back empty on
the same port: every alert arrives, once per delivery, and the worker is still running."""

import os
import signal
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from conftest import serve_stack, stack_env, wait_until

from shared.db import get_engine
from shared.migrate import upgrade

pytestmark = pytest.mark.e2e

KEY = "broker-outage-operator-key"
AUTH = {"authorization": f"Bearer {KEY}"}
# (person, story keywords, headline, body): six stories, one ruling each.
CASES = [
    ("Mara Lindqvist", ["solitary confinement", "jail", "detention"],
     "Judge keeps Lindqvist in solitary confinement",
     "A federal judge on Tuesday denied a request by Mara Lindqvist to be moved out of solitary "
     "confinement.\n\nLindqvist remains at the Metropolitan Correctional Center in Manhattan, "
     "where she has been held since January."),
    ("Tobias Okafor", ["bail", "wire fraud", "release"],
     "Okafor loses bid for bail in wire fraud case",
     "Tobias Okafor lost his bid for release on bail on Wednesday when a magistrate judge in "
     "Brooklyn rejected his lawyers' motion.\n\nProsecutors had argued that Okafor, a shipping "
     "executive charged with wire fraud, could flee to Lagos."),
    ("Ines Castellanos", ["medical care", "county jail", "appeal"],
     "Appeals court revives Castellanos jail care suit",
     "An appeals court on Thursday granted Ines Castellanos a new trial on her claim that guards "
     "at the county jail ignored her medical complaints.\n\nThe three-judge panel sent the case "
     "back to the trial court in Sacramento."),
    ("Ruben Haldane", ["defamation", "lawsuit", "newspaper"],
     "Judge dismisses Haldane defamation lawsuit",
     "A state judge on Friday dismissed the defamation lawsuit Ruben Haldane filed against the "
     "Tribune, ruling that the columns were protected opinion.\n\nHaldane, a former city "
     "councilman, said he would appeal."),
    ("Petra Vukovic", ["arson", "charges", "warehouse"],
     "Judge refuses to drop arson charges against Vukovic",
     "A federal judge on Monday denied Petra Vukovic's motion to dismiss the arson charges "
     "against her, ruling that prosecutors had shown enough evidence.\n\nVukovic is accused of "
     "setting fire to a warehouse in Newark in 2015."),
    ("Elias Marchetti", ["bribery", "recordings", "suppress"],
     "Judge refuses to suppress Marchetti wiretaps",
     "The judge overseeing Elias Marchetti's bribery case refused on Tuesday to suppress "
     "recordings the FBI made of his phone calls.\n\nMarchetti, a former port commissioner, "
     "goes on trial in March."),
]
HOLD_SECONDS = 3.0


class SlowReceiver:
    """A loopback webhook endpoint that holds every request before answering 204."""

    def __init__(self):
        self.received: list[dict] = []  # {"webhook_id", "at"} when a request came in
        self.answered: list[str] = []   # webhook ids answered
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("content-length", 0)))
                webhook_id = self.headers["webhook-id"]
                with lock:
                    receiver.received.append({"webhook_id": webhook_id, "at": time.time()})
                time.sleep(HOLD_SECONDS)
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()
                with lock:
                    receiver.answered.append(webhook_id)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def story(n: int) -> dict:
    name, keywords = CASES[n][:2]
    return {"title": f"{name} {keywords[0]} case",
            "description": f"The court case of {name}: {', '.join(keywords)}.",
            "entities": [name], "keywords": keywords}


def article(n: int) -> dict:
    name, _, title, body = CASES[n]
    return {"outlet": "Court Wire", "url": f"https://wire.example/{name.split()[-1].lower()}",
            "title": title, "published_at": f"2017-05-{4 + n:02d}T15:00:00Z", "body": body}


def celery_workers(supervisor_pid: int) -> list[int]:
    found = subprocess.run(["ps", "-o", "pid=", "--ppid", str(supervisor_pid)],
                           capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in found]


def test_alerts_resume_after_the_broker_restarts_empty(pg_url, private_redis, processes,
                                                        tmp_path):
    private_redis.start()
    env, ports = stack_env(pg_url, private_redis.url, KEY, STORYWIRE_DATA_DIR=str(tmp_path),
                           STORYWIRE_DISPATCH_INTERVAL="0.5", STORYWIRE_LOG_LEVEL="INFO")
    servers = serve_stack(processes, env, ports)
    worker = processes("worker", ["-m", "services.cli", "worker", "--concurrency", "2",
                                  "--queues", "storywire-notify"], env)
    beat = processes("beat", ["-m", "services.cli", "beat"], env)
    wait_until(lambda: "ready" in worker.output(), 30, what=f"the worker\n{worker.output()}")

    receiver = SlowReceiver()
    ingest, notify, story_url = (f"http://127.0.0.1:{ports[n]}"
                                 for n in ("ingest", "notify", "story"))
    try:
        with httpx.Client(headers=AUTH, timeout=30) as http:
            for n in range(len(CASES)):
                created = http.post(f"{story_url}/v1/stories", json=story(n))
                assert created.status_code == 201, created.text
            subscription = http.post(f"{notify}/v1/subscriptions", json={
                "name": "desk", "url": receiver.url, "types": ["ruling"]})
            assert subscription.status_code == 201, subscription.text
            deliveries_url = f"{notify}/v1/subscriptions/{subscription.json()['id']}/deliveries"

            def post(n: int) -> None:
                response = http.post(f"{ingest}/v1/articles", json=article(n))
                assert response.status_code == 202, response.text

            def deliveries() -> list[dict]:
                return http.get(deliveries_url).json()

            for n in range(3):  # before the outage: two held in flight, one queued
                post(n)
            wait_until(lambda: len(deliveries()) == 3 and len(receiver.received) >= 2, 60,
                       what=f"two sends in flight\n{servers['notify'].output()[-3000:]}")
            private_redis.kill()  # kill -9: the queue and the unacknowledged tasks are gone

            for n in range(3, 5):  # during the outage
                post(n)
            wait_until(lambda: len(deliveries()) == 5, 60,
                       what=f"deliveries of the outage\n{servers['notify'].output()[-3000:]}")
            wait_until(lambda: len(receiver.answered) >= 2, 30, what="the held sends to end")
            time.sleep(3)  # the outage goes on a little while
            private_redis.start()  # the same port, empty

            post(5)  # after the outage
            wait_until(lambda: len(deliveries()) == 6, 60, what="the last delivery")
            wait_until(lambda: all(d["status"] == "delivered" for d in deliveries()), 120,
                       interval=0.5,
                       what=f"every delivery to arrive\n{worker.output()[-6000:]}\n"
                            f"{servers['notify'].output()[-3000:]}")
            ids = {d["id"] for d in deliveries()}
            assert set(receiver.answered) == ids  # every alert arrived
    finally:
        receiver.close()
    assert worker.proc.poll() is None, worker.output()[-3000:]
    assert celery_workers(worker.proc.pid), "no Celery worker under `storywire worker`"
    assert beat.proc.poll() is None, beat.output()[-3000:]


def test_the_worker_command_restarts_a_worker_that_died(pg_url, private_redis, processes,
                                                        tmp_path):
    """`storywire worker` runs Celery as a child and starts it again when it exits on an
    error (here: killed); SIGTERM to the command ends both."""
    private_redis.start()
    upgrade("notify", get_engine(pg_url))
    env = {"STORYWIRE_NOTIFY_DATABASE_URL": pg_url, "STORYWIRE_BROKER_URL": private_redis.url,
           "STORYWIRE_DATA_DIR": str(tmp_path)}
    worker = processes("worker", ["-m", "services.cli", "worker", "--concurrency", "1",
                                  "--queues", "storywire-notify"], env)
    wait_until(lambda: worker.output().count("ready") == 1, 30,
               what=f"the worker\n{worker.output()}")
    (first,) = celery_workers(worker.proc.pid)
    os.kill(first, signal.SIGKILL)
    wait_until(lambda: worker.output().count("ready") == 2, 30,
               what=f"the worker to start again\n{worker.output()}")
    (second,) = celery_workers(worker.proc.pid)
    assert second != first and worker.proc.poll() is None

    os.kill(worker.proc.pid, signal.SIGTERM)
    assert worker.proc.wait(30) == 0
    wait_until(lambda: not celery_workers(worker.proc.pid), 10, what="the child to exit")
