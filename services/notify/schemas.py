"""Request and response bodies of the notify API."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field, HttpUrl

DEVELOPMENT_TYPES = ("ruling", "hearing", "filing", "verdict", "sentence", "custody", "charge",
                     "appeal", "statement")
DevelopmentType = Literal["ruling", "hearing", "filing", "verdict", "sentence", "custody",
                          "charge", "appeal", "statement"]


class SubscriptionCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    channel: Literal["webhook"] = "webhook"
    url: HttpUrl
    stories: list[str] = Field(default_factory=list, max_length=100)
    types: list[DevelopmentType] = Field(default_factory=list)
    outcomes: list[str] = Field(default_factory=list, max_length=20)


class SubscriptionPublic(BaseModel):
    id: str
    name: str
    channel: str
    url: str
    stories: list[str]
    types: list[str]
    outcomes: list[str]
    active: bool
    disabled_reason: str | None
    created_at: datetime


class SubscriptionCreated(SubscriptionPublic):
    secret: str = Field(description="The signing secret, shown only in this response")


class DeliveryPublic(BaseModel):
    id: str
    subscription_id: str
    development_id: str
    status: str
    attempts: int
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
