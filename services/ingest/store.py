"""Ingest's queries: accept articles with their outbox rows in one transaction (with the
idempotency record or webhook receipt that goes with them); the outbox; keys, integrations and
feeds."""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import Engine, bindparam, delete, func, insert, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.ingest.models import (
    Feed,
    FeedEntry,
    IdempotencyRecord,
    IngestArticle,
    Integration,
    OutboxMessage,
    WebhookReceipt,
)
from shared.db import utcnow
from shared.eventstore import deterministic_id
from shared.text import content_hash
from shared.wakeup import OUTBOX, notify_in

IDEMPOTENCY_TTL = timedelta(hours=24)
T = TypeVar("T")


@dataclass(frozen=True)
class Accepted:
    article: IngestArticle
    created: bool


@dataclass(frozen=True)
class Outcome:
    """What a request to accept articles answered (`replayed`: an earlier identical request's
    answer, given again for its Idempotency-Key)."""

    results: list[Accepted]
    status_code: int
    response: dict
    replayed: bool = False


@dataclass(frozen=True)
class IdempotencyKey:
    principal: str
    key: str
    request_hash: str


class IdempotencyKeyReused(Exception):
    """The key was first used with a different request."""


class WebhookReplayed(Exception):
    def __init__(self, article_id: str):
        super().__init__(article_id)
        self.article_id = article_id


Render = Callable[[list[Accepted]], tuple[int, dict]]


def article_id_of(url: str, body: str) -> tuple[str, str]:
    """(article id, content hash): the same URL and text up to spacing is the same article."""
    digest = content_hash(body)
    return deterministic_id("article", url, digest), digest


def _accept(session: Session, items: list[dict], now: datetime) -> list[Accepted]:
    keyed = [(*article_id_of(f["url"], f["body"]), f) for f in items]
    ids = {k[0] for k in keyed}
    # the versions of these URLs, oldest first: the latest links a revision, and an exact
    # repeat is among them (its id is made of its URL)
    versions = session.exec(
        select(IngestArticle.url, IngestArticle.id)
        .where(col(IngestArticle.url).in_({f["url"] for f in items}))
        .order_by(col(IngestArticle.received_at))).all()
    latest = dict(versions)
    repeats = ids & {article_id for _, article_id in versions}
    known = {a.id: a for a in session.exec(
        select(IngestArticle).where(col(IngestArticle.id).in_(repeats)))} if repeats else {}
    results, new = [], []
    for article_id, digest, fields in keyed:
        if article_id in known:
            results.append(Accepted(known[article_id], created=False))
            continue
        article = IngestArticle(id=article_id, content_hash=digest, received_at=now,
                                revision_of=latest.get(fields["url"]), **fields)
        new.append(article)
        known[article_id] = article
        latest[fields["url"]] = article_id
        results.append(Accepted(article, created=True))
    if new:  # one statement each; the outbox rows get their ids in acceptance order
        connection = session.connection()
        connection.execute(insert(IngestArticle.__table__), [a.model_dump() for a in new])
        connection.execute(insert(OutboxMessage.__table__), [
            {"article_id": a.id, "created_at": now, "attempts": 0, "next_attempt_at": now}
            for a in new])
        notify_in(connection, OUTBOX)  # the relay wakes when this commits
    return results


def accept_articles(engine: Engine, items: list[dict], render: Render,
                    idempotency: IdempotencyKey | None = None,
                    receipt: tuple[str, str, timedelta] | None = None) -> Outcome:
    """Store new articles and their outbox rows atomically, with the answer to an
    Idempotency-Key or the receipt of a webhook (integration, webhook id, how long to remember
    it) in the same transaction. Exact repeats return the original article; so does a request
    that loses the race to store the same article (or key) to a concurrent one."""
    return _again_on_conflict(lambda: _accept_once(engine, items, render, idempotency, receipt))


def _again_on_conflict(transaction: Callable[[], T]) -> T:
    """Run a transaction once more when a concurrent one stored the same article, key or
    entry first: the second run finds what that one stored."""
    try:
        return transaction()
    except IntegrityError:
        return transaction()


