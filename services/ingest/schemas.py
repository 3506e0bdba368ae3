"""Request and response bodies of the ingest API."""

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, HttpUrl

from shared.text import clean_body


def _not_blank(value: str) -> str:
    value = " ".join(value.split())
    if not value:
        raise ValueError("must not be blank")
    return value


def _body(value: str) -> str:
    value = clean_body(value)
    if not value:
        raise ValueError("must not be blank")
    return value


Line = Annotated[str, AfterValidator(_not_blank)]


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
    url: HttpUrl
    title: Annotated[Line, Field(min_length=1, max_length=500)]
    published_at: AwareDatetime
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
    status: str
    stories: list[str]
    unrouted: bool
    received_at: datetime
    forwarded_at: datetime | None
    revision_of: str | None
