"""Prometheus metrics: every metric storywire exports is defined here, and incremented where its
work happens (the relay, the story service's writers, the dispatcher, the delivery task).

Labels stay low in cardinality: route templates (never raw paths), methods, statuses, event
types, channels, consumers and queues; never an article, story, subscription or delivery id.

Processes that fork or spawn (the story service's writers, the Celery worker's pool) count in
multiprocess mode: `PROMETHEUS_MULTIPROC_DIR` names a directory where each process keeps its
values, and a scrape adds them up. `storywire serve` and `storywire worker` set it before
anything imports prometheus_client (`services/cli.py`); without it (tests, the embedded app
in one process) the values live in the process. Gauges that a scrape reads from the
databases or the broker (the outbox, Celery queues) are collectors, made per service.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from fastapi import APIRouter, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector

log = logging.getLogger("storywire.metrics")

# seconds: sub-millisecond requests to slow analyses
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
# article accepted -> alert delivered: seconds when all is well, hours across retries
ALERT_BUCKETS = (0.5, 1, 2, 5, 10, 30, 60, 120, 300, 900, 1800, 3600, 7200, 21600, 86400)

HTTP_REQUESTS = Counter(
    "storywire_http_requests_total", "HTTP requests answered, by route template and status",
    ["route", "method", "status"])
HTTP_SECONDS = Histogram(
    "storywire_http_request_duration_seconds",
    "Time to answer an HTTP request (a stream: until it ends), by route template",
    ["route", "method"], buckets=LATENCY_BUCKETS)

ARTICLES_FORWARDED = Counter(
    "storywire_articles_forwarded_total",
    "Articles the relay forwarded to the story service and the story service took")
ARTICLES_PARKED = Counter(
    "storywire_articles_parked_total",
    "Articles parked as failed after the story service refused them RELAY_MAX_TRIES times")
ARTICLES_ATTACHED = Counter(
    "storywire_articles_attached_total", "Forwarded articles the story service attached to at "
    "least one story (a forward repeated after a crash counts again)")
ARTICLES_UNROUTED = Counter(
    "storywire_articles_unrouted_total", "Forwarded articles the story service found on no "
    "story (a forward repeated after a crash counts again)")
ANALYSIS_SECONDS = Histogram(
    "storywire_analysis_seconds", "Time to analyze one article against one story",
    buckets=LATENCY_BUCKETS)
EVENTS_APPENDED = Counter(
    "storywire_events_appended_total", "Events appended to the event store, by type", ["type"])
FEED_LAG = Gauge(
    "storywire_feed_lag", "Events of the global feed a consumer has still to read (the feed's "
    "head position minus the consumer's checkpoint)", ["consumer"],
    multiprocess_mode="mostrecent")
STORY_SHARDS_HELD = Gauge(
    "storywire_story_shards_held", "Story shards this story-service instance holds a lease on "
    "and writes the stories of (STORY_SHARDS above one)", multiprocess_mode="mostrecent")
STORY_SHARDS_TAKEN = Counter(
    "storywire_story_shards_taken_total", "Leases on story shards this instance took: at "
    "start, from an instance that left or died, or for a batch that needed one nobody held")

DELIVERIES = Counter(
    "storywire_deliveries_total", "Deliveries settled: delivered, or failed after their last "
    "attempt, by channel", ["channel", "status"])
DELIVERY_RETRIES = Counter(
    "storywire_delivery_retries_total", "Attempts that failed and will be tried again",
    ["channel"])
ALERT_LATENCY = Histogram(
    "storywire_alert_latency_seconds",
    "From an article's acceptance by ingest to the successful delivery of an alert it caused",
    ["channel"], buckets=ALERT_BUCKETS)
ENDPOINTS_DISABLED = Counter(
    "storywire_endpoints_disabled_total", "Subscriptions disabled: their endpoint answered 410 "
    "or kept failing for DISABLE_AFTER_HOURS", ["channel"])
DIGESTS_CLOSED = Counter(
    "storywire_digest_windows_closed_total", "Digest windows closed into a digest delivery")


def seconds_since(moment: datetime, now: datetime | None = None) -> float:
    """Seconds from `moment` to `now` (naive times are UTC), never negative."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, ((now or datetime.now(UTC)) - moment).total_seconds())


