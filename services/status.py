"""`storywire status`: what an operator watches, read from the services' databases and asked
of the running services.

`gather` reads the databases and `ask_services` asks each service's `/readyz` and `/metrics`
(I/O, with a short timeout; a service that does not answer is said to be unreachable). The
rest is pure: `targets` says where each service answers, `readiness` and `summarize` read
what it answered, `lines` and `as_json` say it all. From the databases: the outbox's depth and
the age of its oldest article, parked articles, the global feed's head and the notifier's lag
behind it, and deliveries by status. From the services: whether each is up and ready (and what
its checks say), and the few metrics that matter: ingest's outbox, each feed consumer's lag,
notify's Celery queues and the worker's deliveries by channel and status.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

from shared.settings import Settings

# where each service says whether it is ready (the worker's exporter serves metrics only)
READY_PATHS = {"ingest": "/readyz", "story": "/readyz", "notify": "/readyz", "worker": None}

# the storywire_* samples status shows: the key each is shown under, and the labels it keeps
# (a sample's value is added to the others of the same kept labels)
WATCHED = {
    "storywire_outbox_depth": ("outbox_depth", ()),
    "storywire_outbox_oldest_age_seconds": ("outbox_oldest_age_seconds", ()),
    "storywire_articles_parked": ("articles_parked", ()),
    "storywire_feed_lag": ("feed_lag", ("consumer",)),
    "storywire_celery_queue_length": ("queue_length", ("queue",)),
    "storywire_deliveries_total": ("deliveries", ("channel", "status")),
}


# -- the databases ------------------------------------------------------------------------------

def gather(settings: Settings) -> dict:
    from services.ingest import store as ingest_store
    from services.notify import store as notify_store
    from shared.db import get_engine
    from shared.eventstore import EventStore

    ingest = get_engine(settings.service_database_url("ingest"))
    story = get_engine(settings.service_database_url("story"))
    notify = get_engine(settings.service_database_url("notify"))
    return {
        "outbox": ingest_store.outbox_summary(ingest),
        "feed_head": EventStore(story).head_position(),
        "notify_position": notify_store.feed_position(notify),
        "deliveries": notify_store.count_by_status(notify),
    }


# -- the running services -----------------------------------------------------------------------

def targets(settings: Settings) -> dict[str, str | None]:
    """The base URL of each service (None: the worker serves no metrics to ask)."""
    worker = settings.worker_url or (f"http://127.0.0.1:{settings.worker_metrics_port}"
                                     if settings.worker_metrics_port else None)
    return {"ingest": settings.ingest_url, "story": settings.story_urls()[0],
            "notify": settings.notify_url, "worker": worker}


@dataclass(frozen=True)
class Answer:
    """What one GET brought: a status and body, or why there was none, and whether the
    service took the connection (then it is up, if slow or broken)."""

    status: int | None = None
    body: str = ""
    error: str | None = None
    connected: bool = True


def ask_services(urls: dict[str, str | None], timeout: float) -> dict[str, dict]:
    """Ask every service at once; what each said, as `service_report` reads it."""
    asked = {name: url for name, url in urls.items() if url}
    with ThreadPoolExecutor(max_workers=max(1, 2 * len(asked))) as pool:
        pending = {name: (pool.submit(_get, url, READY_PATHS[name], timeout)
                          if READY_PATHS[name] else None,
                          pool.submit(_get, url, "/metrics", timeout))
                   for name, url in asked.items()}
        answers = {name: (ready.result() if ready else None, scraped.result())
                   for name, (ready, scraped) in pending.items()}
    return {name: (service_report(url, *answers[name]) if url else service_report(None))
            for name, url in urls.items()}


def _get(base_url: str, path: str, timeout: float) -> Answer:
    import httpx

    try:
        with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False) as http:
            response = http.get(base_url.rstrip("/") + path)
    except httpx.HTTPError as exc:
        refused = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout
                             | httpx.UnsupportedProtocol)
        return Answer(error=failure(exc, timeout), connected=not refused)
    return Answer(response.status_code, response.text)


def failure(exc: BaseException, timeout: float) -> str:
    """Why a request got no answer, in a few words."""
    import httpx

    if isinstance(exc, httpx.ConnectTimeout):
        return f"no connection within {timeout:g} s"
    if isinstance(exc, httpx.TimeoutException):
        return f"no answer within {timeout:g} s"
    detail = (str(exc).strip().splitlines() or [""])[0]
    if detail.startswith("[Errno") and "] " in detail:
        detail = detail.split("] ", 1)[1]  # "[Errno 111] Connection refused"
    return detail[:1].lower() + detail[1:] if detail else type(exc).__name__


def readiness(answer: Answer) -> dict:
    """What `/readyz` said: ready or not, and each dependency check's result."""
    try:
        body = json.loads(answer.body)
    except ValueError:
        body = None
    checks = body.get("checks") if isinstance(body, dict) else None
    checks = {str(k): str(v) for k, v in checks.items()} if isinstance(checks, dict) else {}
    return {"ready": answer.status == 200, "checks": checks,
            "said": None if answer.status in (200, 503) else f"HTTP {answer.status}"}


