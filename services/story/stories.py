"""Reading and changing one story, as the story API and the desk both do it: the same checks,
the same service calls, the same events."""

import contextlib
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import TypeVar

from services.story.offline import slugify
from services.story.projection import StoryView
from services.story.schemas import StoryCreate, StoryUpdate
from services.story.service import StoryService
from shared.problems import Problem

T = TypeVar("T")


def is_version(value: str) -> bool:
    return value.isascii() and value.isdigit()


def aware_time(value: str, name: str, expected: str) -> datetime:
    """An ISO 8601 time with its offset, or a 400 problem `bad-<name>`."""
    type_ = "bad-" + name.replace("_", "-")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise Problem(400, type_, f"{name} must be {expected}", value) from exc
    if when.tzinfo is None:
        raise Problem(400, type_, f"{name} needs a time zone", value)
    try:
        return when.astimezone(UTC)
    except OverflowError as exc:
        raise Problem(400, type_, f"{name} is out of range", value) from exc


def news_date(as_of: str | None) -> date | datetime | None:
    """The news date an `as_of` names (None for none, or for a story version)."""
    if as_of is None or is_version(as_of):
        return None
    with contextlib.suppress(ValueError):
        return date.fromisoformat(as_of)
    return aware_time(as_of, "as_of", "a date, an ISO 8601 time or a story version")


def render(service: StoryService, slug: str, fn: Callable[[StoryView], T],
           as_of: int | None = None) -> T:
    """fn(view) of the story at a version (default: now), or a 404 problem."""
    result = service.read(slug, fn, as_of)
    if result is None:
        raise Problem(404, "story-not-found", "No such story", slug)
    return result


def known_version(service: StoryService, slug: str, as_of: str | None,
                  known_at: str | None) -> int | None:
    """The story version a read asks for: `known_at` (a version or a recorded time), or the
    version `as_of` names; None for the newest."""
    if as_of is not None and is_version(as_of):
        if known_at is not None:
            raise Problem(400, "bad-known-at", "A story version is given twice (as_of "
                          "and known_at)", known_at)
        known_at = as_of
    if known_at is None:
        return None
    if is_version(known_at):
        return int(known_at)
    when = aware_time(known_at, "known_at", "an ISO 8601 time or a story version")
    version = service.version_at(slug, when)
    if version == 0:
        raise Problem(404, "story-not-found", "The story did not exist then", known_at)
    return version


def read_as(service: StoryService, slug: str, fn: Callable[[StoryView], T],
            as_of: str | None = None, known_at: str | None = None) -> T:
    """fn(view) of the story as `as_of` (the news date) and `known_at` ask."""
    known = known_version(service, slug, as_of, known_at)
    news = news_date(as_of)
    if news is None:
        return render(service, slug, fn, known)
    head = render(service, slug, lambda view: view.version)
    head = head if known is None else min(known, head)
    return fn(service.news_view(slug, news, head))


def create_story(service: StoryService, body: StoryCreate) -> dict:
    """Start tracking a story (a 409 problem if its slug is taken); its summary."""
    definition = {"slug": body.slug or slugify(body.title), "title": body.title,
                  "description": body.description, "entities": body.entities,
                  "keywords": body.keywords}
    if body.time_zone:
        definition["time_zone"] = body.time_zone
    if service.read(definition["slug"], lambda v: v.version):
        raise Problem(409, "story-exists", "A story with this slug exists", definition["slug"])
    service.define_story(definition, expected_version="no_stream")
    return render(service, definition["slug"], lambda v: v.summary())


def update_story(service: StoryService, slug: str, body: StoryUpdate) -> dict:
    """Record a changed definition (and an archiving) as events; the story's summary."""
    current = render(service, slug, lambda v: dict(v.definition, status=v.status))
    changes = body.model_dump(exclude_unset=True)
    if changes.get("status") == "archived":
        service.archive_story(slug)
        changes.pop("status")
    service.define_story({**current, **changes, "slug": slug})
    return render(service, slug, lambda v: v.summary())


def archive_story(service: StoryService, slug: str) -> dict:
    render(service, slug, lambda v: v.version)
    service.archive_story(slug)
    return render(service, slug, lambda v: v.summary())
