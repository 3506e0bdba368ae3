"""Notify's own tables: subscribers and their subscriptions, deliveries (one per subscription and
development, or per subscription and digest window), delivery attempts, developments waiting for
a digest, Slack pacing, and the checkpoint of the story feed."""

from datetime import datetime
from uuid import uuid4

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.db import UTCDateTime as TZ
from shared.db import utcnow
from shared.eventstore import Checkpoints, checkpoint_table

checkpoints = Checkpoints(checkpoint_table("notify_checkpoints"))

PENDING, SENDING, DELIVERED, FAILED = "pending", "sending", "delivered", "failed"
ALERT, DIGEST, TEST = "alert", "digest", "test"  # kinds of delivery
REALTIME = "realtime"
# An attempt is recorded as started before its send and completed after it; a started attempt
# whose claim lapsed (the worker died mid-send) is interrupted.
STARTED, COMPLETED, INTERRUPTED = "started", "completed", "interrupted"


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid4().hex}"


class Subscriber(SQLModel, table=True):
    __tablename__ = "notify_subscribers"

    id: str = Field(default_factory=lambda: new_id("sbr"), primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    email: str | None = Field(default=None, max_length=320)
    time_zone: str = Field(default="UTC", max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ)


class Subscription(SQLModel, table=True):
    __tablename__ = "notify_subscriptions"

    id: str = Field(default_factory=lambda: new_id("sub"), primary_key=True, max_length=40)
    subscriber_id: str | None = Field(default=None, max_length=40, index=True)
    name: str = Field(max_length=200)
    channel: str = Field(max_length=20)  # email, slack, webhook
    target: str = Field(max_length=2000)  # the email address or the URL
    secret: str | None = Field(default=None, max_length=100)
    previous_secret: str | None = Field(default=None, max_length=100)
    previous_secret_until: datetime | None = Field(default=None, sa_type=TZ)
    rate: str = Field(default=REALTIME, max_length=10)  # realtime, hourly, daily, weekly
    digest_time: str = Field(default="08:00", max_length=5)  # local HH:MM (hourly: its :MM)
    digest_weekday: int = 0  # weekly digests: 0 is Monday
    failing_since: datetime | None = Field(default=None, sa_type=TZ)
    stories: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    types: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    outcomes: list = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    active: bool = True
    disabled_reason: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ)


class Delivery(SQLModel, table=True):
    __tablename__ = "notify_deliveries"
    __table_args__ = (UniqueConstraint("subscription_id", "development_id",
                                       name="uq_notify_deliveries_subscription_development"),)

    id: str = Field(default_factory=lambda: new_id("msg"), primary_key=True, max_length=40)
    subscription_id: str = Field(max_length=40, index=True)
    development_id: str = Field(max_length=64)  # or "digest:<window end>", "test:<id>"
    kind: str = Field(default=ALERT, max_length=10)
    event_position: int
    payload: dict = Field(sa_column=Column(JSON, nullable=False))
    status: str = Field(default=PENDING, max_length=12, index=True)
    attempts: int = 0
    next_attempt_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    claimed_until: datetime | None = Field(default=None, sa_type=TZ)
    enqueued_at: datetime | None = Field(default=None, sa_type=TZ)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, max_length=500)
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    delivered_at: datetime | None = Field(default=None, sa_type=TZ)
    # when ingest accepted the article behind an alert (the start of its alert latency)
    article_accepted_at: datetime | None = Field(default=None, sa_type=TZ)
    traceparent: str | None = Field(default=None, max_length=64)  # the article's trace


class DeliveryAttempt(SQLModel, table=True):
    __tablename__ = "notify_attempts"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(max_length=40, index=True)
    attempted_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    state: str = Field(default=STARTED, max_length=12)
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    response_excerpt: str | None = Field(default=None, sa_column=Column(Text))
    duration_ms: int = 0


class DigestItem(SQLModel, table=True):
    """A development waiting for its subscription's next digest; `delivery_id` is the digest
    that took it (each development lands in exactly one digest per subscription)."""

    __tablename__ = "notify_digest_items"
    __table_args__ = (UniqueConstraint("subscription_id", "development_id",
                                       name="uq_notify_digest_items_subscription_development"),)

    id: int | None = Field(default=None, primary_key=True)
    subscription_id: str = Field(max_length=40, index=True)
    development_id: str = Field(max_length=64)
    event_position: int
    alert: dict = Field(sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    delivery_id: str | None = Field(default=None, max_length=40, index=True)


class HookPacing(SQLModel, table=True):
    """When a Slack hook may next be sent to (about one message a second per hook)."""

    __tablename__ = "notify_hook_pacing"

    hook: str = Field(primary_key=True, max_length=64)  # sha256 of the hook URL
    next_send_at: datetime = Field(sa_type=TZ)
