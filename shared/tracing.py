"""OpenTelemetry tracing, off unless an OTLP endpoint is configured (`STORYWIRE_OTLP_ENDPOINT`,
or OpenTelemetry's own `OTEL_EXPORTER_OTLP_ENDPOINT`).

One article is one trace. Its context (a W3C `traceparent`) is taken when ingest accepts it
and kept with the article; the relay forwards it with the article, the story service's
analysis and append continue it and keep it in the metadata of the article's events, notify's
dispatcher continues it for each development and keeps it with the delivery row, and the
delivery task continues it when it sends. Between those steps the instrumentations of FastAPI
(each request), httpx (the calls between services), SQLAlchemy (each statement) and Celery
(each task) add their spans.

Polling loops (the relay's look at the outbox, the dispatcher's read of the feed) make
queries and calls with no request behind them; a query, a call or a task sent that starts a
trace of its own is not recorded (`QUIET_ROOTS`), so traces stay those of articles and
requests.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator

from opentelemetry import trace
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_ON,
    Decision,
    ParentBased,
    Sampler,
    SamplingResult,
)
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from shared.settings import Settings

log = logging.getLogger("storywire.tracing")
TRACEPARENT = r"^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$"
QUIET_ROOTS = frozenset({SpanKind.CLIENT, SpanKind.PRODUCER})
# requests left untraced: health and metrics, and signed links (unsubscribe, a subscriber's
# feed), whose paths carry their token
UNTRACED_URLS = "/healthz,/readyz,/metrics,/v1/unsubscribe/,/v1/feeds/"

_propagator = TraceContextTextMapPropagator()
_provider = None  # the TracerProvider of this process, once tracing is on
_tracer: trace.Tracer | None = None


def endpoint(settings: Settings) -> str | None:
    """Where spans go: the storywire setting, else OpenTelemetry's variable; None: nowhere."""
    return settings.otlp_endpoint or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or None


def enabled() -> bool:
    return _tracer is not None


def new_provider(service: str):
    """A TracerProvider for one service that leaves lone queries, calls and sends out."""
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    return TracerProvider(resource=Resource.create({"service.name": service}),
                          sampler=ParentBased(root=_QuietRoots()))


def configure(settings: Settings, service: str) -> bool:
    """Trace this process as `service` (exporting over OTLP/HTTP in batches) when an endpoint
    is configured; whether it is on."""
    if enabled():
        return True
    url = endpoint(settings)
    if not url:
        return False
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    exporter = OTLPSpanExporter(endpoint=f"{url.rstrip('/')}/v1/traces") \
        if settings.otlp_endpoint else OTLPSpanExporter()
    provider = new_provider(service)
    provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    enable(provider)
    log.info("tracing to %s as %s", url, service)
    return True


def enable(provider) -> None:
    """Trace with `provider`: Celery's tasks, and from now on the apps, clients and engines
    that `instrument_app`, `instrument_client` and `instrument_engine` are given."""
    global _provider, _tracer
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    _provider = provider
    _tracer = provider.get_tracer("storywire")
    CeleryInstrumentor().instrument(tracer_provider=provider)


def disable() -> None:
    """Stop tracing what comes next (apps, clients and engines instrumented already keep
    their spans)."""
    global _provider, _tracer
    from opentelemetry.instrumentation.celery import CeleryInstrumentor

    if enabled():
        CeleryInstrumentor().uninstrument()
    _provider = _tracer = None


def instrument_app(app) -> None:
    """A span for each request the app serves (`UNTRACED_URLS` left out)."""
    if enabled():
        from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

        FastAPIInstrumentor.instrument_app(app, tracer_provider=_provider,
                                           excluded_urls=UNTRACED_URLS)


def instrument_client(client) -> None:
    """A span for each request of this httpx client, its context sent in `traceparent`."""
    if enabled():
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

        HTTPXClientInstrumentor.instrument_client(client, tracer_provider=_provider)


def instrument_engine(engine) -> None:
    """A span for each statement on this SQLAlchemy engine."""
    if enabled():
        from opentelemetry.instrumentation.sqlalchemy import EngineTracer
        from opentelemetry.metrics import get_meter

        usage = get_meter("storywire").create_up_down_counter("db.client.connections.usage")
        EngineTracer(_provider.get_tracer("opentelemetry.instrumentation.sqlalchemy"),
                     engine, usage)


def traceparent() -> str | None:
    """The current trace context as a W3C `traceparent`; None when there is none."""
    if not enabled():
        return None
    carrier: dict[str, str] = {}
    _propagator.inject(carrier)
    return carrier.get("traceparent")


def _context(parent: str | None):
    return _propagator.extract({"traceparent": parent}) if parent else None


@contextlib.contextmanager
def span(name: str, parent: str | None = None, links: tuple[str | None, ...] = (),
         **attributes) -> Iterator[None]:
    """A span continuing the trace of `parent` (a `traceparent`; None: the current one),
    linked to the traces of `links`; nothing when tracing is off."""
    if not enabled():
        yield
        return
    linked = [Link(c) for c in (trace.get_current_span(_context(p)).get_span_context()
                                for p in links if p) if c.is_valid]
    with _tracer.start_as_current_span(name, context=_context(parent), links=linked,
                                       attributes=attributes):
        yield


class _QuietRoots(Sampler):
    """Root sampler: record a trace unless its first span is a query, a call or a send
    (`QUIET_ROOTS`): those are the polling loops'."""

    def should_sample(self, parent_context, trace_id, name, kind=None, attributes=None,
                      links=None, trace_state=None):
        if kind in QUIET_ROOTS:
            return SamplingResult(Decision.DROP)
        return ALWAYS_ON.should_sample(parent_context, trace_id, name, kind, attributes,
                                       links, trace_state)

    def get_description(self) -> str:
        return "QuietRoots"
