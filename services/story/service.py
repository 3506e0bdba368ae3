"""The story service's handlers: route an article to stories, analyze it, append the events."""

import logging
import threading
from dataclasses import dataclass

from services.story import events as ev
from services.story.analysis import Analysis, Article, analyze
from services.story.projection import StoryState, definition_from
from shared.eventstore import NO_STREAM, ConcurrencyError, EventStore

log = logging.getLogger("storywire.story")

MAX_CONFLICT_RETRIES = 5


@dataclass(frozen=True)
class AttachResult:
    article_id: str
    stories: list[str]
    unrouted: bool
    developments: int

    def to_dict(self) -> dict:
        return {"article_id": self.article_id, "stories": self.stories,
                "unrouted": self.unrouted, "developments": self.developments}


class StoryService:
    """Keeps each story's state in memory, caught up from the event store before every use."""

    def __init__(self, store: EventStore):
        self.store = store
        self._states: dict[str, StoryState] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, slug: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(slug, threading.Lock())

    def slugs(self) -> list[str]:
        return [ev.slug_of(s) for s in self.store.stream_ids(ev.STORY_PREFIX)]

    def state(self, slug: str) -> StoryState | None:
        with self._lock(slug):
            state = self._caught_up(slug)
        return state if state.version else None

    def _caught_up(self, slug: str) -> StoryState:
        state = self._states.get(slug)
        if state is None:
            state = self._states[slug] = StoryState(slug)
        for event in self.store.read_stream(ev.story_stream(slug), state.version + 1):
            state.apply(event)
        return state

    def attach_article(self, article: Article) -> AttachResult:
        """Route to every active story and attach where it belongs.

        Idempotent: the same article id twice appends one set of events.
        """
        attached, scores, developments = [], {}, 0
        for slug in self.slugs():
            analysis = self.attach_to_story(slug, article)
            if analysis is None:
                continue
            scores[slug] = round(analysis.route_score, 4)
            if analysis.on_story:
                attached.append(slug)
                developments += len(analysis.developments)
        if not attached:
            self.store.append(ev.UNROUTED_STREAM, [ev.unrouted_event(article, scores)])
        return AttachResult(article.id, attached, not attached, developments)

    def attach_to_story(self, slug: str, article: Article) -> Analysis | None:
        """Analyze the article against one story and append what it changes.

        Returns the analysis (the recorded one if the article is already attached), an
        off-story analysis if it does not belong, or None if the story is not active.
        """
        with self._lock(slug):
            for _ in range(MAX_CONFLICT_RETRIES):
                state = self._caught_up(slug)
                if state.status != "active" or state.definition is None:
                    return None
                if article.id in state.analyses:
                    return state.analyses[article.id]
                analysis = analyze(state.knowledge, article)
                if not analysis.on_story:
                    return analysis
                new_events = ev.article_events(state.definition, article, analysis,
                                               correlation_id=article.id)
                try:
                    self.store.append(ev.story_stream(slug), new_events, state.version)
                except ConcurrencyError:
                    log.info("story %s moved on while analysing %s; retrying", slug, article.id)
                    continue
                return analysis
        raise ConcurrencyError(ev.story_stream(slug), "exact", -1)

    def define_story(self, definition: dict) -> None:
        """Start tracking a story, or record a changed definition as a new event."""
        slug = definition["slug"]
        with self._lock(slug):
            state = self._caught_up(slug)
            event = ev.story_defined(definition, state.version)
            if state.version == 0:
                self.store.append(ev.story_stream(slug), [event], NO_STREAM)
            elif definition_from(event.data) != state.definition:
                self.store.append(ev.story_stream(slug), [event], state.version)
