"""The story service's handlers: route an article to stories, analyze it, append the events;
serve views of a story at any version."""

import copy
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from itertools import islice
from typing import TypeVar

import orjson

from services.story import events as ev
from services.story.analysis import Analysis, Article, StoryIndex, analyze
from services.story.projection import StoryState, StoryView, definition_from, news_view
from services.story.shards import Lease, NotHeld, Outcome, outcome_of, shard_of
from services.story.store import SNAPSHOTTER, Snapshots, checkpoints
from shared import metrics, tracing
from shared.db import utcnow
from shared.eventstore import (
    ANY,
    NO_STREAM,
    ConcurrencyError,
    DuplicateEventError,
    EventStore,
    NewEvent,
    RecordedEvent,
)
from shared.logs import bound

log = logging.getLogger("storywire.story")
T = TypeVar("T")

MAX_CONFLICT_RETRIES = 5
SNAPSHOT_EVERY = 500
SLUGS_MAX_AGE = 2.0
READ_PAGE = 2000


@dataclass(frozen=True)
class AttachResult:
    article_id: str
    stories: list[str]
    unrouted: bool
    developments: int

    def to_dict(self) -> dict:
        return {"article_id": self.article_id, "stories": self.stories,
                "unrouted": self.unrouted, "developments": self.developments}


def log_recorded(slug: str, events: list[NewEvent]) -> None:
    """A line for each article attached to the story and each development it detected, with
    their ids."""
    for event in events:
        ids = {"article_id": event.metadata.get("article_id"), "story": slug,
               "event_id": event.event_id}
        if event.type == ev.ARTICLE_ATTACHED:
            with bound(**ids):
                log.info("article attached to story")
        elif event.type == ev.DEVELOPMENT_DETECTED:
            development = event.data["development"]
            with bound(**ids, development_id=development["id"]):
                log.info("development detected: %s", development["type"])


def provisional(slug: str, version: int, event: NewEvent) -> RecordedEvent:
    """An event as it will be read back, for the writer to learn before the append commits:
    its data through JSON as the store keeps it (its position is not known yet, and nothing
    the writer keeps uses it)."""
    return RecordedEvent(position=0, stream_id=ev.story_stream(slug), version=version,
                         event_id=event.event_id, type=event.type,
                         schema_version=event.schema_version,
                         data=orjson.loads(orjson.dumps(event.data)),
                         metadata=event.metadata, recorded_at=utcnow())


def for_readers(store: EventStore, events: list[RecordedEvent]) -> list[RecordedEvent]:
    """Events as the API shows them: an ArticleAnalyzed with its sentences written out, as
    version 1 of it has them, whatever version stored it (the body they refer to is in the
    ArticleAttached before it, among `events` or read by its id)."""
    bodies: dict[str, str | None] = {}
    shown = []
    for event in events:
        if event.type == ev.ARTICLE_ATTACHED:
            bodies[event.data["article"]["id"]] = event.data["article"].get("body")
        elif event.type == ev.ARTICLE_ANALYZED:
            article_id = event.data["analysis"]["article_id"]
            if article_id not in bodies:
                attached = store.get_event(ev.attached_event_id(ev.slug_of(event.stream_id),
                                                                article_id))
                bodies[article_id] = attached.data["article"].get("body") if attached else None
            event = event._replace(data=ev.written_out(event.data, bodies[article_id]),
                                   schema_version=1)
        shown.append(event)
    return shown


def replay_view(view: StoryView, events: list[RecordedEvent]) -> StoryView:
    for event in events:
        view.apply(event)
    return view


