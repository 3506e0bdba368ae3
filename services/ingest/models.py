"""Ingest's own tables: the articles it accepted and the outbox of forwards to the story service."""

from datetime import datetime

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.db import UTCDateTime as TZ
from shared.db import utcnow
from shared.keys import ApiKey  # noqa: F401  (the keys table lives in the ingest database)


class IngestArticle(SQLModel, table=True):
    __tablename__ = "ingest_articles"
    __table_args__ = (UniqueConstraint("url", "content_hash", name="uq_ingest_articles_url_hash"),)

    id: str = Field(primary_key=True, max_length=36)
    outlet: str = Field(max_length=200)
    url: str = Field(max_length=2000, index=True)
    title: str = Field(max_length=500)
    published_at: datetime = Field(sa_type=TZ)
    body: str = Field(sa_column=Column(Text, nullable=False))
    content_hash: str = Field(max_length=64)
    revision_of: str | None = Field(default=None, max_length=36)
    status: str = Field(default="accepted", max_length=20)  # accepted | forwarded | failed
    stories: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    forwarded_at: datetime | None = Field(default=None, sa_type=TZ)
    traceparent: str | None = Field(default=None, max_length=64)  # the trace it is followed in


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "ingest_outbox"

    id: int | None = Field(default=None, primary_key=True)
    article_id: str = Field(max_length=36, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    last_error: str | None = Field(default=None, max_length=500)
    sent_at: datetime | None = Field(default=None, index=True, sa_type=TZ)
    refusals: int = 0  # failed tries while the story service was ready: the article's fault
    parked_at: datetime | None = Field(default=None, sa_type=TZ)  # set: failed, not retried


class Integration(SQLModel, table=True):
    """A CMS that pushes signed webhooks, and how its JSON maps onto an article."""

    __tablename__ = "ingest_integrations"

    name: str = Field(primary_key=True, max_length=100)
    signing: str = Field(max_length=20)  # standard | github
    secret: str = Field(max_length=200)  # needed in the clear to check HMACs; never returned
    mapping: dict = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    outlet: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ)


class WebhookReceipt(SQLModel, table=True):
    """A webhook-id already accepted, remembered past the timestamp tolerance to refuse replays."""

    __tablename__ = "ingest_webhook_receipts"

    integration: str = Field(primary_key=True, max_length=100)
    webhook_id: str = Field(primary_key=True, max_length=200)
    article_id: str = Field(max_length=36)
    expires_at: datetime = Field(sa_type=TZ, index=True)


class IdempotencyRecord(SQLModel, table=True):
    """The response first given to an Idempotency-Key, replayed for a retry of the same request."""

    __tablename__ = "ingest_idempotency"

    principal: str = Field(primary_key=True, max_length=40)
    key: str = Field(primary_key=True, max_length=200)
    request_hash: str = Field(max_length=64)
    status_code: int
    response: dict = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ, index=True)


class Feed(SQLModel, table=True):
    """An RSS/Atom feed polled on a schedule, with its conditional-GET validators and health."""

    __tablename__ = "ingest_feeds"

    id: str = Field(primary_key=True, max_length=40)
    url: str = Field(max_length=2000, unique=True)
    outlet: str = Field(max_length=200)
    interval_seconds: int = 300
    etag: str | None = Field(default=None, max_length=500)
    last_modified: str | None = Field(default=None, max_length=100)
    status: str = Field(default="pending", max_length=20)  # pending | ok | failing | gone
    failures: int = 0
    last_error: str | None = Field(default=None, max_length=500)
    last_polled_at: datetime | None = Field(default=None, sa_type=TZ)
    last_success_at: datetime | None = Field(default=None, sa_type=TZ)
    next_poll_at: datetime = Field(default_factory=utcnow, sa_type=TZ, index=True)
    articles: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ)


class FeedEntry(SQLModel, table=True):
    """A feed item already taken in, by its fingerprint, so an unchanged item is not fetched
    again."""

    __tablename__ = "ingest_feed_entries"

    feed_id: str = Field(primary_key=True, max_length=40)
    entry_key: str = Field(primary_key=True, max_length=2000)
    fingerprint: str = Field(max_length=64)
    article_id: str = Field(max_length=36)
    seen_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
