"""`storywire status`: what an operator watches, read from the services' databases.

`gather` reads (I/O); `lines` says it (pure): the outbox's depth and the age of its oldest
article, parked articles, the global feed's head and the notifier's lag behind it, and
deliveries by status.
"""

from __future__ import annotations

from datetime import UTC, datetime

from shared.settings import Settings


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


def _age(since: datetime | None, now: datetime) -> str:
    if since is None:
        return "-"
    if since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    seconds = max(0, int((now - since).total_seconds()))
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
    return [
        f"outbox         {outbox['pending']} to forward (oldest {oldest})",
        f"parked         {outbox['parked']} failed article(s)"
        + ("; storywire articles redrive --all once fixed" if outbox["parked"] else ""),
        f"feed           head {report['feed_head']}, notify at {report['notify_position']} "
        f"(lag {lag})",
        f"deliveries     {by_status}",
    ]


def as_json(report: dict) -> dict:
    outbox = dict(report["outbox"])
    if outbox["oldest_pending"] is not None:
        outbox["oldest_pending"] = outbox["oldest_pending"].isoformat()
    return {**report, "outbox": outbox,
            "notify_lag": max(0, report["feed_head"] - report["notify_position"])}