class StoryService:
    """Keeps each story's view (and, for writing, its analysis knowledge) in memory, caught up
    from the event store before every use; views start from the newest snapshot."""

    def __init__(self, store: EventStore, snapshots: Snapshots | None = None, writers=None):
        self.store = store
        self.snapshots = snapshots or Snapshots(store.engine)
        self.writers = writers  # ShardedWriters, or None: this process writes every story
        self.shards = None  # ShardedStories when instances share the stories (STORY_SHARDS)
        self._states: dict[str, StoryState] = {}
        self._views: dict[str, StoryView] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._slugs: tuple[float, list[str]] | None = None
        self.index = StoryIndex()  # the active stories an article could route to
        self._indexed: dict[str, tuple[StoryState, int, int]] = {}  # state, version, articles
        self._index_lock = threading.Lock()

    def _lock(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def slugs(self, max_age: float = SLUGS_MAX_AGE) -> list[str]:
        """Every story's slug; re-read at most every `max_age` seconds (new stories are rare,
        and every article asks)."""
        now = time.monotonic()
        if self._slugs is None or now - self._slugs[0] > max_age:
            self._slugs = (now, [ev.slug_of(s) for s in self.store.stream_ids(ev.STORY_PREFIX)])
        return self._slugs[1]

    # -- reading -------------------------------------------------------------------------------

    def _events(self, slug: str, after_version: int, up_to: int | None = None):
        stream = ev.story_stream(slug)
        while True:
            page = self.store.read_stream(stream, after_version + 1, READ_PAGE)
            page = [e for e in page if up_to is None or e.version <= up_to]
            yield from page
            if len(page) < READ_PAGE:
                return
            after_version = page[-1].version

    def _from_snapshot(self, slug: str, at_most: int | None = None) -> StoryView:
        found = self.snapshots.latest(ev.story_stream(slug), at_most)
        return StoryView.from_dict(found[1]) if found else StoryView(slug)

    def read(self, slug: str, render: Callable[[StoryView], T], as_of: int | None = None
             ) -> T | None:
        """render(view) of the story as of a version (default: now), computed while the view
        cannot move; None if there is no such story."""
        lock = self._lock("view:" + slug)
        with lock:
            current = self._views.get(slug) or self._from_snapshot(slug)
            for event in self._events(slug, current.version):
                current.apply(event)
            self._views[slug] = current
            if current.version == 0:
                return None
            if as_of is None or as_of >= current.version:
                return render(current)
        past = self._from_snapshot(slug, as_of)
        return render(replay_view(past, list(self._events(slug, past.version, as_of))))

    def view(self, slug: str, as_of: int | None = None) -> StoryView | None:
        """A copy of the story's view, safe to keep."""
        return self.read(slug, lambda v: StoryView.from_dict(copy.deepcopy(v.to_dict())), as_of)

    def version_at(self, slug: str, when: datetime) -> int:
        return self.store.version_at(ev.story_stream(slug), when)

    def news_view(self, slug: str, news_date: date | datetime, version: int) -> StoryView:
        """The story at `version` as it stood in the news on `news_date` (see
        `projection.news_view`), replayed from its first event."""
        return news_view(slug, self._events(slug, 0, version), news_date)

    # -- writing -------------------------------------------------------------------------------

    def _caught_up(self, slug: str, read: bool = True) -> StoryState:
        """The story's writer state, with the events recorded since it was last used (unless
        `read` is false: the caller has just caught it up)."""
        state = self._states.get(slug)
        if state is None:
            state, read = StoryState(StoryView(slug)), True
            self._states[slug] = state
        if read:
            for event in self._events(slug, state.version):
                state.apply(event)
        return state

    def attach_article(self, article: Article, revision_of: str | None = None,
                       context: dict | None = None) -> AttachResult:
        """Route to every active story and attach where it belongs (see `attach_articles`)."""
        return self.attach_articles([(article, revision_of)],
                                    {article.id: context} if context else None)[0]

    def attach_articles(self, items: list[tuple[Article, str | None]],
                        context: dict[str, dict] | None = None) -> list[AttachResult]:
        """Route each (article, revision_of), in order, to every active story and attach it
        where it belongs: one append per story for the whole batch, one for the unrouted.
        `context` maps an article id to what its events carry in their metadata.

        Idempotent: an article id seen before appends nothing and answers as the first time.
        """
        slugs = self.slugs()
        per_story = self.shards.attach(slugs, items, context) if self.shards else \
            self.attach_here(slugs, items, context)
        results, unrouted = [], []
        for i, (article, _) in enumerate(items):
            attached, scores, developments = [], {}, 0
            for slug, outcomes in per_story.items():
                outcome = outcomes[i] if outcomes is not None else None
                if outcome is None:
                    continue
                scores[slug] = round(outcome.route_score, 4)
                if outcome.on_story:
                    attached.append(slug)
                    developments += outcome.developments
            if not attached:
                unrouted.append(ev.unrouted_event(article, scores))
                with bound(article_id=article.id):
                    log.info("article on no story")
            results.append(AttachResult(article.id, attached, not attached, developments))
        if unrouted:
            self._append_unrouted(unrouted)
        metrics.ARTICLES_UNROUTED.inc(len(unrouted))
        metrics.ARTICLES_ATTACHED.inc(len(results) - len(unrouted))
        return results

    def attach_here(self, slugs: list[str], items: list[tuple[Article, str | None]],
                    context: dict[str, dict] | None = None,
                    leases: dict[str, Lease] | None = None
                    ) -> dict[str, list[Outcome | None] | None]:
        """Attach the articles to these stories in this instance (its writer processes, or
        this process), each story's appends fenced by its lease in `leases` if given."""
        found = self.writers.attach(slugs, items, context, leases) if self.writers else \
            self.attach_to_stories(slugs, items, context, leases)
        return {slug: None if analyses is None else
                [None if a is None else outcome_of(a) for a in analyses]
                for slug, analyses in found.items()}

    def attach_owned(self, slugs: list[str], items: list[tuple[Article, str | None]],
                     context: dict[str, dict] | None = None
                     ) -> dict[str, list[Outcome | None] | None]:
        """Attach the articles to these stories, forwarded by another instance: only while
        this instance holds every one's shard (else NotHeld)."""
        if self.shards is None:
            raise NotHeld(set())
        leases = self.shards.leases
        held = leases.held()
        wanted = {slug: shard_of(slug, leases.shards) for slug in slugs}
        missing = {shard for shard in wanted.values() if shard not in held}
        if missing:
            raise NotHeld(missing)
        return self.attach_here(slugs, items, context,
                                {slug: held[shard] for slug, shard in wanted.items()})

    def snapshotting(self) -> bool:
        """Whether this instance snapshots: with shared stories, the holder of shard 0."""
        return self.shards is None or 0 in self.shards.leases.held()

    def attach_to_stories(self, slugs: list[str], items: list[tuple[Article, str | None]],
                          context: dict[str, dict] | None = None,
                          leases: dict[str, Lease] | None = None
                          ) -> dict[str, list[Analysis] | None]:
        """`attach_to_story_batch` for each story that could take one of the articles (see
        `StoryIndex`), their states caught up in one read; None for the others."""
        self._catch_up(slugs)
        for slug in slugs:
            if slug not in self._states:
                with self._lock(slug):
                    self._index_story(self._caught_up(slug))
            else:
                self._index_story(self._states[slug])
        with self._index_lock:
            wanted = set().union(*(self.index.candidates(article) for article, _ in items))
        return {slug: self.attach_to_story_batch(slug, items, read=False, pruned=True,
                                                 context=context,
                                                 lease=leases.get(slug) if leases else None)
                if slug in wanted else None for slug in slugs}

    def _index_story(self, state: StoryState) -> None:
        """Bring the routing index up to the story's state: its definition while active, and
        the content hashes of the articles it holds."""
        with self._index_lock:
            self._index_story_locked(state)

    def _index_story_locked(self, state: StoryState) -> None:
        slug = state.view.slug
        indexed, version, held = self._indexed.get(slug, (None, -1, 0))
        if indexed is state and version == state.version:
            return
        if indexed is not state:  # a state rebuilt from the store: index it afresh
            self.index.remove(slug)
            held = 0
        if state.status != "active" or state.definition is None:
            self.index.remove(slug)
            held = 0
        else:
            self.index.put(state.definition)
            added = list(islice(state.analyses.values(), held, None))
            self.index.add_articles(slug, [a.content_hash for a in added],
                                    [v.text for a in added for v in a.sentences])
            held = len(state.analyses)
        self._indexed[slug] = (state, state.version, held)

    def _catch_up(self, slugs: list[str]) -> None:
        """Apply what other writers recorded to the states in memory, with one read for all."""
        states = {ev.story_stream(s): (s, self._states[s]) for s in slugs if s in self._states}
        recorded = self.store.read_streams({stream: state.version
                                            for stream, (_, state) in states.items()})
        for stream, new in recorded.items():
            slug, state = states[stream]
            with self._lock(slug):
                for event in new:
                    if event.version == state.version + 1:  # not applied meanwhile
                        state.apply(event)

    def _append(self, stream_id: str, events: list[NewEvent], expected=ANY,
                lease: Lease | None = None) -> None:
        """Append and count what was appended. Under a lease, the append is fenced by it and
        each event's metadata says which instance wrote it under which lease."""
        if lease is None:
            self.store.append(stream_id, events, expected)
        else:
            writer = {"instance": lease.holder, "shard": lease.shard, "lease": lease.epoch}
            self.store.append(stream_id, [
                dataclasses.replace(e, metadata={**e.metadata, "writer": writer})
                for e in events], expected, fence=(lease.shard, lease.epoch))
        for event in events:
            metrics.EVENTS_APPENDED.labels(event.type).inc()

    def _append_unrouted(self, events: list) -> None:
        try:
            self._append(ev.UNROUTED_STREAM, events)
        except DuplicateEventError:  # a retried batch that has grown: record each once
            for event in events:
                self._append(ev.UNROUTED_STREAM, [event])

    def attach_to_story(self, slug: str, article: Article, revision_of: str | None = None
                        ) -> Analysis | None:
        """Analyze the article against one story and append what it changes.

        Returns the analysis (the recorded one if the article is already attached), an
        off-story analysis if it does not belong, or None if the story is not active.
        """
        found = self.attach_to_story_batch(slug, [(article, revision_of)])
        return found[0] if found is not None else None

    def attach_to_story_batch(self, slug: str, items: list[tuple[Article, str | None]],
                              read: bool = True, pruned: bool = False,
                              context: dict[str, dict] | None = None,
                              lease: Lease | None = None
                              ) -> list[Analysis | None] | None:
        """Analyze each article in order against one story, each knowing the ones before it,
        and append all they change in one append. An analysis per item (the recorded one for
        an article attached before); None if the story is not active.

        The writer's state learns each article before the append commits, so that the next one
        in the batch knows it; if the append fails, that state is dropped and rebuilt. With
        `read` false, the state was just caught up by the caller. With `pruned`, an article the
        routing index says the story cannot take is not analyzed (None in its place). With a
        `lease`, the append is fenced by it (see `_append`).
        """
        traces = [(context or {}).get(a.id, {}).get("traceparent") for a, _ in items]
        with self._lock(slug), tracing.span("story.attach", parent=traces[0] if traces else None,
                                            links=tuple(traces[1:]), story=slug):
            for _ in range(MAX_CONFLICT_RETRIES):
                state = self._caught_up(slug, read)
                read = True  # a retry reads what moved the stream on
                if state.status != "active" or state.definition is None:
                    return None
                start = state.version
                try:
                    analyses, new_events = self._analyze_batch(
                        state, items, context or {}, self.index if pruned else None)
                    if new_events:
                        self._append(ev.story_stream(slug), new_events, start, lease)
                        log_recorded(slug, new_events)
                except ConcurrencyError:
                    self._states.pop(slug, None)
                    log.info("story %s moved on while analysing a batch; retrying", slug)
                    continue
                except BaseException:
                    self._states.pop(slug, None)
                    raise
                self._index_story(state)
                return analyses
        raise ConcurrencyError(ev.story_stream(slug), "exact", -1)

    @staticmethod
    def _analyze_batch(state: StoryState, items: list[tuple[Article, str | None]],
                       context: dict[str, dict], index: StoryIndex | None = None
                       ) -> tuple[list[Analysis | None], list[NewEvent]]:
        analyses, new_events = [], []
        for article, revision_of in items:
            if article.id in state.analyses:
                analyses.append(state.analyses[article.id])
                continue
            if index is not None and not index.may_take(
                    state.view.slug, article, bool(state.analyses),
                    state.knowledge.article_with_hash(article.content_hash) is not None):
                analyses.append(None)
                continue
            trace = context.get(article.id, {}).get("traceparent")
            with metrics.ANALYSIS_SECONDS.time(), tracing.span("story.analyze", parent=trace):
                analysis = analyze(state.knowledge, article)
            analyses.append(analysis)
            if not analysis.on_story:
                continue
            events = ev.article_events(state.definition, article, analysis,
                                       correlation_id=article.id, revision_of=revision_of,
                                       context=context.get(article.id))
            for event in events:
                state.apply(provisional(state.view.slug, state.version + 1, event))
            new_events.extend(events)
        return analyses, new_events

    def define_story(self, definition: dict, expected_version: int | str | None = None) -> bool:
        """Start tracking a story, or record a changed definition as a new event.

        Returns False when nothing changed.
        """
        slug = definition["slug"]
        with self._lock(slug):
            state = self._caught_up(slug)
            status = definition.get("status") or (state.status if state.version else "active")
            if state.version and definition_from(definition) == state.definition and \
                    status == state.status:
                return False
            event = ev.story_defined({**definition, "status": status}, state.version)
            expected = NO_STREAM if state.version == 0 else state.version
            if expected_version is not None:
                expected = expected_version
            self._append(ev.story_stream(slug), [event], expected)
            self._slugs = None
            return True

    def archive_story(self, slug: str) -> None:
        with self._lock(slug):
            state = self._caught_up(slug)
            if state.status == "archived":
                return
            self._append(ev.story_stream(slug), [ev.story_archived(slug, state.version)],
                         state.version)

    # -- snapshots -----------------------------------------------------------------------------

    def snapshot_due(self, batch: int = 500) -> int:
        """Follow the global feed from the snapshotter's checkpoint; snapshot every story that
        has moved SNAPSHOT_EVERY versions past its newest snapshot. Returns events consumed."""
        with self.store.engine.connect() as conn:
            after = checkpoints.get(conn, SNAPSHOTTER)
        page = self.store.read_all(after, batch)
        metrics.FEED_LAG.labels(SNAPSHOTTER).set(
            self.store.head_position() - (page[-1].position if page else after))
        if not page:
            return 0
        touched = {ev.slug_of(e.stream_id) for e in page
                   if e.stream_id.startswith(ev.STORY_PREFIX)}
        due = []
        for slug in sorted(touched):
            since = self.snapshots.latest_version(ev.story_stream(slug))
            snapshot = self.read(slug, lambda v, since=since: (
                (v.version, copy.deepcopy(v.to_dict()))
                if v.version - since >= SNAPSHOT_EVERY else None))
            if snapshot:
                due.append((ev.story_stream(slug), *snapshot))
        with self.store.engine.begin() as conn:
            for stream_id, version, data in due:
                self.snapshots.save(conn, stream_id, version, data)
            checkpoints.advance(conn, SNAPSHOTTER, page[-1].position)
        return len(page)
