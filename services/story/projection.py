"""Projections of a story's events. Pure: no I/O.

`StoryView` is the read model the API serves: small, JSON-serializable (snapshots), cheap to
apply. `StoryState` is what the writer needs on top of it: the analysis engine's knowledge.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from services.story import events as ev
from services.story.analysis import Analysis, Article, StoryDefinition, StoryKnowledge
from services.story.analysis.zones import local_date, story_zone
from shared.eventstore import RecordedEvent, upcast

LATEST = 5
CLOSED = ("granted", "denied", "mixed", "dismissed", "withdrawn", "decided", "guilty",
          "not_guilty", "sentenced")


def definition_from(data: dict) -> StoryDefinition:
    return StoryDefinition(
        slug=data["slug"], title=data["title"], description=data.get("description", ""),
        entities=tuple(data.get("entities", ())), keywords=tuple(data.get("keywords", ())),
        time_zone=data.get("time_zone") or None,
    )


DEFINITION_FIELDS = ("slug", "title", "description", "entities", "keywords", "time_zone",
                     "status")


@dataclass
class StoryView:
    """A story as readers see it, at `version`."""

    slug: str
    version: int = 0
    definition: dict = field(default_factory=dict)
    status: str = "active"
    created_at: str | None = None
    updated_at: str | None = None
    articles: dict[str, dict] = field(default_factory=dict)        # in attach order
    developments: list[dict] = field(default_factory=list)         # in detection order
    corroborations: dict[str, list[dict]] = field(default_factory=dict)
    matters: dict[str, dict] = field(default_factory=dict)
    conflicts: list[dict] = field(default_factory=list)
    fact_count: int = 0
    corroborated_facts: dict[str, dict] = field(default_factory=dict)
    _memo: dict = field(default_factory=dict, repr=False, compare=False)
    # the bodies of articles attached and not yet analyzed (the next event, in one append)
    _bodies: dict[str, str] = field(default_factory=dict, repr=False, compare=False)
    # the outlets of each corroborated fact as a set, beside its list (built as it is met)
    _outlets: dict[str, set[str]] = field(default_factory=dict, repr=False, compare=False)

    # -- applying events -----------------------------------------------------------------------

    def apply(self, event: RecordedEvent) -> None:
        event = upcast(event)
        self._check(event)
        handler = getattr(self, "_on_" + event.type, None)
        if handler:
            handler(event.data, event.version)
        self._advance(event)

    def pass_over(self, event: RecordedEvent) -> None:
        """Count the event's version without taking in what it says (a view that leaves it
        out, such as the story as of an earlier news date)."""
        self._check(event)
        self._advance(event)

    def _check(self, event: RecordedEvent) -> None:
        if event.version != self.version + 1:
            raise ValueError(f"{self.slug}: event version {event.version} after {self.version}")

    def _advance(self, event: RecordedEvent) -> None:
        self._memo.clear()
        self.version = event.version
        self.updated_at = event.recorded_at.isoformat()
        self.created_at = self.created_at or self.updated_at

    def _on_StoryDefined(self, data: dict, version: int) -> None:
        self.definition = {k: data[k] for k in DEFINITION_FIELDS if k in data and k != "status"}
        self.status = data.get("status", self.status)

    def _on_StoryArchived(self, data: dict, version: int) -> None:
        self.status = "archived"

    def _on_ArticleAttached(self, data: dict, version: int) -> None:
        article = data["article"]
        self.articles[article["id"]] = {
            "id": article["id"], "outlet": article["outlet"], "url": article["url"],
            "title": article["title"], "published_at": article["published_at"],
            "attached_version": version, "revision_of": data.get("revision_of"),
            "duplicate_of": None, "new_sentences": 0, "developments": 0,
        }
        self._bodies[article["id"]] = article.get("body")

    def _on_ArticleAnalyzed(self, data: dict, version: int) -> None:
        analysis = data["analysis"]
        article = self.articles[analysis["article_id"]]
        article["duplicate_of"] = analysis.get("duplicate_of")
        article["aligned_fraction"] = analysis.get("aligned_fraction", 0.0)
        body = self._bodies.pop(analysis["article_id"], None)
        sentences = analysis["sentences"]
        new = len(sentences["spans"]) - len(sentences["known"])
        article["new_sentences"] += new
        self.fact_count += new
        if sentences["matches"]:
            known = set(sentences["known"])
            texts = dict(sentences["texts"])
            for i, match in sentences["matches"]:
                if i in known:
                    self._corroborate(match, article, lambda i=i: texts[i] if i in texts else
                                      body[slice(*sentences["spans"][i])])

    def _corroborate(self, match: dict, article: dict, text: Callable[[], str]) -> None:
        key = f"{match['article_id']}#{match['sentence_index']}"
        fact = self.corroborated_facts.get(key)
        if fact is None:    # the first telling may be left out of this view (a later article)
            first = self.articles.get(match["article_id"])
            fact = self.corroborated_facts[key] = {
                "id": key, "text": text(), "outlets": [first["outlet"]] if first else []}
        seen = self._outlets.get(key)
        if seen is None:
            seen = self._outlets[key] = set(fact["outlets"])
        if article["outlet"] not in seen:
            seen.add(article["outlet"])
            fact["outlets"].append(article["outlet"])

    def _on_DevelopmentDetected(self, data: dict, version: int) -> None:
        development = {**data["development"], "source": data["article"],
                       "detected_version": version}
        self.developments.append(development)
        self.articles[data["article"]["id"]]["developments"] += 1

    def _on_DevelopmentCorroborated(self, data: dict, version: int) -> None:
        self.corroborations.setdefault(data["development_id"], []).append(data["article"])

    def _on_MatterStatusChanged(self, data: dict, version: int) -> None:
        matter = self.matters.setdefault(data["matter_id"], {
            "id": data["matter_id"], "title": data.get("title") or data["matter_id"],
            "status": None, "history": []})
        matter["status"] = data["to_status"]
        matter["history"].append({"status": data["to_status"], "date": data.get("date"),
                                  "article_id": data["article"]["id"], "version": version})

    def _on_ConflictFlagged(self, data: dict, version: int) -> None:
        self.conflicts.append({"attribute": data["attribute"], "values": data["values"],
                               "version": version})

    # -- snapshots -----------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self.__dataclass_fields__
                if not name.startswith("_")}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "StoryView":
        return cls(**data)

    # -- what readers get (computed once per version; callers must not mutate) ---------------

    def _memoized(self, name: str, compute):
        if name not in self._memo:
            self._memo[name] = compute()
        return self._memo[name]

    def _with_corroborations(self, development: dict) -> dict:
        return {**development, "corroborations": self.corroborations.get(development["id"], [])}

    def development_list(self) -> list[dict]:
        return self._memoized("developments", lambda: [
            self._with_corroborations(d) for d in self.developments])

    def timeline(self) -> list[dict]:
        """Developments in date order (undated ones by when they were reported)."""
        def key(d):
            return (d.get("date") or d["source"]["published_at"][:10],
                    d["source"]["published_at"], d["detected_version"])
        return self._memoized("timeline", lambda: sorted(self.development_list(), key=key))

    def facts(self) -> list[dict]:
        """Facts reported by more than one outlet, most corroborated first."""
        def compute():
            facts = [{"id": f["id"], "text": f["text"], "sources": len(f["outlets"]),
                      "outlets": f["outlets"]} for f in self.corroborated_facts.values()]
            return sorted((f for f in facts if f["sources"] > 1), key=lambda f: -f["sources"])
        return self._memoized("facts", compute)

    def brief(self) -> dict[str, Any]:
        return self._memoized("brief", self._brief)

    def _brief(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "title": self.definition.get("title", self.slug),
            "status": self.status,
            "version": self.version,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "counts": {
                "articles": len(self.articles),
                "copies": sum(1 for a in self.articles.values() if a["duplicate_of"]),
                "developments": len(self.developments),
                "facts": self.fact_count,
                "matters": len(self.matters),
                "conflicts": len(self.conflicts),
            },
        }

    def summary(self) -> dict[str, Any]:
        return self._memoized("summary", self._summary)

    def _summary(self) -> dict[str, Any]:
        facts = self.facts()
        return {
            **self.brief(),
            "description": self.definition.get("description", ""),
            "entities": self.definition.get("entities", []),
            "keywords": self.definition.get("keywords", []),
            "time_zone": self.definition.get("time_zone"),
            "outlets": sorted({a["outlet"] for a in self.articles.values()}),
            "latest_developments": [self._with_corroborations(d)
                                    for d in self.developments[-LATEST:][::-1]],
            "open_matters": [
                {"id": m["id"], "title": m["title"], "status": m["status"],
                 "since": m["history"][-1]["date"], "changes": len(m["history"])}
                for m in self.matters.values() if m["status"] not in CLOSED],
            "facts": facts[:20],
            "conflicts": self.conflicts,
        }


def news_view(slug: str, events: Iterable[RecordedEvent], news_date: date | datetime
              ) -> StoryView:
    """The story as it stood in the news on `news_date`, from its events in order: the
    articles published by then (a date counts all of that day in the story's time zone, a
    time counts to the instant) and what they reported, but no development or matter change
    dated after that day. What is left out still counts towards the view's version."""
    events = list(events)
    definitions = [e.data for e in events if e.type == ev.STORY_DEFINED]
    zone = story_zone(definition_from(definitions[-1])) if definitions else ZoneInfo("UTC")
    if isinstance(news_date, datetime):
        last_day = local_date(news_date, zone).isoformat()

        def published_by(when: datetime) -> bool:
            return when <= news_date
    else:
        last_day = news_date.isoformat()

        def published_by(when: datetime) -> bool:
            return local_date(when, zone) <= news_date

    def dated_later(day: str | None) -> bool:
        return (day or "") > last_day       # a month, "2017-05", sorts before its days

    later_articles: set[str] = set()
    later_developments: set[str] = set()

    def not_yet(event: RecordedEvent) -> bool:
        data = event.data
        if event.type == ev.ARTICLE_ATTACHED:
            article = data["article"]
            if not published_by(datetime.fromisoformat(article["published_at"])):
                later_articles.add(article["id"])
            return article["id"] in later_articles
        if event.type == ev.ARTICLE_ANALYZED:
            return data["analysis"]["article_id"] in later_articles
        if "article" not in data:               # the story's own events
            return False
        reported_later = data["article"]["id"] in later_articles
        if event.type == ev.DEVELOPMENT_DETECTED:
            development = data["development"]
            if reported_later or dated_later(development.get("date")):
                later_developments.add(development["id"])
            return development["id"] in later_developments
        return reported_later or data.get("development_id") in later_developments or \
            (event.type == ev.MATTER_STATUS_CHANGED and dated_later(data.get("date")))

    view = StoryView(slug)
    for event in events:
        if not_yet(event):
            view.pass_over(event)
        else:
            view.apply(event)
    return view


