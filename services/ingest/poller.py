"""Polling one feed: conditional GET, parse, fetch the page of summary-only items, accept."""

import logging
from datetime import datetime, timedelta

import httpx
from pydantic import ValidationError
from sqlalchemy import Engine

from services.ingest import store
from services.ingest.feeds import FeedError, FeedItem, next_poll_at, parse_feed, retry_after
from services.ingest.models import Feed
from services.ingest.schemas import ArticleCreate
from shared.urlguard import UnsafeURL, check_url, guarded_transport

log = logging.getLogger("storywire.ingest.feeds")

LEASE = timedelta(minutes=10)
MAX_DOCUMENT_BYTES = 5_000_000


def http_client(timeout: float, allow_private_urls: bool) -> httpx.Client:
    hooks = [] if allow_private_urls else [lambda request: check_url(str(request.url), False)]
    return httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
                        follow_redirects=True, max_redirects=5,
                        headers={"user-agent": "storywire-feeds/1"},
                        event_hooks={"request": hooks},
                        transport=guarded_transport(allow_private_urls))


def _read(response: httpx.Response) -> bytes:
    chunks, size = [], 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > MAX_DOCUMENT_BYTES:
            raise FeedError(f"larger than {MAX_DOCUMENT_BYTES} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def page_text(http: httpx.Client, url: str) -> str | None:
    """The article text of a web page (trafilatura), or None if it cannot be had."""
    import trafilatura

    try:
        with http.stream("GET", url) as response:
            response.raise_for_status()
            html = _read(response)
    except (httpx.HTTPError, FeedError, UnsafeURL) as exc:
        log.warning("page %s not fetched: %s", url, type(exc).__name__)
        return None
    return trafilatura.extract(html, url=url, include_comments=False, include_tables=False)


def item_fields(feed: Feed, item: FeedItem, body: str, now: datetime) -> dict | None:
    try:
        article = ArticleCreate.model_validate({
            "outlet": feed.outlet, "url": item.url, "title": item.title or item.url,
            "published_at": item.published_at or now, "body": body})
    except ValidationError as exc:
        log.warning("feed %s item %s skipped: %s", feed.id, item.url,
                    "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                              for e in exc.errors()))
        return None
    return article.model_dump() | {"url": str(article.url)}


def poll_feed(engine: Engine, http: httpx.Client, feed_id: str, now: datetime) -> str:
    """One poll of a due feed; returns what happened (skipped, not-modified, ok: n new, ...)."""
    feed = store.claim_feed(engine, feed_id, now, LEASE)
    if feed is None:
        return "skipped"
    interval = timedelta(seconds=feed.interval_seconds)
    headers = {}
    if feed.etag:
        headers["if-none-match"] = feed.etag
    if feed.last_modified:
        headers["if-modified-since"] = feed.last_modified
    feed.last_polled_at = now
    try:
        with http.stream("GET", feed.url, headers=headers) as response:
            if response.status_code == 304:
                return _succeeded(engine, feed, now, interval, "not-modified")
            if response.status_code == 410:
                feed.status, feed.last_error = "gone", "HTTP 410 Gone: no longer polled"
                store.save_feed(engine, feed)
                return "gone"
            if response.status_code >= 400:
                return _failed(engine, feed, now, interval, f"HTTP {response.status_code}",
                               retry_after(response.headers.get("retry-after")))
            document = _read(response)
            validators = response.headers.get("etag"), response.headers.get("last-modified")
        items = parse_feed(document)
    except (httpx.HTTPError, FeedError, UnsafeURL) as exc:
        return _failed(engine, feed, now, interval, f"{type(exc).__name__}: {exc}"[:300])
    known = store.entry_fingerprints(engine, feed.id, [i.key for i in items])
    new = 0
    for item in reversed(items):  # feeds list the newest first; accept in publication order
        if known.get(item.key) == item.fingerprint:
            continue
        body = item.body
        if item.summary_only:
            body = page_text(http, item.url) or body
        fields = item_fields(feed, item, body, now)
        if fields is None:
            continue
        accepted = store.accept_feed_entry(engine, feed.id, item.key, item.fingerprint, fields)
        new += accepted.created
    feed.etag, feed.last_modified = validators
    feed.articles += new
    return _succeeded(engine, feed, now, interval, f"ok: {new} new")


def _succeeded(engine, feed: Feed, now, interval, outcome: str) -> str:
    feed.status, feed.failures, feed.last_error = "ok", 0, None
    feed.last_success_at = now
    feed.next_poll_at = next_poll_at(now, interval, 0)
    store.save_feed(engine, feed)
    return outcome


def _failed(engine, feed: Feed, now, interval, error: str, wait: timedelta | None = None) -> str:
    feed.failures += 1
    feed.status, feed.last_error = "failing", error
    feed.next_poll_at = next_poll_at(now, interval, feed.failures, wait)
    store.save_feed(engine, feed)
    log.warning("feed %s poll failed (%s); next poll at %s", feed.id, error,
                feed.next_poll_at.isoformat())
    return f"failed: {error}"
