"""Request and response bodies of the story API."""

from datetime import datetime
from functools import cache
from typing import Annotated, Any, Literal
from zoneinfo import available_timezones

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    Field,
    model_validator,
)

from services.story.analysis.model import entity_names
from shared.tracing import TRACEPARENT


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())     # reads the zone database from disk: once


def _iana_zone(value: str) -> str:
    if value not in _zones():
        raise ValueError("not an IANA time zone, e.g. America/New_York")
    return value


Zone = Annotated[str, Field(max_length=64), AfterValidator(_iana_zone)]
TimeZone = Annotated[Zone | None, Field(
    default=None, examples=["America/New_York"],
    description="IANA zone in which the story's relative days (\"Friday\", \"yesterday\") "
                "are read; defaults to the zone of the court or place the story names")]


def _date_time_text(value):
    """A date-time as the schema says: an ISO 8601 string (a number would be read as seconds
    or milliseconds since 1970, a guess)."""
    if not isinstance(value, str | datetime):
        raise ValueError("must be an ISO 8601 date-time string, e.g. 2017-05-04T20:00:00Z")
    return value


class ForwardedArticle(BaseModel):
    id: str = Field(min_length=1, max_length=64)
    outlet: str = Field(min_length=1, max_length=200)
    url: str = Field(min_length=1, max_length=2000)
    title: str = Field(min_length=1, max_length=500)
    published_at: Annotated[AwareDatetime, BeforeValidator(_date_time_text)]
    body: str = Field(min_length=1, max_length=1_000_000)
    revision_of: str | None = None
    accepted_at: Annotated[AwareDatetime | None, BeforeValidator(_date_time_text)] = Field(
        default=None, description="When ingest accepted the article (kept in the metadata of "
        "its events: the start of the alert latency)")
    traceparent: str | None = Field(default=None, pattern=TRACEPARENT, description=(
        "The W3C trace context the article was accepted in, continued by its analysis"))


MAX_FORWARDED_BATCH = 500


class ForwardedBatch(BaseModel):
    articles: list[ForwardedArticle] = Field(min_length=1, max_length=MAX_FORWARDED_BATCH,
                                             description="in the order they were accepted")


class ShardBatch(BaseModel):
    slugs: list[str] = Field(min_length=1, max_length=10_000, description=(
        "the stories to attach the articles to, all of shards this instance holds"))
    articles: list[ForwardedArticle] = Field(min_length=1, max_length=MAX_FORWARDED_BATCH,
                                             description="in the order they were accepted")


class OutcomePublic(BaseModel):
    route_score: float
    on_story: bool
    developments: int = Field(description="developments the article brought the story")


class ShardBatchPublic(BaseModel):
    stories: dict[str, list[OutcomePublic | None] | None] = Field(description=(
        "per story, one outcome per article in order (null: not analyzed against it, the "
        "routing index ruled it out); null for a story that is not active"))


class AttachedPublic(BaseModel):
    article_id: str
    stories: list[str]
    unrouted: bool
    developments: int


class AttachedBatchPublic(BaseModel):
    results: list[AttachedPublic] = Field(description="one per article, in the same order")


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


class StoryEventsPublic(BaseModel):
    events: list[EventPublic]
    next_from_version: int = Field(description="Pass as `from_version` to read on")
    version: int = Field(description="The story's current version")


# a title or name must say something: not blank, not only invisible characters
TEXT = r"[^\s\u200b-\u200f\u2060\ufeff]"
Term = Annotated[str, Field(min_length=1, max_length=200, pattern=TEXT)]
# the names an article may call the story's people, companies, courts and agencies by; a
# definition may also group them by kind, with aliases (`entity_names` makes one list of them)
Entities = Annotated[list[Term], BeforeValidator(entity_names),
                     Field(max_length=50, description="names and aliases; or an object grouping "
                           "them by kind, e.g. {\"people\": [...], \"aliases\": {\"Joaquin "
                           "Guzman\": [\"El Chapo\"]}}, read as one list")]


class StoryCreate(BaseModel):
    model_config = {"extra": "forbid", "json_schema_extra": {"examples": [{
        "title": "Guzman detention conditions",
        "description": "The court fight over his solitary confinement in a Manhattan jail.",
        "entities": ["Joaquin Guzman", "El Chapo", "Brian Cogan"],
        "keywords": ["solitary confinement", "jail", "conditions"],
    }]}}

    slug: str | None = Field(default=None, pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=100,
                             description="defaults to the title, slugified")
    title: Term
    description: str = Field(default="", max_length=2000)
    entities: Entities = Field(default_factory=list)
    keywords: list[Term] = Field(default_factory=list, max_length=50)
    time_zone: TimeZone = None


class StoryUpdate(BaseModel):
    """A partial change: a field left out stays as it is; only `time_zone` may be set to null
    (back to the zone of the place the story names). A null title, description, list or
    status would leave a story no article could be analysed against, so it is refused."""
    model_config = {"extra": "forbid",
                    "json_schema_extra": {"examples": [{"keywords": ["solitary", "hearing"]}]}}

    title: Term | None = None
    description: str | None = Field(default=None, max_length=2000)
    entities: Entities | None = None
    keywords: list[Term] | None = Field(default=None, max_length=50)
    time_zone: TimeZone = None
    status: Literal["active", "archived"] | None = None

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data):
        if isinstance(data, dict):
            nulls = sorted(k for k, v in data.items() if v is None and k != "time_zone")
            if nulls:
                raise ValueError(f"{', '.join(nulls)} cannot be null; leave a field out to "
                                 "keep it")
        return data