@dataclass
class StoryState:
    """The writer's state: the read model plus what the analysis engine knows."""

    view: StoryView
    knowledge: StoryKnowledge | None = None
    analyses: dict[str, Analysis] = field(default_factory=dict)
    _pending: dict[str, Article] = field(default_factory=dict, repr=False)

    @property
    def version(self) -> int:
        return self.view.version

    @property
    def status(self) -> str:
        return self.view.status

    @property
    def definition(self) -> StoryDefinition | None:
        return definition_from(self.view.definition) if self.view.definition else None

    def apply(self, event: RecordedEvent) -> None:
        self.view.apply(event)
        if event.type == ev.STORY_DEFINED:
            if self.knowledge is None:
                self.knowledge = StoryKnowledge(self.definition)
            else:  # a changed definition routes the articles that come after it
                self.knowledge.story = self.definition
        elif event.type == ev.ARTICLE_ATTACHED:
            article = Article.from_dict(event.data["article"])
            self._pending[article.id] = article
        elif event.type == ev.ARTICLE_ANALYZED:
            article = self._pending.pop(event.data["analysis"]["article_id"])
            analysis = Analysis.from_dict(ev.written_out(upcast(event).data,
                                                         article.body)["analysis"])
            self.knowledge.learn(article, analysis)
            self.analyses[analysis.article_id] = analysis