def summarize(text: str) -> dict:
    """The watched storywire_* samples of a Prometheus text page: a number each, or by label
    (`feed_lag` by consumer, `queue_length` by queue, `deliveries` by channel, then status).
    Raises ValueError for a page that is not Prometheus text."""
    from prometheus_client.parser import text_string_to_metric_families

    found: dict = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name not in WATCHED:
                continue
            key, labels = WATCHED[sample.name]
            path = [key, *(sample.labels.get(label, "") for label in labels)]
            place = found
            for step in path[:-1]:
                place = place.setdefault(step, {})
            place[path[-1]] = _number(place.get(path[-1], 0) + sample.value)
    return found


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else round(value, 3)


def service_report(url: str | None, ready: Answer | None = None,
                   scraped: Answer | None = None) -> dict:
    """One service as status shows it: reachable or not (and why), ready or not (and what its
    checks say), and its watched metrics (or why they could not be read)."""
    report = {"url": shown_url(url) if url else None, "reachable": False, "error": None,
              "ready": None, "checks": {}, "metrics": {}, "metrics_error": None}
    if url is None:
        report["error"] = "no address to ask (WORKER_URL unset, WORKER_METRICS_PORT 0)"
        return report
    answers = [a for a in (ready, scraped) if a is not None]
    if not any(a.connected for a in answers):
        report["error"] = answers[0].error
        return report
    report["reachable"] = True
    if ready is not None:
        if ready.error:
            report["error"] = f"/readyz: {ready.error}"
        else:
            said = readiness(ready)
            report["ready"], report["checks"] = said["ready"], said["checks"]
            report["error"] = said["said"] and f"/readyz answered {said['said']}"
    if scraped.error:
        report["metrics_error"] = scraped.error
    elif scraped.status != 200:
        report["metrics_error"] = f"HTTP {scraped.status}"
    else:
        try:
            report["metrics"] = summarize(scraped.body)
        except ValueError as exc:
            report["metrics_error"] = f"not Prometheus text ({exc})"
    return report


def shown_url(url: str) -> str:
    """A URL without any user or password in it."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


# -- saying it ----------------------------------------------------------------------------------

def _age(since: datetime | None, now: datetime) -> str:
    if since is None:
        return "-"
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    return _seconds(max(0, int((now - since).total_seconds())))


def _seconds(seconds: int) -> str:
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def lines(report: dict, now: datetime) -> list[str]:
    outbox = report["outbox"]
    lag = max(0, report["feed_head"] - report["notify_position"])
    deliveries = report["deliveries"]
    by_status = ", ".join(f"{status} {n}" for status, n in sorted(deliveries.items())) or "none"
    oldest = _age(outbox["oldest_pending"], now)
    said = [
        f"outbox         {outbox['pending']} to forward (oldest {oldest})",
        f"parked         {outbox['parked']} failed article(s)"
        + ("; storywire articles redrive --all once fixed" if outbox["parked"] else ""),
        f"feed           head {report['feed_head']}, notify at {report['notify_position']} "
        f"(lag {lag})",
        f"deliveries     {by_status}",
    ]
    return said + [f"{name:<15}{service_line(found)}"
                   for name, found in report.get("services", {}).items()]


def service_line(found: dict) -> str:
    """One service: its state, then its watched metrics."""
    if found["url"] is None:
        return f"not asked: {found['error']}"
    if not found["reachable"]:
        return f"unreachable at {found['url']} ({found['error']})"
    if found["ready"] is None:
        state = "up"
    elif found["ready"]:
        state = "up, ready"
    else:
        state = "up, NOT READY"
    checks = ", ".join(f"{name} {result}" for name, result in found["checks"].items()
                       if found["ready"] is False or result != "ok")
    detail = "; ".join(part for part in (checks, found["error"]) if part)
    state += f" ({detail})" if detail else ""
    if found["metrics_error"]:
        numbers = f"metrics unreadable: {found['metrics_error']}"
    else:
        numbers = metrics_text(found["metrics"])
    return f"{state} at {found['url']}" + (f"; {numbers}" if numbers else "")


def metrics_text(metrics: dict) -> str:
    """The watched metrics in a few words."""
    parts = []
    if "outbox_depth" in metrics:
        age = _seconds(int(metrics.get("outbox_oldest_age_seconds", 0)))
        parts.append(f"outbox {metrics['outbox_depth']} (oldest {age})")
    if "articles_parked" in metrics:
        parts.append(f"parked {metrics['articles_parked']}")
    for consumer, lag in sorted(metrics.get("feed_lag", {}).items()):
        parts.append(f"{consumer} lag {lag}")
    queues = metrics.get("queue_length", {})
    if queues:
        parts.append("queued " + ", ".join(f"{q} {n}" for q, n in sorted(queues.items())))
    deliveries = metrics.get("deliveries", {})
    if deliveries:
        parts.append("deliveries " + ", ".join(
            f"{channel} {status} {n}" for channel, by_status in sorted(deliveries.items())
            for status, n in sorted(by_status.items())))
    return ", ".join(parts)


def as_json(report: dict) -> dict:
    outbox = dict(report["outbox"])
    if outbox["oldest_pending"] is not None:
        outbox["oldest_pending"] = outbox["oldest_pending"].isoformat()
    return {**report, "outbox": outbox,
            "notify_lag": max(0, report["feed_head"] - report["notify_position"])}
