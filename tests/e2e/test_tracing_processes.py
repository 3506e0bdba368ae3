"""Tracing across real processes: ingest, story (two writer processes), notify and a Celery
worker export their spans over OTLP/HTTP to a loopback collector; one article's spans, from
every one of those processes, share one trace id."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from conftest import RULING_ARTICLE, serve_stack, stack_env, wait_until
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from services.demo.receiver import WebhookReceiver

pytestmark = pytest.mark.e2e

KEY = "tracing-api-key-not-a-secret-anywhere"


class Collector:
    """An OTLP/HTTP trace receiver on loopback: (service, trace id, span name) of each span,
    and the requests as they came."""

    def __init__(self):
        self.spans: list[tuple[str, str, str]] = []
        self.bodies: list[bytes] = []
        self.lock = threading.Lock()
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                request = ExportTraceServiceRequest()
                request.ParseFromString(body)
                with collector.lock:
                    collector.bodies.append(body)
                    for resource_spans in request.resource_spans:
                        service = next(a.value.string_value for a in
                                       resource_spans.resource.attributes
                                       if a.key == "service.name")
                        collector.spans += [(service, span.trace_id.hex(), span.name)
                                            for scope in resource_spans.scope_spans
                                            for span in scope.spans]
                self.send_response(200)
                self.send_header("content-type", "application/x-protobuf")
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def trace(self, trace_id: str) -> set[tuple[str, str]]:
        with self.lock:
            return {(service, name) for service, t, name in self.spans if t == trace_id}

    def trace_of(self, service: str, name: str) -> str | None:
        with self.lock:
            return next((t for s, t, n in self.spans if s == service and n == name), None)


def test_one_article_is_one_trace_across_the_processes(pg_url, redis_url, processes):
    collector = Collector()
    env, ports = stack_env(pg_url, redis_url, KEY, STORYWIRE_STORY_WRITERS="2",
                           STORYWIRE_OTLP_ENDPOINT=collector.url,
                           STORYWIRE_WORKER_METRICS_PORT="0", OTEL_BSP_SCHEDULE_DELAY="200")
    serve_stack(processes, env, ports)
    worker = processes("worker", ["-m", "services.cli", "worker", "--concurrency", "1"], env)
    wait_until(lambda: "ready" in worker.output(), 30, what=f"worker\n{worker.output()}")

    with WebhookReceiver() as receiver, httpx.Client(
            timeout=20, headers={"authorization": f"Bearer {KEY}"}) as http:
        created = http.post(f"http://127.0.0.1:{ports['notify']}/v1/subscriptions", json={
            "name": "trace desk", "url": receiver.url, "types": ["ruling"]})
        assert created.status_code == 201, created.text
        receiver.secret = created.json()["secret"]
        accepted = http.post(f"http://127.0.0.1:{ports['ingest']}/v1/articles",
                             json=RULING_ARTICLE)
        assert accepted.status_code == 202, accepted.text
        wait_until(lambda: len(receiver.alerts) >= 2, 60,
                   what=f"webhooks\n{worker.output()[-3000:]}")

    trace_id = wait_until(lambda: collector.trace_of("storywire-ingest", "POST /v1/articles"),
                          20, what="ingest's request span")
    expected = {("storywire-ingest", "POST /v1/articles"), ("storywire-ingest", "relay.forward"),
                ("storywire-story", "POST /v1/articles:batch"),
                ("storywire-story", "story.attach"), ("storywire-story", "story.analyze"),
                ("storywire-notify", "notify.dispatch"), ("storywire-worker", "notify.deliver")}
    found = wait_until(lambda: expected <= collector.trace(trace_id) and collector.trace(trace_id),
                       20, what=f"the article's spans in one trace: {collector.trace(trace_id)}")
    assert {service for service, _ in found} == {"storywire-ingest", "storywire-story",
                                                 "storywire-notify", "storywire-worker"}
    assert not [b for b in collector.bodies if KEY.encode() in b]  # nor in any attribute
