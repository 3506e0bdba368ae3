"""Request and response bodies of the notify API."""

import re
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, HttpUrl, field_validator, model_validator

from services.notify.digest import parse_clock

DEVELOPMENT_TYPES = ("ruling", "hearing", "filing", "verdict", "sentence", "custody", "charge",
                     "appeal", "statement")
DevelopmentType = Literal["ruling", "hearing", "filing", "verdict", "sentence", "custody",
                          "charge", "appeal", "statement"]
Channel = Literal["email", "slack", "webhook"]
Rate = Literal["realtime", "hourly", "daily", "weekly"]
# as stored (the target column), checked after normalization (an IDN host grows as punycode)
Url = Annotated[HttpUrl, Field(max_length=2000)]
EMAIL = re.compile(r"^[^@\s<>()\[\],;:\"\\]+@[^@\s<>()\[\],;:\"\\]+\.[^@\s<>()\[\],;:\"\\]+$")


def check_email(value: str | None) -> str | None:
    if value is not None and (len(value) > 320 or not EMAIL.match(value)):
        raise ValueError("not an email address")
    return value


def check_time_zone(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError("not an IANA time zone, e.g. America/New_York") from exc
    return value


def check_clock(value: str | None) -> str | None:
    if value is not None:
        parse_clock(value)
    return value


class SubscriberCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    email: str | None = Field(default=None, description="Told when an endpoint is disabled")
    time_zone: str = Field(default="UTC", description="IANA time zone of its digests")

    _email = field_validator("email")(check_email)
    _zone = field_validator("time_zone")(check_time_zone)


class SubscriberUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    email: str | None = None
    time_zone: str | None = None

    _email = field_validator("email")(check_email)
    _zone = field_validator("time_zone")(check_time_zone)


class SubscriberPublic(BaseModel):
    id: str
    name: str
    email: str | None
    time_zone: str
    feed_url: str = Field(description="Atom feed of its alerts (a secret link)")
    created_at: datetime


class Filters(BaseModel):
    stories: list[str] = Field(default_factory=list, max_length=100)
    types: list[DevelopmentType] = Field(default_factory=list)
    outcomes: list[str] = Field(default_factory=list, max_length=20)


class SubscriptionCreate(Filters):
    subscriber_id: str | None = Field(default=None, description="Its owner; without one, a "
                                      "subscriber of the same name is created")
    name: str = Field(min_length=1, max_length=200)
    channel: Channel = "webhook"
    url: Url | None = Field(default=None, description="Slack or webhook URL")
    email: str | None = Field(default=None, description="Address of the email channel")
    rate: Rate = "realtime"
    digest_time: str = Field(default="08:00", description="Local HH:MM of the digest "
                             "(hourly digests use its minutes)")
    digest_weekday: int = Field(default=0, ge=0, le=6, strict=True,  # true is no weekday
                                description="Weekly: 0 is Monday")

    _email = field_validator("email")(check_email)
    _clock = field_validator("digest_time")(check_clock)

    @model_validator(mode="after")
    def _target(self):
        if self.channel == "email" and (self.email is None or self.url is not None):
            raise ValueError("the email channel takes `email` and no `url`")
        if self.channel != "email" and (self.url is None or self.email is not None):
            raise ValueError(f"the {self.channel} channel takes `url` and no `email`")
        return self

    @property
    def target(self) -> str:
        return self.email if self.channel == "email" else str(self.url)


class SubscriptionUpdate(BaseModel):
    name: str | None = Field(default=None, min_length=1, max_length=200)
    url: Url | None = None
    email: str | None = None
    stories: list[str] | None = Field(default=None, max_length=100)
    types: list[DevelopmentType] | None = None
    outcomes: list[str] | None = Field(default=None, max_length=20)
    rate: Rate | None = None
    digest_time: str | None = None
    digest_weekday: int | None = Field(default=None, ge=0, le=6, strict=True)
    active: bool | None = Field(default=None, description="true re-enables a disabled one")

    _email = field_validator("email")(check_email)
    _clock = field_validator("digest_time")(check_clock)


class SubscriptionPublic(BaseModel):
    id: str
    subscriber_id: str | None
    name: str
    channel: str
    url: str | None
    email: str | None
    stories: list[str]
    types: list[str]
    outcomes: list[str]
    rate: str
    digest_time: str
    digest_weekday: int
    active: bool
    disabled_reason: str | None
    created_at: datetime


class SubscriptionCreated(SubscriptionPublic):
    secret: str | None = Field(description="The webhook signing secret, shown only in this "
                               "response")


class SecretRotated(BaseModel):
    secret: str = Field(description="The new signing secret, shown only in this response")
    previous_valid_until: datetime


class DeliveryPublic(BaseModel):
    id: str
    subscription_id: str
    development_id: str
    kind: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None


class AttemptPublic(BaseModel):
    attempted_at: datetime
    state: str = Field(description="started (under way), completed, or interrupted (cut "
                       "short: the worker stopped mid-send; the delivery is sent again)")
    status_code: int | None
    error: str | None
    response_excerpt: str | None
    duration_ms: int


class RedriveRequest(BaseModel):
    subscription_id: str | None = None
    delivery_ids: list[str] | None = Field(default=None, max_length=1000)

    @model_validator(mode="after")
    def _something(self):
        if self.subscription_id is None and self.delivery_ids is None:
            raise ValueError("give subscription_id or delivery_ids")
        return self


class Redriven(BaseModel):
    redriven: list[str]


class AlertQueued(BaseModel):
    delivery_id: str
