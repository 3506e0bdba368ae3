"""The story service's handlers: route an article to stories, analyze it, append the events."""

import logging
import threading
from dataclasses import dataclass

from services.story import events as ev
from services.story.analysis import Article, analyze, route
from services.story.projection import StoryState
from shared.eventstore import ConcurrencyError, EventStore

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
        """Idempotent: the same article id twice appends one set of events."""
        attached, scores, developments = [], {}, 0
        for slug in self.slugs():
            with self._lock(slug):
                outcome = self._attach_to(slug, article)
            if outcome is None:
                continue
            on_story, score, new = outcome
            scores[slug] = round(score, 4)
            if on_story:
                attached.append(slug)
                developments += new
        if not attached:
            self.store.append(ev.UNROUTED_STREAM, [ev.unrouted_event(article, scores)])
        return AttachResult(article.id, attached, not attached, developments)

    def _attach_to(self, slug: str, article: Article) -> tuple[bool, float, int] | None:
        for _ in range(MAX_CONFLICT_RETRIES):
            state = self._caught_up(slug)
            if state.status != "active" or state.definition is None:
                return None
            if article.id in state.articles:
                return True, 1.0, 0
            decision = route(state.definition, article)
            if not decision.on_story:
                return False, decision.score, 0
            analysis = analyze(state.knowledge, article)
            new_events = ev.article_events(state.definition, article, analysis,
                                           correlation_id=article.id)
            try:
                self.store.append(ev.story_stream(slug), new_events, state.version)
            except ConcurrencyError:
                log.info("story %s moved on while analysing %s; retrying", slug, article.id)
                continue
            return True, decision.score, len(analysis.developments)
        raise ConcurrencyError(ev.story_stream(slug), "exact", -1)
