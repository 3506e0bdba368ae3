"""Ingest's queries: accept an article with its outbox row in one transaction; the outbox."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from services.ingest.models import IngestArticle, OutboxMessage
from shared.db import utcnow
from shared.eventstore import deterministic_id
from shared.text import content_hash


@dataclass(frozen=True)
class Accepted:
    article: IngestArticle
    created: bool


def accept_article(engine: Engine, fields: dict) -> Accepted:
    """Store a new article and its outbox row atomically; an exact repeat returns the original."""
    digest = content_hash(fields["body"])
    article_id = deterministic_id("article", fields["url"], digest)
    with Session(engine) as session:
        existing = session.get(IngestArticle, article_id)
        if existing:
            return Accepted(existing, created=False)
        previous = session.exec(
            select(IngestArticle).where(IngestArticle.url == fields["url"])
            .order_by(col(IngestArticle.received_at).desc())
        ).first()
        article = IngestArticle(id=article_id, content_hash=digest,
                                revision_of=previous.id if previous else None, **fields)
        session.add(article)
        session.add(OutboxMessage(article_id=article_id))
        try:
            session.commit()
        except IntegrityError:  # the same article arrived concurrently
            session.rollback()
            return Accepted(session.get(IngestArticle, article_id), created=False)
        session.refresh(article)
        return Accepted(article, created=True)


def get_article(engine: Engine, article_id: str) -> IngestArticle | None:
    with Session(engine) as session:
        return session.get(IngestArticle, article_id)


def due_messages(engine: Engine, limit: int, now: datetime) -> list[tuple[OutboxMessage,
                                                                         IngestArticle]]:
    """Unsent outbox rows in acceptance order, up to the first one still backing off."""
    with Session(engine) as session:
        rows = session.exec(
            select(OutboxMessage, IngestArticle)
            .join(IngestArticle, IngestArticle.id == OutboxMessage.article_id)
            .where(col(OutboxMessage.sent_at).is_(None))
            .order_by(col(OutboxMessage.id))
            .limit(limit)
        ).all()
    due = []
    for message, article in rows:
        if message.next_attempt_at > now:
            break  # keep the order: nothing overtakes a message that is backing off
        due.append((message, article))
    return due


def mark_forwarded(engine: Engine, message_id: int, stories: list[str]) -> None:
    with Session(engine) as session:
        message = session.get(OutboxMessage, message_id)
        article = session.get(IngestArticle, message.article_id)
        now = utcnow()
        message.sent_at = now
        article.status = "forwarded"
        article.stories = stories
        article.forwarded_at = now
        session.add_all([message, article])
        session.commit()


def mark_failed(engine: Engine, message_id: int, error: str, delay: timedelta) -> None:
    with Session(engine) as session:
        message = session.get(OutboxMessage, message_id)
        message.attempts += 1
        message.last_error = error[:500]
        message.next_attempt_at = utcnow() + delay
        session.add(message)
        session.commit()
