"""`storywire status`'s pure parts: where it asks, how it reads /readyz and a /metrics page, and
how it says what it found."""

import json
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from pydantic import ValidationError

from services import status
from services.status import Answer
from shared import metrics
from shared.settings import Settings

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)


def page(outbox: dict | None = None, queues: dict | None = None) -> str:
    """A /metrics page as prometheus_client writes it, with the metrics status watches among
    others it does not."""
    registry = CollectorRegistry()
    deliveries = Counter("storywire_deliveries", "d", ["channel", "status"], registry=registry)
    deliveries.labels("webhook", "delivered").inc(7)
    deliveries.labels("webhook", "failed").inc(2)
    deliveries.labels("email", "delivered").inc(1)
    lag = Gauge("storywire_feed_lag", "l", ["consumer"], registry=registry)
    lag.labels("notify-dispatcher").set(12)
    lag.labels("story-snapshots").set(0)
    Counter("storywire_articles_forwarded", "f", registry=registry).inc(40)
    Histogram("storywire_analysis_seconds", "a", registry=registry).observe(0.2)
    if outbox is not None:
        registry.register(metrics.ReadAtScrape("outbox", lambda: metrics.outbox_gauges(
            outbox, NOW)))
    if queues is not None:
        registry.register(metrics.ReadAtScrape("queues", lambda: metrics.queue_gauges(queues)))
    return generate_latest(registry).decode()


def test_summarize_reads_the_watched_samples_of_a_page():
    text = page({"pending": 3, "oldest_pending": NOW - timedelta(seconds=90.5), "parked": 1},
                {"storywire-notify": 4, "storywire-ingest": 0})
    assert status.summarize(text) == {
        "outbox_depth": 3, "outbox_oldest_age_seconds": 90.5, "articles_parked": 1,
        "feed_lag": {"notify-dispatcher": 12, "story-snapshots": 0},
        "queue_length": {"storywire-notify": 4, "storywire-ingest": 0},
        "deliveries": {"webhook": {"delivered": 7, "failed": 2}, "email": {"delivered": 1}},
    }


def test_summarize_adds_up_samples_that_differ_only_in_labels_it_drops():
    text = ("# TYPE storywire_celery_queue_length gauge\n"
            'storywire_celery_queue_length{queue="storywire-notify",pid="1"} 2.0\n'
            'storywire_celery_queue_length{queue="storywire-notify",pid="2"} 3.0\n'
            "# TYPE other_total counter\nother_total 5.0\n")
    assert status.summarize(text) == {"queue_length": {"storywire-notify": 5}}


def test_summarize_of_a_page_without_storywire_metrics_is_empty():
    assert status.summarize("# TYPE process_cpu_seconds_total counter\n"
                            "process_cpu_seconds_total 1.5\n") == {}
    assert status.summarize("") == {}


def test_a_page_that_is_not_prometheus_text_is_refused():
    with pytest.raises(ValueError):
        status.summarize("<html><body>Not Found</body></html>")


def test_readiness_reads_ready_and_not_ready_answers():
    ok = Answer(200, json.dumps({"status": "ok", "checks": {"database": "ok"}}))
    assert status.readiness(ok) == {"ready": True, "checks": {"database": "ok"}, "said": None}
    problem = Answer(503, json.dumps({"type": "not-ready", "status": 503, "checks": {
        "database": "ok", "broker": "unavailable: OperationalError"}}))
    assert status.readiness(problem) == {
        "ready": False, "said": None,
        "checks": {"database": "ok", "broker": "unavailable: OperationalError"}}
    assert status.readiness(Answer(404, "Not Found")) == {"ready": False, "checks": {},
                                                          "said": "HTTP 404"}
    assert status.readiness(Answer(200, "[1, 2]"))["checks"] == {}


def test_a_service_that_answers_nothing_is_unreachable():
    refused = Answer(error="connection refused", connected=False)
    found = status.service_report("http://127.0.0.1:8001", refused, refused)
    assert found["reachable"] is False and found["error"] == "connection refused"
    assert status.service_line(found) == (
        "unreachable at http://127.0.0.1:8001 (connection refused)")


def test_a_service_up_but_not_ready_says_which_check_fails():
    ready = Answer(503, json.dumps({"checks": {"database": "ok",
                                               "broker": "unavailable: OperationalError"}}))
    scraped = Answer(200, page(queues={"storywire-notify": 4}))
    found = status.service_report("http://notify:8003", ready, scraped)
    assert found["reachable"] is True and found["ready"] is False
    assert status.service_line(found) == (
        "up, NOT READY (database ok, broker unavailable: OperationalError) at "
        "http://notify:8003; notify-dispatcher lag 12, story-snapshots lag 0, queued "
        "storywire-notify 4, deliveries email delivered 1, webhook delivered 7, webhook "
        "failed 2")