def _accept_once(engine: Engine, items: list[dict], render: Render,
                 idempotency: IdempotencyKey | None,
                 receipt: tuple[str, str, timedelta] | None) -> Outcome:
    with Session(engine, expire_on_commit=False) as session:
        now = utcnow()
        if idempotency:
            record = session.get(IdempotencyRecord, (idempotency.principal, idempotency.key))
            if record and record.created_at > now - IDEMPOTENCY_TTL:
                if record.request_hash != idempotency.request_hash:
                    raise IdempotencyKeyReused(idempotency.key)
                return Outcome([], record.status_code, record.response, replayed=True)
            if record:
                session.delete(record)
        if receipt:
            integration, webhook_id, ttl = receipt
            seen = session.get(WebhookReceipt, (integration, webhook_id))
            if seen and seen.expires_at > now:
                raise WebhookReplayed(seen.article_id)
            session.exec(delete(WebhookReceipt).where(col(WebhookReceipt.expires_at) <= now))
        results = _accept(session, items, now)
        status_code, response = render(results)
        if idempotency:
            session.exec(delete(IdempotencyRecord).where(
                col(IdempotencyRecord.created_at) < now - IDEMPOTENCY_TTL))
            session.add(IdempotencyRecord(
                principal=idempotency.principal, key=idempotency.key,
                request_hash=idempotency.request_hash, status_code=status_code,
                response=response))
        if receipt:
            session.add(WebhookReceipt(integration=integration, webhook_id=webhook_id,
                                       article_id=results[0].article.id,
                                       expires_at=now + ttl))
        session.commit()
        return Outcome(results, status_code, response)


def accept_article(engine: Engine, fields: dict) -> Accepted:
    """Store one article and its outbox row atomically; an exact repeat returns the original."""
    return accept_articles(engine, [fields], lambda results: (0, {})).results[0]


def get_article(engine: Engine, article_id: str) -> tuple[IngestArticle,
                                                          OutboxMessage | None] | None:
    """The article and its outbox row (how many forwards failed, the last error)."""
    with Session(engine) as session:
        article = session.get(IngestArticle, article_id)
        if article is None:
            return None
        message = session.exec(select(OutboxMessage)
                               .where(OutboxMessage.article_id == article_id)
                               .order_by(col(OutboxMessage.id).desc())).first()
        return article, message


def failed_articles(engine: Engine, limit: int) -> list[tuple[IngestArticle, OutboxMessage]]:
    """Parked articles with their outbox rows, in acceptance order."""
    with Session(engine) as session:
        return list(session.exec(
            select(IngestArticle, OutboxMessage)
            .join(OutboxMessage, OutboxMessage.article_id == IngestArticle.id)
            .where(col(OutboxMessage.parked_at).is_not(None), col(OutboxMessage.sent_at).is_(None))
            .order_by(col(OutboxMessage.id)).limit(limit)).all())


# -- the outbox ----------------------------------------------------------------------------------


def outbox_summary(engine: Engine) -> dict:
    """How much the relay has still to forward, since when, and how many articles are parked."""
    waiting = (col(OutboxMessage.sent_at).is_(None), col(OutboxMessage.parked_at).is_(None))
    with Session(engine) as session:
        pending, oldest = session.exec(select(func.count(), func.min(OutboxMessage.created_at))
                                       .where(*waiting)).one()
        parked = session.exec(select(func.count()).where(
            col(OutboxMessage.parked_at).is_not(None))).one()
    return {"pending": pending, "oldest_pending": oldest, "parked": parked}


def due_messages(engine: Engine, limit: int, now: datetime) -> list[tuple[OutboxMessage,
                                                                         IngestArticle]]:
    """Unsent outbox rows in acceptance order, up to the first one still backing off."""
    with Session(engine) as session:
        rows = session.exec(
            select(OutboxMessage, IngestArticle)
            .join(IngestArticle, IngestArticle.id == OutboxMessage.article_id)
            .where(col(OutboxMessage.sent_at).is_(None), col(OutboxMessage.parked_at).is_(None))
            .order_by(col(OutboxMessage.id))
            .limit(limit)
        ).all()
    due = []
    for message, article in rows:
        if message.next_attempt_at > now:
            break  # keep the order: nothing overtakes a message that is backing off
        due.append((message, article))
    return due


def mark_forwarded(engine: Engine, forwarded: list[tuple[int, str, list[str]]]) -> None:
    """Record forwards, each (outbox message id, article id, stories), in one transaction."""
    if not forwarded:
        return
    now = utcnow()
    articles = IngestArticle.__table__
    with Session(engine) as session:
        session.exec(update(OutboxMessage)
                     .where(col(OutboxMessage.id).in_([m for m, _, _ in forwarded]))
                     .values(sent_at=now))
        session.connection().execute(
            update(articles).where(articles.c.id == bindparam("article_id"))
            .values(status="forwarded", stories=bindparam("article_stories"), forwarded_at=now),
            [{"article_id": a, "article_stories": s} for _, a, s in forwarded])
        session.commit()


def mark_failed(engine: Engine, message_id: int, error: str, delay: timedelta,
                park_after: int | None = None) -> bool:
    """Count a failed forward and put the next try off by `delay`. With `park_after`, the
    story service was ready and refused the article: at that many refusals the article is
    parked (failed; the outbox moves on past it). Returns whether it was parked."""
    with Session(engine) as session:
        message = session.get(OutboxMessage, message_id)
        message.attempts += 1
        message.last_error = error[:500]
        message.next_attempt_at = utcnow() + delay
        parked = False
        if park_after is not None:
            message.refusals += 1
            parked = message.refusals >= park_after
        if parked:
            message.parked_at = utcnow()
            session.exec(update(IngestArticle).where(col(IngestArticle.id) == message.article_id)
                         .values(status="failed"))
        session.add(message)
        session.commit()
        return parked