# -- multiprocess mode -----------------------------------------------------------------------

def multiprocess() -> bool:
    return bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))


class _ThisProcess:
    """The default registry's metrics (those above, and the process's own), for a scrape
    outside multiprocess mode."""

    def collect(self):
        return REGISTRY.collect()


def registry(collectors: Iterable = ()) -> CollectorRegistry:
    """What a scrape reads: the metrics above (added up over every process in multiprocess
    mode) and the service's own collectors."""
    found = CollectorRegistry()
    if multiprocess():
        MultiProcessCollector(found)
    else:
        found.register(_ThisProcess())
    for collector in collectors:
        found.register(collector)
    return found


def exposition(collectors: Iterable = ()) -> bytes:
    return generate_latest(registry(collectors))


EXAMPLE = """# HELP storywire_articles_forwarded_total Articles the relay forwarded
# TYPE storywire_articles_forwarded_total counter
storywire_articles_forwarded_total 42.0
"""


def metrics_router(collectors: Iterable = ()) -> APIRouter:
    """`GET /metrics` in Prometheus's text format. Open like /healthz: it holds counts and
    latencies, no ids and no secrets."""
    router = APIRouter(tags=["health"])
    collectors = list(collectors)

    @router.get("/metrics", response_class=Response, responses={200: {
        "description": "Prometheus text exposition", "content": {CONTENT_TYPE_LATEST: {
            "example": EXAMPLE}}}})
    def read_metrics() -> Response:
        return Response(exposition(collectors), media_type=CONTENT_TYPE_LATEST)

    return router


def serve_exporter(port: int, host: str = "0.0.0.0"):
    """An HTTP server in a thread answering every path with the metrics of this process tree
    (the Celery worker's: its pool's processes count into the multiprocess directory)."""
    from prometheus_client import start_http_server

    return start_http_server(port, addr=host, registry=registry())


# -- gauges read at scrape time ----------------------------------------------------------------

class ReadAtScrape:
    """A collector whose gauges a function reads when Prometheus scrapes: `read()` returns
    {(name, help, labels): [(label values, value), ...]}. If it fails (a database restarting),
    the scrape carries the other metrics and the failure is logged."""

    def __init__(self, what: str, read: Callable[[], dict]):
        self.what = what
        self.read = read

    def collect(self):
        try:
            found = self.read()
        except Exception as exc:  # noqa: BLE001 - a scrape must not fail for one source
            log.warning("metrics: could not read %s (%s)", self.what, type(exc).__name__)
            return
        for (name, help_text, labels), samples in found.items():
            family = GaugeMetricFamily(name, help_text, labels=list(labels))
            for values, value in samples:
                family.add_metric(list(values), value)
            yield family


def outbox_gauges(summary: dict, now: datetime | None = None) -> dict:
    """The outbox's gauges from `ingest.store.outbox_summary`."""
    oldest = summary["oldest_pending"]
    return {
        ("storywire_outbox_depth", "Accepted articles the relay has still to forward", ()):
            [((), summary["pending"])],
        ("storywire_outbox_oldest_age_seconds",
         "Age of the oldest article waiting in the outbox (0 when it is empty)", ()):
            [((), seconds_since(oldest, now) if oldest else 0.0)],
        ("storywire_articles_parked", "Articles parked as failed, waiting for a redrive", ()):
            [((), summary["parked"])],
    }


def queue_gauges(lengths: dict[str, int]) -> dict:
    """Celery queue lengths, by queue."""
    return {("storywire_celery_queue_length", "Tasks waiting in a Celery queue", ("queue",)):
            [((queue,), n) for queue, n in sorted(lengths.items())]}

