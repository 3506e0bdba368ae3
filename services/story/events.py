"""The story service's events: past-tense names, versioned data, deterministic ids.

Pure: builds `NewEvent`s from an analysis; the service appends them.
"""

from dataclasses import asdict

from services.story.analysis import Analysis, Article, StoryDefinition
from shared.eventstore import NewEvent, deterministic_id

STORY_DEFINED = "StoryDefined"
ARTICLE_ATTACHED = "ArticleAttached"
ARTICLE_ANALYZED = "ArticleAnalyzed"
DEVELOPMENT_DETECTED = "DevelopmentDetected"
DEVELOPMENT_CORROBORATED = "DevelopmentCorroborated"
MATTER_STATUS_CHANGED = "MatterStatusChanged"
CONFLICT_FLAGGED = "ConflictFlagged"
ARTICLE_UNROUTED = "ArticleUnrouted"
STORY_ARCHIVED = "StoryArchived"

STORY_PREFIX = "story:"
UNROUTED_STREAM = "unrouted"


def story_stream(slug: str) -> str:
    return STORY_PREFIX + slug


def slug_of(stream_id: str) -> str:
    return stream_id.removeprefix(STORY_PREFIX)


def attached_event_id(slug: str, article_id: str) -> str:
    return deterministic_id("story", slug, "article", article_id, "attached")


def article_ref(article: Article) -> dict:
    return {"id": article.id, "outlet": article.outlet, "url": article.url,
            "title": article.title, "published_at": article.published_at.isoformat()}


def article_events(story: StoryDefinition, article: Article, analysis: Analysis,
                   correlation_id: str, revision_of: str | None = None,
                   context: dict | None = None) -> list[NewEvent]:
    """Everything one article changes about one story, as the events to append. A revision
    (the same URL with changed text) names the version it revises; its analysis against the
    story, which knows that version, says what the revision changed. `context` goes into
    every event's metadata (when ingest accepted the article)."""
    slug = story.slug
    meta = {**(context or {}), "correlation_id": correlation_id, "article_id": article.id}

    def event(type_: str, key: str, data: dict) -> NewEvent:
        event_id = deterministic_id("story", slug, "article", article.id, key)
        return NewEvent(type=type_, data=data, event_id=event_id, metadata=meta)

    ref = article_ref(article)
    events = [
        NewEvent(type=ARTICLE_ATTACHED, event_id=attached_event_id(slug, article.id),
                 metadata=meta,
                 data={"story": slug, "article": article.to_dict(),
                       "route_score": analysis.route_score, "revision_of": revision_of}),
        event(ARTICLE_ANALYZED, "analyzed", {"story": slug, "analysis": analysis.to_dict()}),
    ]
    for dev in analysis.developments:
        events.append(event(DEVELOPMENT_DETECTED, f"development/{dev.id}",
                            {"story": slug, "story_title": story.title,
                             "development": dev.to_dict(), "article": ref}))
    for corroboration in analysis.corroborations:
        events.append(event(DEVELOPMENT_CORROBORATED,
                            f"corroboration/{corroboration.development_id}",
                            {"story": slug, **_as_dict(corroboration), "article": ref}))
    for i, change in enumerate(analysis.matter_changes):  # one article can move a matter twice
        events.append(event(MATTER_STATUS_CHANGED,
                            f"matter/{i}/{change.matter_id}/{change.to_status}",
                            {"story": slug, **_as_dict(change), "article": ref}))
    for i, conflict in enumerate(analysis.conflicts):
        events.append(event(CONFLICT_FLAGGED, f"conflict/{i}",
                            {"story": slug, **_as_dict(conflict), "article": ref}))
    return events


def story_defined(definition: dict, after_version: int = 0) -> NewEvent:
    data = {"status": "active", "description": "", "entities": [], "keywords": [],
            **definition}
    event_id = deterministic_id("story", definition["slug"], "defined", str(after_version))
    return NewEvent(type=STORY_DEFINED, data=data, event_id=event_id)


def story_archived(slug: str, after_version: int) -> NewEvent:
    return NewEvent(type=STORY_ARCHIVED, data={"story": slug},
                    event_id=deterministic_id("story", slug, "archived", str(after_version)))


def unrouted_event(article: Article, scores: dict[str, float]) -> NewEvent:
    return NewEvent(type=ARTICLE_UNROUTED,
                    event_id=deterministic_id("unrouted", article.id),
                    data={"article": article_ref(article), "scores": scores},
                    metadata={"article_id": article.id})


def _as_dict(value) -> dict:
    return value.to_dict() if hasattr(value, "to_dict") else asdict(value)
