"""What one story knows: a projection of its earlier analyses, with indexes for fast lookups.

`learn` is the only mutator and it reads nothing but the article and its analysis, so replaying
the same analyses into a fresh `StoryKnowledge` rebuilds the same knowledge.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from rapidfuzz import fuzz

from .conflicts import Observation, disagree, observations
from .context import judges_named
from .index import ShingleIndex
from .matters import GENERIC_MATTERS
from .model import (
    Analysis,
    Article,
    Conflict,
    ConflictValue,
    Corroboration,
    Development,
    StoryDefinition,
)
from .names import name_tokens
from .text import STOPWORDS, comparable, words


@dataclass(frozen=True)
class ArticleRecord:
    id: str
    outlet: str
    url: str
    title: str
    published_at: datetime
    content_hash: str
    duplicate_of: str | None
    exact_repeat: bool
    aligned_fraction: float


@dataclass(frozen=True)
class Source:
    article_id: str
    outlet: str
    sentence_index: int


@dataclass(frozen=True)
class Fact:
    """A sentence the story has seen, with every article that reported it."""
    id: int
    text: str
    article_id: str
    sentence_index: int
    sources: tuple[Source, ...]

    @property
    def source_count(self) -> int:
        """Independent sources: distinct outlets that reported it."""
        return len({s.outlet or s.article_id for s in self.sources})


@dataclass(frozen=True)
class MatterStatus:
    status: str
    date: str | None
    development_id: str
    article_id: str


@dataclass(frozen=True)
class Matter:
    id: str
    title: str
    status: str | None
    history: tuple[MatterStatus, ...]


@dataclass(frozen=True)
class Alignment:
    """The closest earlier sentence to a sentence, and how much of the sentence it covers."""
    fact_id: int
    article_id: str
    sentence_index: int
    score: float
    coverage: float


class _FactEntry:
    __slots__ = ("id", "text", "key", "content", "article_id", "sentence_index", "sources",
                 "articles", "developments")

    def __init__(self, id_: int, text: str, key: str, content: frozenset[str], article_id: str,
                 sentence_index: int):
        self.id = id_
        self.text = text
        self.key = key
        self.content = content
        self.article_id = article_id
        self.sentence_index = sentence_index
        self.sources: list[Source] = []
        self.articles: list[str] = []       # the sources' article ids, each once, in order
        self.developments: list[str] = []


def content_words(tokens: list[str]) -> frozenset[str]:
    return frozenset(t for t in tokens if t not in STOPWORDS and len(t) > 1)


def similarity(a: str, b: str) -> float:
    """0..100: how nearly two comparable sentences say the same thing in the same words."""
    la, lb = len(a.split()), len(b.split())
    sort = fuzz.token_sort_ratio(a, b)
    if min(la, lb) < 6 or min(la, lb) / max(la, lb, 1) < 0.5:
        return round(sort, 2)
    return round(max(sort, fuzz.token_set_ratio(a, b)), 2)


def _near(a: str | None, b: str | None) -> bool:
    """Two development dates that can describe the same event."""
    if a is None or b is None or a == b:
        return True
    if len(a) == len(b) == 10:
        da, db = date.fromisoformat(a), date.fromisoformat(b)
        return abs((da - db).days) <= 3
    return a.startswith(b) or b.startswith(a)


# the kinds of decision one court's act can be told as, by the kind an article tells it as
_DECIDED_TOGETHER = {"ruling": ("ruling", "appeal"), "appeal": ("appeal", "ruling"),
                     "verdict": ("verdict",)}


class StoryKnowledge:
    """What one story knows: a projection of its earlier analyses, with indexes."""

    def __init__(self, story: StoryDefinition):
        self.story = story
        self._articles: dict[str, ArticleRecord] = {}
        self._order: dict[str, int] = {}
        self._by_hash: dict[str, str] = {}
        self._facts: list[_FactEntry] = []
        self._fact_at: dict[tuple[str, int], int] = {}
        self._index = ShingleIndex()
        self._names: set[str] = set()
        for entity in story.entities:
            self._names |= name_tokens(entity)
        self._developments: dict[str, Development] = {}
        self._development_keys: dict[tuple[str, str | None, str | None], list[str]] = {}
        self._by_type_matter: dict[tuple[str, str | None], list[str]] = {}
        self._by_type_date: dict[tuple[str, str | None, str], list[str]] = {}
        self._by_type_month: dict[tuple[str, str], list[str]] = {}
        self._first_published: datetime | None = None
        self._generic_matters = GENERIC_MATTERS
        self._corroborations: dict[str, list[Corroboration]] = {}
        self._matters: dict[str, tuple[str, list[MatterStatus]]] = {}
        self._observed: dict[str, dict[str, tuple[Observation, str, str, datetime]]] = {}
        self._co_mentioned: set[frozenset[str]] = set()
        self._judges: dict[str, str] = {}          # surname -> fullest name seen
        self._conflicts: list[Conflict] = []
        self._flagged: set[tuple[str, frozenset[str]]] = set()

    # -- the only mutator ------------------------------------------------------------------------

    def learn(self, article: Article, analysis: Analysis) -> None:
        """Fold one analysed article into the story. Learning an article twice is a no-op."""
        if article.id in self._articles or not analysis.on_story:
            return
        self._order[article.id] = len(self._order)
        if self._first_published is None or article.published_at < self._first_published:
            self._first_published = article.published_at
        self._articles[article.id] = ArticleRecord(
            id=article.id, outlet=article.outlet, url=article.url, title=article.title,
            published_at=article.published_at, content_hash=analysis.content_hash,
            duplicate_of=analysis.duplicate_of, exact_repeat=analysis.exact_repeat,
            aligned_fraction=analysis.aligned_fraction)
        if analysis.content_hash:
            self._by_hash.setdefault(analysis.content_hash, article.id)

        for verdict in analysis.sentences:
            for name in verdict.new_names:
                self._names |= name_tokens(name)
            fact_id = None
            if verdict.known and verdict.match is not None:
                fact_id = self._fact_at.get((verdict.match.article_id,
                                             verdict.match.sentence_index))
            if fact_id is None:
                fact_id = self._add_fact(verdict.text, article.id, verdict.index)
            fact = self._facts[fact_id]
            fact.sources.append(Source(article.id, article.outlet, verdict.index))
            if not fact.articles or fact.articles[-1] != article.id:  # one article's are adjacent
                fact.articles.append(article.id)
            self._fact_at[(article.id, verdict.index)] = fact_id

        evidence_at = {v.text: v.index for v in analysis.sentences}
        for dev in analysis.developments:
            if dev.id in self._developments:
                continue
            self._developments[dev.id] = dev
            self._development_keys.setdefault((dev.type, dev.outcome, dev.matter_id),
                                              []).append(dev.id)
            self._by_type_matter.setdefault((dev.type, dev.matter_id), []).append(dev.id)
            if dev.date:
                self._by_type_date.setdefault((dev.type, dev.outcome, dev.date),
                                              []).append(dev.id)
                self._by_type_month.setdefault((dev.type, dev.date[:7]), []).append(dev.id)
            index = evidence_at.get(dev.evidence)
            if index is not None:
                self._facts[self._fact_at[(article.id, index)]].developments.append(dev.id)
        for corroboration in analysis.corroborations:
            self._corroborations.setdefault(corroboration.development_id, []).append(corroboration)
        for change in analysis.matter_changes:
            title, history = self._matters.setdefault(change.matter_id, (change.title, []))
            history.append(MatterStatus(change.to_status, change.date, change.development_id,
                                        article.id))
        for conflict in analysis.conflicts:
            self._conflicts.append(conflict)
            self._flagged.add(conflict_key(conflict.attribute,
                                           [v.value for v in conflict.values]))

        for judge in judges_named([v.text for v in analysis.sentences]):
            self._judges.setdefault(judge.split()[-1].lower(), judge)
        reported = observations([v.text for v in analysis.sentences])
        by_group: dict[str, list[str]] = {}
        for obs in reported:
            self._observed.setdefault(obs.group, {}).setdefault(
                obs.key, (obs, article.id, article.outlet, article.published_at))
            by_group.setdefault(obs.group, []).append(obs.key)
        for group, keys in by_group.items():
            for i, a in enumerate(keys):
                for b in keys[i + 1:]:
                    self._co_mentioned.add(frozenset((f"{group}|{a}", f"{group}|{b}")))

    def _add_fact(self, text: str, article_id: str, sentence_index: int) -> int:
        key = comparable(text)
        tokens = words(text)
        fact = _FactEntry(len(self._facts), text, key, content_words(tokens), article_id,
                          sentence_index)
        self._facts.append(fact)
        self._index.add(fact.id, key, tokens)
        return fact.id

    # -- lookups used by the analysis (read-only) ------------------------------------------------

    @property
    def judges(self) -> tuple[str, ...]:
        """Judges the story has named ("Judge Brian Cogan"), by their fullest name."""
        return tuple(self._judges.values())

    def article_with_hash(self, content_hash: str) -> str | None:
        return self._by_hash.get(content_hash)

    def knows_article(self, article_id: str) -> bool:
        return article_id in self._articles

    def earliest(self, article_ids: Iterable[str]) -> str:
        """Of learnt articles, the one learnt first (thousands of wire copies may tie)."""
        return min(article_ids, key=self._order.__getitem__)

    def align(self, text: str) -> Alignment | None:
        """The earlier sentence closest to `text`, found through the index, scored by rapidfuzz."""
        key = comparable(text)
        tokens = words(text)
        exact = self._index.exact(key)
        if exact is not None:
            fact = self._facts[exact]
            return Alignment(fact.id, fact.article_id, fact.sentence_index, 100.0, 1.0)
        best: tuple[float, int] | None = None
        for fact_id in self._index.lookup(tokens):
            score = similarity(key, self._facts[fact_id].key)
            if best is None or score > best[0]:
                best = (score, fact_id)
        if best is None:
            return None
        fact = self._facts[best[1]]
        content = content_words(tokens)
        coverage = len(content & fact.content) / len(content) if content else 1.0
        return Alignment(fact.id, fact.article_id, fact.sentence_index, best[0],
                         round(coverage, 4))

    def fact_articles(self, fact_id: int) -> Sequence[str]:
        """The articles that reported a fact, each once, in the order they were learned (read
        only: a fact repeated by every wire copy has thousands, so this is no copy)."""
        return self._facts[fact_id].articles

    def fact_developments(self, fact_id: int) -> tuple[str, ...]:
        return tuple(self._facts[fact_id].developments)

    def fact_text(self, fact_id: int) -> str:
        return self._facts[fact_id].text

    def development(self, development_id: str) -> Development:
        return self._developments[development_id]

    def is_known_name(self, name: str) -> bool:
        tokens = name_tokens(name)
        return not tokens or tokens <= self._names

    def known_development(self, type_: str, outcome: str | None, matter_id: str | None,
                          date_: str | None, generic: bool = False) -> Development | None:
        """An earlier development this one repeats: same type, outcome and matter, and a date
        that can be the same event. A development whose matter is unknown (`generic`) repeats
        one of the same type and outcome on the same date."""
        for dev_id in self._development_keys.get((type_, outcome, matter_id), ()):
            dev = self._developments[dev_id]
            if _near(dev.date, date_):
                return dev
        if date_ is not None:
            for dev_id in self._by_type_date.get((type_, outcome, date_), ()):
                dev = self._developments[dev_id]
                if generic or dev.matter_id in self._generic_matters:
                    return dev
        return None

    def development_near(self, type_: str, date_: str | None) -> Development | None:
        """Any earlier development of this type, whatever its outcome and matter, on a date that
        can be `date_` ("in January" and the ruling of Jan. 16)."""
        if not date_ or len(date_) < 7:
            return None
        for dev_id in self._by_type_month.get((type_, date_[:7]), ()):
            dev = self._developments[dev_id]
            if _near(dev.date, date_):
                return dev
        return None

    def decision_that_day(self, type_: str, outcome: str | None, date_: str | None,
                          matter_id: str | None, generic: bool = False) -> Development | None:
        """An earlier decision on this very day about this matter, whatever outcome it was told
        with: another outlet's telling of the same decision, read another way ("refused the
        request" / "blocked the transfer"). A court's ruling and an appeal court's decision are
        one kind here ("lost his appeal" / "the High Court ruled against him")."""
        if not date_ or len(date_) != 10:
            return None
        kinds = _DECIDED_TOGETHER.get(type_, ()) if outcome is not None else (type_,)
        for kind in kinds:
            for dev_id in self._by_type_month.get((kind, date_[:7]), ()):
                dev = self._developments[dev_id]
                if dev.date != date_ or kind != type_ and dev.outcome is None:
                    continue        # an appeal lodged that day is not its decision
                if dev.matter_id == matter_id or generic or dev.matter_id in self._generic_matters:
                    return dev
        return None

    @property
    def started(self) -> datetime | None:
        """When the story's first article was published (None before any)."""
        return self._first_published

    def related_development(self, type_: str, matter_id: str | None) -> Development | None:
        """Any earlier development of this type about this matter, whatever its outcome."""
        for dev_id in self._by_type_matter.get((type_, matter_id), ()):
            return self._developments[dev_id]
        return None

    def matter_status(self, matter_id: str) -> tuple[str | None, str | None]:
        """(status, date) of a matter's latest change, (None, None) when it is new."""
        entry = self._matters.get(matter_id)
        if not entry or not entry[1]:
            return None, None
        last = entry[1][-1]
        return last.status, last.date

    def contradictions(self, article_id: str, outlet: str, reported: list[Observation],
                       published_at: datetime | None = None) -> list[Conflict]:
        """Conflicts between what an article reports and what earlier sources reported."""
        found: list[Conflict] = []
        keys_here: dict[str, set[str]] = {}
        for obs in reported:
            keys_here.setdefault(obs.group, set()).add(obs.key)
        seen: set[tuple[str, frozenset[str]]] = set()
        for obs in reported:
            earlier = self._observed.get(obs.group, {})
            if obs.key in earlier:
                continue
            for key, (prior, prior_article, prior_outlet, prior_at) in earlier.items():
                if key in keys_here[obs.group]:
                    continue              # this article names both: two different things
                if frozenset((f"{obs.group}|{key}", f"{obs.group}|{obs.key}")) in \
                        self._co_mentioned:
                    continue
                years = ((published_at - prior_at).days / 365.25
                         if published_at is not None else 0.0)
                if not disagree(prior, obs, max(0.0, years)):
                    continue
                ckey = conflict_key(obs.attribute, [prior.value, obs.value])
                if ckey in self._flagged or ckey in seen:
                    continue
                seen.add(ckey)
                found.append(Conflict(attribute=obs.attribute, values=(
                    ConflictValue(prior.value, prior_article, prior_outlet),
                    ConflictValue(obs.value, article_id, outlet))))
        return found

    # -- read helpers for the API ----------------------------------------------------------------

    @property
    def articles(self) -> tuple[ArticleRecord, ...]:
        return tuple(self._articles.values())

    @property
    def facts(self) -> tuple[Fact, ...]:
        return tuple(Fact(f.id, f.text, f.article_id, f.sentence_index, tuple(f.sources))
                     for f in self._facts)

    def fact_counts(self) -> dict[str, int]:
        """sentence -> number of independent sources that reported it."""
        return {f.text: f.source_count for f in self.facts}

    @property
    def developments(self) -> tuple[Development, ...]:
        return tuple(self._developments.values())

    def corroborations_of(self, development_id: str) -> tuple[Corroboration, ...]:
        return tuple(self._corroborations.get(development_id, ()))

    @property
    def matters(self) -> tuple[Matter, ...]:
        return tuple(Matter(id_, title, history[-1].status if history else None, tuple(history))
                     for id_, (title, history) in self._matters.items())

    @property
    def conflicts(self) -> tuple[Conflict, ...]:
        return tuple(self._conflicts)

    @property
    def sentence_count(self) -> int:
        return len(self._facts)

    def index_stats(self) -> dict:
        return self._index.stats()


def conflict_key(attribute: str, values: list[str]) -> tuple[str, frozenset[str]]:
    return attribute, frozenset(values)
