"""A story's state, rebuilt by applying its events in order. Pure: no I/O."""

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from services.story import events as ev
from services.story.analysis import Analysis, Article, StoryDefinition, StoryKnowledge
from shared.eventstore import RecordedEvent


def definition_from(data: dict) -> StoryDefinition:
    return StoryDefinition(
        slug=data["slug"], title=data["title"], description=data.get("description", ""),
        entities=tuple(data.get("entities", ())), keywords=tuple(data.get("keywords", ())),
    )


@dataclass
class StoryState:
    slug: str
    version: int = 0
    status: str = "active"
    definition: StoryDefinition | None = None
    knowledge: StoryKnowledge | None = None
    articles: dict[str, dict] = field(default_factory=dict)   # article id -> summary
    analyses: dict[str, Analysis] = field(default_factory=dict)
    developments: list[dict] = field(default_factory=list)
    corroborations: Counter = field(default_factory=Counter)  # development id -> re-reports
    matters: dict[str, dict] = field(default_factory=dict)
    conflicts: list[dict] = field(default_factory=list)
    updated_at: str | None = None
    _pending: dict[str, Article] = field(default_factory=dict, repr=False)

    def apply(self, event: RecordedEvent) -> None:
        if event.version != self.version + 1:
            raise ValueError(f"{self.slug}: event version {event.version} after {self.version}")
        handler = getattr(self, "_on_" + event.type, None)
        if handler:
            handler(event.data)
        self.version = event.version
        self.updated_at = event.recorded_at.isoformat()

    def _on_StoryDefined(self, data: dict) -> None:
        self.definition = definition_from(data)
        self.status = data.get("status", "active")
        if self.knowledge is None:
            self.knowledge = StoryKnowledge(self.definition)
        else:  # a changed definition routes the articles that come after it
            self.knowledge.story = self.definition

    def _on_ArticleAttached(self, data: dict) -> None:
        article = Article.from_dict(data["article"])
        self._pending[article.id] = article
        self.articles[article.id] = {**ev.article_ref(article), "duplicate_of": None,
                                     "new_sentences": 0}

    def _on_ArticleAnalyzed(self, data: dict) -> None:
        analysis = Analysis.from_dict(data["analysis"])
        article = self._pending.pop(analysis.article_id)
        self.knowledge.learn(article, analysis)
        self.analyses[article.id] = analysis
        summary = self.articles[article.id]
        summary["duplicate_of"] = analysis.duplicate_of
        summary["new_sentences"] = len(analysis.new_sentences)

    def _on_DevelopmentDetected(self, data: dict) -> None:
        self.developments.append({**data["development"], "source": data["article"]})

    def _on_DevelopmentCorroborated(self, data: dict) -> None:
        self.corroborations[data["development_id"]] += 1

    def _on_MatterStatusChanged(self, data: dict) -> None:
        matter = self.matters.setdefault(data["matter_id"], {
            "id": data["matter_id"], "title": data.get("title") or data["matter_id"],
            "status": None, "history": []})
        matter["status"] = data["to_status"]
        matter["history"].append({"status": data["to_status"], "date": data.get("date"),
                                  "article_id": data["article"]["id"]})

    def _on_ConflictFlagged(self, data: dict) -> None:
        self.conflicts.append({"attribute": data["attribute"], "values": data["values"]})

    # -- views ---------------------------------------------------------------------------------

    def developments_with_sources(self) -> list[dict]:
        return [{**d, "corroborations": self.corroborations[d["id"]]} for d in self.developments]

    def timeline(self) -> list[dict]:
        """Developments in date order (undated ones by when they were reported)."""
        def key(d):
            return (d.get("date") or d["source"]["published_at"][:10], d["source"]["published_at"])
        return sorted(self.developments_with_sources(), key=key)

    def summary(self) -> dict[str, Any]:
        definition = self.definition
        outlets = sorted({a["outlet"] for a in self.articles.values()})
        return {
            "slug": self.slug,
            "title": definition.title if definition else self.slug,
            "description": definition.description if definition else "",
            "entities": list(definition.entities) if definition else [],
            "keywords": list(definition.keywords) if definition else [],
            "status": self.status,
            "version": self.version,
            "updated_at": self.updated_at,
            "counts": {
                "articles": len(self.articles),
                "copies": sum(1 for a in self.articles.values() if a["duplicate_of"]),
                "developments": len(self.developments),
                "matters": len(self.matters),
                "conflicts": len(self.conflicts),
            },
            "outlets": outlets,
            "latest_developments": self.developments_with_sources()[-5:][::-1],
            "matters": list(self.matters.values()),
            "conflicts": self.conflicts,
        }
