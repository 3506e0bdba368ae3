"""Request and response bodies of the story API."""

from typing import Any

from pydantic import AwareDatetime, BaseModel, Field


class ForwardedArticle(BaseModel):
    id: str = Field(min_length=1, max_length=64)
    outlet: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=1, max_length=2000)
    title: str = Field(min_length=1, max_length=500)
    published_at: AwareDatetime
    body: str = Field(min_length=1, max_length=1_000_000)
    revision_of: str | None = None


class AttachedPublic(BaseModel):
    article_id: str
    stories: list[str]
    unrouted: bool
    developments: int


class EventPublic(BaseModel):
    position: int
    stream_id: str
    version: int
    event_id: str
    type: str
    schema_version: int
    data: dict[str, Any]
    metadata: dict[str, Any]
    recorded_at: str


class EventsPublic(BaseModel):
    events: list[EventPublic]
    next_after: int = Field(description="Pass as `after` to read on; equals `after` when empty")
    head: int
