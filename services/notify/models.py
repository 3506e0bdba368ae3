"""Notify's own tables: subscriptions, deliveries (one per subscription and development),
delivery attempts, and the checkpoint of the story feed."""

from datetime import datetime
from uuid import uuid4

from sqlalchemy import JSON, Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from shared.db import UTCDateTime as TZ
from shared.db import utcnow
from shared.eventstore import Checkpoints, checkpoint_table

checkpoints = Checkpoints(checkpoint_table("notify_checkpoints"))

PENDING, SENDING, DELIVERED, FAILED = "pending", "sending", "delivered", "failed"


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid4().hex}"


class Subscription(SQLModel, table=True):
    __tablename__ = "notify_subscriptions"

    id: str = Field(default_factory=lambda: new_id("sub"), primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    channel: str = Field(max_length=20)  # webhook
    target: str = Field(max_length=2000)
    secret: str | None = Field(default=None, max_length=100)
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
    development_id: str = Field(max_length=64)
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


class DeliveryAttempt(SQLModel, table=True):
    __tablename__ = "notify_attempts"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(max_length=40, index=True)
    attempted_at: datetime = Field(default_factory=utcnow, sa_type=TZ)
    status_code: int | None = None
    error: str | None = Field(default=None, max_length=500)
    response_excerpt: str | None = Field(default=None, sa_column=Column(Text))
    duration_ms: int = 0
