"""The story service's events: past-tense names, versioned data, deterministic ids.

Pure: builds `NewEvent`s from an analysis; the service appends them.
"""

from dataclasses import asdict, replace

from services.story.analysis import Analysis, Article, StoryDefinition
from shared.eventstore import NewEvent, deterministic_id, register_upcaster

STORY_DEFINED = "StoryDefined"
ARTICLE_ATTACHED = "ArticleAttached"
ARTICLE_ANALYZED = "ArticleAnalyzed"
DEVELOPMENT_DETECTED = "DevelopmentDetected"
DEVELOPMENT_CORROBORATED = "DevelopmentCorroborated"
MATTER_STATUS_CHANGED = "MatterStatusChanged"
CONFLICT_FLAGGED = "ConflictFlagged"
ARTICLE_UNROUTED = "ArticleUnrouted"
STORY_ARCHIVED = "StoryArchived"

# ArticleAnalyzed 2: the analysis's sentences as references into the article's body, which
# the ArticleAttached before it holds (see `sentence_refs`); 1 repeated every sentence's text.
ARTICLE_ANALYZED_SCHEMA = 2

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
    analyzed = analysis.to_dict()
    analyzed["sentences"] = sentence_refs(analyzed["sentences"], article.body)
    events = [
        NewEvent(type=ARTICLE_ATTACHED, event_id=attached_event_id(slug, article.id),
                 metadata=meta,
                 data={"story": slug, "article": article.to_dict(),
                       "route_score": analysis.route_score, "revision_of": revision_of}),
        replace(event(ARTICLE_ANALYZED, "analyzed", {"story": slug, "analysis": analyzed}),
                schema_version=ARTICLE_ANALYZED_SCHEMA),
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


def sentence_refs(sentences: list[dict], body: str | None) -> dict:
    """An analysis's sentences (`SentenceVerdict.to_dict`, in order) as version 2 keeps them:
    `spans`, per sentence, its [start, end] in the article's body, or null when it is no
    span of it or there is no body (then `texts` holds it); `known`, the indexes of the known
    sentences; `matches` and `new_names`, [index, value] of the sentences that have one."""
    spans, texts, known, matches, names = [], [], [], [], []
    at = 0
    for i, sentence in enumerate(sentences):
        text = sentence["text"]
        start = -1 if body is None or not text else body.find(text, at)
        if start < 0 and body and text:
            start = body.find(text)
        if start >= 0:
            at = start + len(text)
            spans.append([start, at])
        else:
            spans.append(None)
            texts.append([i, text])
        if sentence["known"]:
            known.append(i)
        if sentence.get("match") is not None:
            matches.append([i, sentence["match"]])
        if sentence.get("new_names"):
            names.append([i, sentence["new_names"]])
    return {"spans": spans, "texts": texts, "known": known, "matches": matches,
            "new_names": names}


def sentences_of(refs: dict, body: str | None) -> list[dict]:
    """The sentences `sentence_refs` keeps, written out again (`SentenceVerdict.to_dict`)."""
    texts, matches, names = dict(refs["texts"]), dict(refs["matches"]), dict(refs["new_names"])
    known = set(refs["known"])
    return [{"text": texts[i] if span is None else body[span[0]:span[1]], "index": i,
             "known": i in known, "match": matches.get(i), "new_names": names.get(i, [])}
            for i, span in enumerate(refs["spans"])]


def written_out(data: dict, body: str | None) -> dict:
    """An ArticleAnalyzed's data (version 2) with its sentences written out, as version 1
    had them: what readers of the analysis get."""
    analysis = dict(data["analysis"])
    analysis["sentences"] = sentences_of(analysis["sentences"], body)
    return {**data, "analysis": analysis}


def _analyzed_1_to_2(data: dict) -> dict:
    """Version 1 kept each sentence's text: version 2 has room for texts that are no span."""
    analysis = dict(data["analysis"])
    sentences = analysis.get("sentences") or []
    if any(s["index"] != i for i, s in enumerate(sentences)):
        raise ValueError(f"ArticleAnalyzed 1 of {analysis.get('article_id')!r}: sentences "
                         "out of order")
    analysis["sentences"] = sentence_refs(sentences, None)
    return {**data, "analysis": analysis}


register_upcaster(ARTICLE_ANALYZED, 1, _analyzed_1_to_2)


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
