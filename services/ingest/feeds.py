"""RSS/Atom feeds, pure: items out of a feed document, and when to poll next."""

import hashlib
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import feedparser

MAX_BACKOFF = timedelta(hours=6)


@dataclass(frozen=True)
class FeedItem:
    key: str  # guid, else link
    url: str
    title: str
    published_at: datetime | None
    body: str  # HTML or text: the full content, or only the summary
    summary_only: bool
    fingerprint: str  # changes when the item's text or date changes


class FeedError(Exception):
    pass


def parse_feed(document: bytes) -> list[FeedItem]:
    """The items of an RSS or Atom document that have a link; FeedError if it is not a feed."""
    parsed = feedparser.parse(document)
    if (parsed.bozo or not parsed.version) and not parsed.entries:
        reason = type(parsed.bozo_exception).__name__ if parsed.bozo else "no RSS or Atom"
        raise FeedError(f"not a feed: {reason}")
    items = []
    for entry in parsed.entries:
        url = entry.get("link")
        if not url:
            continue
        contents = [c.get("value", "") for c in entry.get("content", [])]
        full = max(contents, key=len, default="")
        body = full or entry.get("summary", "")
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        published = datetime(*stamp[:6], tzinfo=UTC) if stamp else None
        title = entry.get("title", "")
        digest = hashlib.sha256("\x1f".join(
            [url, title, body, published.isoformat() if published else ""]).encode())
        items.append(FeedItem(key=entry.get("id") or url, url=url, title=title,
                              published_at=published, body=body, summary_only=not full,
                              fingerprint=digest.hexdigest()))
    return items


def next_poll_at(now: datetime, interval: timedelta, failures: int,
                 retry_after: timedelta | None = None, rng: random.Random | None = None
                 ) -> datetime:
    """After a success (failures == 0) the feed's interval; after failures, exponential backoff
    from the interval (×2 each, ±10 % jitter, at most six hours), never sooner than Retry-After.
    """
    if failures == 0:
        delay = interval
    else:
        delay = min(MAX_BACKOFF, interval * 2 ** min(failures, 20))
        delay *= (rng or random).uniform(0.9, 1.1)
    if retry_after and retry_after > delay:
        delay = min(retry_after, timedelta(days=1))
    return now + delay


def retry_after(header: str | None) -> timedelta | None:
    if header and header.strip().isdigit():
        return timedelta(seconds=int(header.strip()))
    return None