def test_unreadable_metrics_are_said_beside_a_ready_service():
    ready = Answer(200, json.dumps({"status": "ok", "checks": {"database": "ok"}}))
    found = status.service_report("http://ingest:8001", ready, Answer(500, "oops"))
    assert found["ready"] is True and found["metrics"] == {}
    assert status.service_line(found) == (
        "up, ready at http://ingest:8001; metrics unreadable: HTTP 500")
    found = status.service_report("http://ingest:8001", ready, Answer(200, "<html>"))
    assert found["metrics_error"].startswith("not Prometheus text")


def test_a_service_that_takes_the_connection_but_answers_late_is_up():
    late = Answer(error="no answer within 5 s")
    found = status.service_report("http://notify:8003", late, late)
    assert found["reachable"] is True and found["ready"] is None
    assert status.service_line(found) == (
        "up (/readyz: no answer within 5 s) at http://notify:8003; metrics unreadable: no "
        "answer within 5 s")


def test_a_service_whose_readyz_fails_but_metrics_answer_is_up():
    found = status.service_report("http://story:8002", Answer(error="no answer within 2 s"),
                                  Answer(200, page()))
    assert found["reachable"] is True and found["ready"] is None
    assert status.service_line(found).startswith(
        "up (/readyz: no answer within 2 s) at http://story:8002; notify-dispatcher lag 12")


def test_the_worker_has_metrics_only():
    found = status.service_report("http://127.0.0.1:8004", None, Answer(200, page()))
    assert found["ready"] is None and found["error"] is None
    assert status.service_line(found).startswith("up at http://127.0.0.1:8004; ")
    assert status.service_line(status.service_report(None)).startswith("not asked: ")


def test_ingest_line_says_its_outbox():
    text = page({"pending": 5, "oldest_pending": NOW - timedelta(minutes=7), "parked": 2})
    found = status.service_report("http://i:1", Answer(200, "{}"), Answer(200, text))
    assert status.service_line(found).startswith(
        "up, ready at http://i:1; outbox 5 (oldest 7m), parked 2, ")


def test_urls_are_shown_without_credentials():
    assert status.shown_url("http://ops:hunter2@notify:8003") == "http://notify:8003"
    assert status.shown_url("http://notify:8003") == "http://notify:8003"
    found = status.service_report("http://ops:hunter2@notify:8003",
                                  Answer(error="connection refused", connected=False),
                                  Answer(error="connection refused", connected=False))
    assert "hunter2" not in json.dumps(found) + status.service_line(found)


def test_failures_are_said_in_a_few_words():
    assert status.failure(httpx.ConnectError("[Errno 111] Connection refused"), 2) == \
        "connection refused"
    assert status.failure(httpx.ConnectTimeout("timed out"), 1.5) == \
        "no connection within 1.5 s"
    assert status.failure(httpx.ReadTimeout(""), 2) == "no answer within 2 s"
    assert status.failure(httpx.RemoteProtocolError(""), 2) == "RemoteProtocolError"


def test_targets_come_from_the_settings():
    settings = Settings(ingest_url="http://ingest:8001", story_url="http://story:8002",
                        notify_url="http://notify-api:8003", worker_metrics_port=9100)
    assert status.targets(settings) == {
        "ingest": "http://ingest:8001", "story": "http://story:8002",
        "notify": "http://notify-api:8003", "worker": "http://127.0.0.1:9100"}
    assert status.targets(Settings(worker_url="http://w:8004"))["worker"] == "http://w:8004"
    assert status.targets(Settings(worker_metrics_port=0))["worker"] is None
    assert status.targets(Settings()) == {
        "ingest": "http://127.0.0.1:8001", "story": "http://127.0.0.1:8002",
        "notify": "http://127.0.0.1:8003", "worker": "http://127.0.0.1:8004"}


@pytest.mark.parametrize("field, value", [
    ("ingest_url", "ingest:8001"), ("notify_url", "ftp://notify"), ("worker_url", "http://"),
    ("story_url", ""), ("status_timeout", 0)])
def test_settings_refuse_addresses_and_timeouts_status_cannot_use(field, value):
    with pytest.raises(ValidationError):
        Settings(**{field: value})


def test_lines_add_one_line_per_service():
    report = {"outbox": {"pending": 0, "oldest_pending": None, "parked": 0},
              "feed_head": 3, "notify_position": 3, "deliveries": {},
              "services": {"ingest": status.service_report(
                  "http://127.0.0.1:8001", Answer(error="connection refused", connected=False),
                  Answer(error="connection refused", connected=False))}}
    said = status.lines(report, NOW)
    assert len(said) == 5
    assert said[-1] == "ingest         unreachable at http://127.0.0.1:8001 (connection refused)"
    assert status.as_json(report)["services"] == report["services"]