def redrive(engine: Engine, article_ids: list[str] | None = None) -> list[str]:
    """Put parked articles (all of them when `article_ids` is None) back in the outbox, at
    their old place, due now and with their refusals forgotten. Returns the ids redriven."""
    now = utcnow()
    with Session(engine) as session:
        parked = (select(OutboxMessage.id, OutboxMessage.article_id)
                  .where(col(OutboxMessage.parked_at).is_not(None),
                         col(OutboxMessage.sent_at).is_(None))
                  .order_by(col(OutboxMessage.id)))
        if article_ids is not None:
            parked = parked.where(col(OutboxMessage.article_id).in_(article_ids))
        rows = session.exec(parked).all()
        if rows:
            session.exec(update(OutboxMessage)
                         .where(col(OutboxMessage.id).in_([m for m, _ in rows]))
                         .values(parked_at=None, refusals=0, next_attempt_at=now))
            session.exec(update(IngestArticle)
                         .where(col(IngestArticle.id).in_([a for _, a in rows]))
                         .values(status="accepted"))
            notify_in(session.connection(), OUTBOX)
            session.commit()
        return [a for _, a in rows]


# -- webhook integrations ------------------------------------------------------------------------


def add_unique(engine: Engine, row: T) -> T | None:
    """Insert a row; None when its key (an integration's name, a feed's URL) is taken."""
    with Session(engine, expire_on_commit=False) as session:
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            return None
    return row


def get_integration(engine: Engine, name: str) -> Integration | None:
    with Session(engine) as session:
        return session.get(Integration, name)


def list_integrations(engine: Engine) -> list[Integration]:
    with Session(engine) as session:
        return list(session.exec(select(Integration).order_by(col(Integration.name))))


def delete_integration(engine: Engine, name: str) -> bool:
    with Session(engine) as session:
        found = session.get(Integration, name)
        if found:
            session.delete(found)
            session.commit()
        return found is not None


# -- feeds ---------------------------------------------------------------------------------------


def get_feed(engine: Engine, feed_id: str) -> Feed | None:
    with Session(engine) as session:
        return session.get(Feed, feed_id)


def list_feeds(engine: Engine) -> list[Feed]:
    with Session(engine) as session:
        return list(session.exec(select(Feed).order_by(col(Feed.created_at))))


def delete_feed(engine: Engine, feed_id: str) -> bool:
    with Session(engine) as session:
        found = session.get(Feed, feed_id)
        if found:
            session.delete(found)
            session.exec(delete(FeedEntry).where(col(FeedEntry.feed_id) == feed_id))
            session.commit()
        return found is not None


def due_feeds(engine: Engine, now: datetime) -> list[str]:
    with Session(engine) as session:
        return list(session.exec(select(Feed.id).where(col(Feed.next_poll_at) <= now,
                                                       col(Feed.status) != "gone")))


def claim_feed(engine: Engine, feed_id: str, now: datetime, lease: timedelta) -> Feed | None:
    """Take a due feed for one poll (moving its next poll past the lease), or None if it is not
    due or another worker has it."""
    with Session(engine, expire_on_commit=False) as session:
        claimed = session.exec(
            update(Feed).where(col(Feed.id) == feed_id, col(Feed.next_poll_at) <= now,
                               col(Feed.status) != "gone")
            .values(next_poll_at=now + lease))
        session.commit()
        return session.get(Feed, feed_id) if claimed.rowcount else None


def save_feed(engine: Engine, feed: Feed) -> None:
    with Session(engine) as session:
        session.merge(feed)
        session.commit()


def entry_fingerprints(engine: Engine, feed_id: str, entry_keys: list[str]) -> dict[str, str]:
    if not entry_keys:
        return {}
    with Session(engine) as session:
        rows = session.exec(select(FeedEntry.entry_key, FeedEntry.fingerprint).where(
            col(FeedEntry.feed_id) == feed_id, col(FeedEntry.entry_key).in_(entry_keys)))
        return dict(rows.all())


def accept_feed_entry(engine: Engine, feed_id: str, entry_key: str, fingerprint: str,
                      fields: dict) -> Accepted:
    """Accept a feed item's article and remember the item's fingerprint, atomically."""
    def transaction() -> Accepted:
        with Session(engine, expire_on_commit=False) as session:
            accepted = _accept(session, [fields], utcnow())[0]
            session.merge(FeedEntry(feed_id=feed_id, entry_key=entry_key,
                                    fingerprint=fingerprint, article_id=accepted.article.id))
            session.commit()
        return accepted

    return _again_on_conflict(transaction)
