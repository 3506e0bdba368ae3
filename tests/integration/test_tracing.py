"""Tracing: one article is one trace, from ingest's request through the relay's forward, the
story service's analysis and append, notify's dispatch, to the delivery task's send. The
embedded apps in one process with an in-process Celery worker, spans kept in memory."""

import asyncio
import time

import pytest
from conftest import RULING_ARTICLE
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from services.demo.receiver import WebhookReceiver
from services.embedded import run_embedded
from shared import tracing
from shared.settings import Settings


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = tracing.new_provider("storywire-test")
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracing.enable(provider)
    yield exporter
    tracing.disable()
    provider.shutdown()


async def send_and_wait(settings: Settings, receiver: WebhookReceiver) -> str:
    async with run_embedded(settings) as apps:
        async with apps.client("notify") as notify, apps.client("ingest") as ingest:
            created = await notify.post("/v1/subscriptions", json={
                "name": "trace desk", "url": receiver.url, "types": ["ruling"]})
            assert created.status_code == 201, created.text
            receiver.secret = created.json()["secret"]
            accepted = await ingest.post("/v1/articles", json=RULING_ARTICLE)
            assert accepted.status_code == 202, accepted.text
            deadline = time.monotonic() + 60
            while len(receiver.alerts) < 2:  # the article's two rulings
                assert time.monotonic() < deadline, "no alerts within a minute"
                await asyncio.sleep(0.1)
            await asyncio.sleep(0.5)  # the task settles after the receiver answered
            await notify.get(f"/v1/unsubscribe/{SIGNED_LINK_TOKEN}")  # a signed link
            return accepted.json()["id"]


SIGNED_LINK_TOKEN = "sub_0123456789.not-a-valid-signature"


def test_one_article_is_one_trace_from_ingest_to_the_delivery_task(tmp_path, spans):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'storywire.db'}",
                        data_dir=tmp_path, relay_interval=0.1, dispatch_interval=0.1,
                        allow_private_urls=True)
    with WebhookReceiver() as receiver:
        asyncio.run(send_and_wait(settings, receiver))
    assert receiver.rejected == []
    finished = spans.get_finished_spans()
    [accepted] = [s for s in finished if s.kind == SpanKind.SERVER
                  and s.name == "POST /v1/articles"]
    trace_id = accepted.context.trace_id
    in_trace = [s for s in finished if s.context.trace_id == trace_id]
    names = {s.name for s in in_trace}
    # ingest's request, the relay's forward and its call, the story service's request,
    # the analysis and append, notify's dispatch of each ruling, the delivery task's sends
    assert {"relay.forward", "POST /v1/articles:batch", "story.attach", "story.analyze",
            "notify.dispatch", "notify.deliver"} <= names, names
    assert sum(1 for s in in_trace if s.name == "notify.deliver") == 2
    assert sum(1 for s in in_trace if s.name == "notify.dispatch") == 2
    kinds = {(s.name, s.kind) for s in in_trace}
    assert ("POST", SpanKind.CLIENT) in kinds  # the relay's call, which story continued
    assert any(s.attributes.get("db.system") or s.attributes.get("db.system.name")
               for s in in_trace)  # its statements
    # every span of the trace hangs from the request that accepted the article
    by_id = {s.context.span_id: s for s in in_trace}
    for span in in_trace:
        root = span
        while root.parent is not None and root.parent.span_id in by_id:
            root = by_id[root.parent.span_id]
        assert root is accepted, (span.name, root.name)
    # a signed link's token is in no span
    assert not [s for s in finished if SIGNED_LINK_TOKEN in str(dict(s.attributes))]
    # the polling loops' lone queries and feed reads start no trace of their own
    assert not [s for s in finished if s.parent is None and s.kind == SpanKind.CLIENT]


def test_tracing_is_off_unless_an_endpoint_is_configured(monkeypatch):
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    assert tracing.endpoint(Settings()) is None
    assert tracing.configure(Settings(), "storywire-test") is False
    assert not tracing.enabled() and tracing.traceparent() is None
    assert tracing.endpoint(Settings(otlp_endpoint="http://127.0.0.1:4318")) == \
        "http://127.0.0.1:4318"
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318")
    assert tracing.endpoint(Settings()) == "http://collector:4318"
