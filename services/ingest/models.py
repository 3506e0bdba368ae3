"""Ingest's own tables: the articles it accepted and the outbox of forwards to the story service."""

from datetime import datetime

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.db import UTCDateTime as TZ
from shared.db import utcnow


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
    status: str = Field(default="accepted", max_length=20)  # accepted | forwarded
    stories: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    received_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    forwarded_at: datetime | None = Field(default=None, sa_type=TZ)


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "ingest_outbox"

    id: int | None = Field(default=None, primary_key=True)
    article_id: str = Field(max_length=36, index=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    last_error: str | None = Field(default=None, max_length=500)
    sent_at: datetime | None = Field(default=None, index=True, sa_type=TZ)
