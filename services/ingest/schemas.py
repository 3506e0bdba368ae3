"""Request and response bodies of the ingest API."""

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    HttpUrl,
)

from services.ingest.normalize import clean_text, has_control_characters
from shared.text import clean_body


def _no_controls(value: str) -> str:
    if has_control_characters(value):
        raise ValueError("must not contain control characters")
    return value


def _not_blank(value: str) -> str:
    """One line of plain text (markup and invisible characters removed), not blank."""
    value = " ".join(clean_text(_no_controls(value)).split())
    if not value:
        raise ValueError("must not be blank")
    return value


def _body(value: str) -> str:
    """Plain text; HTML (a CMS's rendered body) becomes its visible text, paragraph by
    paragraph, without scripts or styles; invisible characters are removed."""
    value = clean_body(clean_text(_no_controls(value)))
    if not value:
        raise ValueError("must not be blank")
    return value


Line = Annotated[str, AfterValidator(_not_blank)]

EARLIEST = datetime(1990, 1, 1, tzinfo=UTC)
AHEAD = timedelta(days=2)        # a clock a little fast, or a story set to go live


def _iso_moment(value):
    """An ISO 8601 date-time with its offset, that is a real instant: not a number (seconds or
    milliseconds are a guess), not one that overflows when read in UTC."""
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError as exc:
            raise ValueError("must be an ISO 8601 date-time, e.g. 2017-05-04T20:00:00Z") from exc
    else:
        raise ValueError("must be an ISO 8601 date-time string, e.g. 2017-05-04T20:00:00Z")
    if moment.tzinfo is None:
        raise ValueError("must carry its offset, e.g. Z or +01:00")
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError) as exc:
        raise ValueError("is not a representable instant") from exc


def _plausible(moment: datetime) -> datetime:
    if not EARLIEST <= moment <= datetime.now(UTC) + AHEAD:
        raise ValueError("must lie between 1990 and two days from now")
    return moment


PublishedAt = Annotated[AwareDatetime, BeforeValidator(_iso_moment), AfterValidator(_plausible)]


class ArticleCreate(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [{
                "outlet": "Brooklyn Courier",
                "url": "https://example.org/2017/05/ruling",
                "title": "Judge keeps defendant in solitary",
                "published_at": "2017-05-04T20:00:00Z",
                "body": "A federal judge on Thursday declined ...\n\nThe court will hold ...",
            }]
        }
    )

    outlet: Annotated[Line, Field(min_length=1, max_length=200)]
    url: Annotated[HttpUrl, Field(max_length=2000)]
    title: Annotated[Line, Field(min_length=1, max_length=500)]
    published_at: PublishedAt
    body: Annotated[str, AfterValidator(_body), Field(min_length=1, max_length=1_000_000)]


class ArticleAccepted(BaseModel):
    id: str
    status: str
    status_url: str
    duplicate: bool = False
    revision_of: str | None = None


class ArticleStatus(BaseModel):
    id: str
    url: str
    status: str = Field(description="accepted (waiting to be forwarded) | attached (to "
                        "`stories`) | unrouted | failed (the story service kept refusing it; "
                        "parked until redriven)")
    stories: list[str]
    unrouted: bool
    received_at: datetime
    forwarded_at: datetime | None
    forward_attempts: int = Field(0, description="failed forwards so far")
    last_error: str | None = Field(None, description="why the last forward failed, while the "
                                   "article waits or is failed")
    failed_at: datetime | None = None
    revision_of: str | None


class ArticlesPublic(BaseModel):
    articles: list[ArticleStatus]


class ArticlesBatch(BaseModel):
    articles: list[dict] = Field(min_length=1, max_length=100)


class IntegrationCreate(BaseModel):
    name: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]{0,99}$")]
    signing: Literal["standard", "github"] = "standard"
    secret: Annotated[str | None, Field(min_length=16, max_length=200)] = Field(
        default=None, description="the CMS's own secret; one is made when left out")
    mapping: dict[Literal["outlet", "url", "title", "published_at", "body"], str] = Field(
        default_factory=dict, description='dotted paths, e.g. {"title": "post.headline"}')
    outlet: Annotated[str | None, Field(max_length=200)] = None


class IntegrationPublic(BaseModel):
    name: str
    signing: str
    mapping: dict[str, str]
    outlet: str | None
    webhook_url: str
    created_at: datetime


class IntegrationCreated(IntegrationPublic):
    secret: str = Field(description="shown once")


class FeedCreate(BaseModel):
    url: Annotated[HttpUrl, Field(max_length=2000)]
    outlet: Annotated[Line, Field(min_length=1, max_length=200)]
    interval_seconds: Annotated[int, Field(ge=60, le=86_400)] = 300


class FeedPublic(BaseModel):
    id: str
    url: str
    outlet: str
    interval_seconds: int
    status: str = Field(description="pending | ok | failing | gone")
    failures: int
    last_error: str | None
    last_polled_at: datetime | None
    last_success_at: datetime | None
    next_poll_at: datetime
    articles: int
