"""The analysis vocabulary: stories, articles and what an article changes about a story.

Frozen dataclasses with JSON-safe `to_dict` / `from_dict` pairs: an `Analysis` is stored in an
event and a story's knowledge is rebuilt from it, so the round trip must be exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import cached_property

from shared.text import content_hash


def as_utc(moment: datetime) -> datetime:
    """A tz-aware UTC datetime; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_moment(value: str | datetime) -> datetime:
    if isinstance(value, datetime):
        return as_utc(value)
    return as_utc(datetime.fromisoformat(value.strip().replace("Z", "+00:00")))


# keys of an entity object that say what it is, not what it is called
_NOT_NAMES = frozenset({"type", "kind", "role", "category", "description", "notes", "note", "id"})


def entity_names(entities):
    """A story's entities as one list of names. A definition may list them, group them by
    kind ({"people": [...], "aliases": {"Kiran Mahadevan": ["Mahadevan"]}}) or list objects
    ([{"name": "Kiran Mahadevan", "aliases": ["Mahadevan"], "type": "person"}]): every name
    and alias counts, in the order written, each once. A key is a name when it is not a plain
    lowercase word ("people", "aliases", "name"). Anything that is no text is kept as it is,
    for the caller's validation to refuse."""
    if not isinstance(entities, (dict, list)) or \
            isinstance(entities, list) and all(isinstance(e, str) for e in entities):
        return entities
    names: list = []

    def add(value) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if isinstance(key, str) and key.lower() in _NOT_NAMES:
                    continue
                if not (isinstance(key, str) and key.replace("_", "").isalpha()
                        and key == key.lower()):
                    add(key)
                add(inner)
        elif isinstance(value, (list, tuple)):
            for item in value:
                add(item)
        elif not isinstance(value, str) or value not in names:
            names.append(value)

    add(entities)
    return names


@dataclass(frozen=True)
class StoryDefinition:
    slug: str
    title: str
    description: str = ""
    entities: tuple[str, ...] = ()
    keywords: tuple[str, ...] = ()
    time_zone: str | None = None      # IANA; relative days resolve in it (see `local_zone`)

    def __post_init__(self):
        object.__setattr__(self, "entities", tuple(self.entities))
        object.__setattr__(self, "keywords", tuple(self.keywords))

    @classmethod
    def from_dict(cls, d: dict) -> StoryDefinition:
        return cls(slug=d["slug"], title=d["title"], description=d.get("description") or "",
                   entities=tuple(entity_names(d.get("entities")) or ()),
                   keywords=tuple(d.get("keywords") or ()), time_zone=d.get("time_zone") or None)

    def to_dict(self) -> dict:
        data = {"slug": self.slug, "title": self.title, "description": self.description,
                "entities": list(self.entities), "keywords": list(self.keywords)}
        if self.time_zone:
            data["time_zone"] = self.time_zone
        return data


@dataclass(frozen=True)
class Article:
    id: str
    outlet: str
    url: str
    title: str
    published_at: datetime
    body: str

    def __post_init__(self):
        object.__setattr__(self, "published_at", parse_moment(self.published_at))

    @cached_property
    def content_hash(self) -> str:
        """The hash of the normalized body, computed once (every story routes the article)."""
        return content_hash(self.body)

    @classmethod
    def from_dict(cls, d: dict) -> Article:
        return cls(id=str(d["id"]), outlet=d.get("outlet") or "", url=d.get("url") or "",
                   title=d.get("title") or "", published_at=parse_moment(d["published_at"]),
                   body=d.get("body") or "")

    def to_dict(self) -> dict:
        return {"id": self.id, "outlet": self.outlet, "url": self.url, "title": self.title,
                "published_at": self.published_at.isoformat(), "body": self.body}


@dataclass(frozen=True)
class Route:
    """Whether an article belongs to a story, how strongly, and which terms decided it."""
    on_story: bool
    score: float
    matched: tuple[str, ...] = ()


@dataclass(frozen=True)
class SentenceMatch:
    """The earlier sentence a sentence repeats: where it was first reported, and how closely."""
    article_id: str
    sentence_index: int
    score: float

    def to_dict(self) -> dict:
        return {"article_id": self.article_id, "sentence_index": self.sentence_index,
                "score": self.score}

    @classmethod
    def from_dict(cls, d: dict) -> SentenceMatch:
        return cls(article_id=d["article_id"], sentence_index=int(d["sentence_index"]),
                   score=float(d["score"]))


@dataclass(frozen=True)
class SentenceVerdict:
    """One sentence of the article: already known to the story (with its match) or new."""
    text: str
    index: int
    known: bool
    match: SentenceMatch | None = None
    new_names: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"text": self.text, "index": self.index, "known": self.known,
                "match": self.match.to_dict() if self.match else None,
                "new_names": list(self.new_names)}

    @classmethod
    def from_dict(cls, d: dict) -> SentenceVerdict:
        match = d.get("match")
        return cls(text=d["text"], index=int(d["index"]), known=bool(d["known"]),
                   match=SentenceMatch.from_dict(match) if match else None,
                   new_names=tuple(d.get("new_names") or ()))


@dataclass(frozen=True)
class Development:
    """Something that happened in the story, typed, dated and tied to its evidence sentence."""
    id: str
    type: str
    outcome: str | None
    date: str | None
    actors: tuple[str, ...]
    evidence: str
    article_id: str
    matter_id: str | None
    summary: str

    def to_dict(self) -> dict:
        return {"id": self.id, "type": self.type, "outcome": self.outcome, "date": self.date,
                "actors": list(self.actors), "evidence": self.evidence,
                "article_id": self.article_id, "matter_id": self.matter_id,
                "summary": self.summary}

    @classmethod
    def from_dict(cls, d: dict) -> Development:
        return cls(id=d["id"], type=d["type"], outcome=d.get("outcome"), date=d.get("date"),
                   actors=tuple(d.get("actors") or ()), evidence=d["evidence"],
                   article_id=d["article_id"], matter_id=d.get("matter_id"),
                   summary=d.get("summary") or "")


@dataclass(frozen=True)
class Corroboration:
    """A development the story already knows, reported again by this article."""
    development_id: str
    article_id: str
    outlet: str

    def to_dict(self) -> dict:
        return {"development_id": self.development_id, "article_id": self.article_id,
                "outlet": self.outlet}

    @classmethod
    def from_dict(cls, d: dict) -> Corroboration:
        return cls(development_id=d["development_id"], article_id=d["article_id"],
                   outlet=d.get("outlet") or "")


@dataclass(frozen=True)
class MatterChange:
    """A legal matter (a request, a motion) moving from one status to the next."""
    matter_id: str
    title: str
    from_status: str | None
    to_status: str
    date: str | None
    development_id: str

    def to_dict(self) -> dict:
        return {"matter_id": self.matter_id, "title": self.title,
                "from_status": self.from_status, "to_status": self.to_status,
                "date": self.date, "development_id": self.development_id}

    @classmethod
    def from_dict(cls, d: dict) -> MatterChange:
        return cls(matter_id=d["matter_id"], title=d.get("title") or d["matter_id"],
                   from_status=d.get("from_status"), to_status=d["to_status"],
                   date=d.get("date"), development_id=d["development_id"])


@dataclass(frozen=True)
class ConflictValue:
    value: str
    article_id: str
    outlet: str

    def to_dict(self) -> dict:
        return {"value": self.value, "article_id": self.article_id, "outlet": self.outlet}

    @classmethod
    def from_dict(cls, d: dict) -> ConflictValue:
        return cls(value=d["value"], article_id=d["article_id"], outlet=d.get("outlet") or "")


@dataclass(frozen=True)
class Conflict:
    """Sources that disagree about one attribute, each side with who reported it first."""
    attribute: str
    values: tuple[ConflictValue, ...]

    def to_dict(self) -> dict:
        return {"attribute": self.attribute, "values": [v.to_dict() for v in self.values]}

    @classmethod
    def from_dict(cls, d: dict) -> Conflict:
        return cls(attribute=d["attribute"],
                   values=tuple(ConflictValue.from_dict(v) for v in d.get("values") or ()))


@dataclass(frozen=True)
class Analysis:
    """What one article changes about one story. Stored in an event; knowledge is rebuilt
    from it, so `from_dict(to_dict())` is exact."""
    article_id: str
    on_story: bool
    route_score: float
    content_hash: str
    duplicate_of: str | None = None
    exact_repeat: bool = False
    aligned_fraction: float = 0.0
    sentences: tuple[SentenceVerdict, ...] = ()
    developments: tuple[Development, ...] = ()
    corroborations: tuple[Corroboration, ...] = ()
    matter_changes: tuple[MatterChange, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    route_matched: tuple[str, ...] = field(default=())

    @property
    def new_sentences(self) -> tuple[str, ...]:
        return tuple(s.text for s in self.sentences if not s.known)

    def to_dict(self) -> dict:
        return {
            "article_id": self.article_id,
            "on_story": self.on_story,
            "route_score": self.route_score,
            "route_matched": list(self.route_matched),
            "content_hash": self.content_hash,
            "duplicate_of": self.duplicate_of,
            "exact_repeat": self.exact_repeat,
            "aligned_fraction": self.aligned_fraction,
            "sentences": [s.to_dict() for s in self.sentences],
            "developments": [d.to_dict() for d in self.developments],
            "corroborations": [c.to_dict() for c in self.corroborations],
            "matter_changes": [m.to_dict() for m in self.matter_changes],
            "conflicts": [c.to_dict() for c in self.conflicts],
        }

    @classmethod
    def from_dict(cls, d: dict) -> Analysis:
        return cls(
            article_id=d["article_id"],
            on_story=bool(d["on_story"]),
            route_score=float(d.get("route_score", 0.0)),
            route_matched=tuple(d.get("route_matched") or ()),
            content_hash=d.get("content_hash") or "",
            duplicate_of=d.get("duplicate_of"),
            exact_repeat=bool(d.get("exact_repeat", False)),
            aligned_fraction=float(d.get("aligned_fraction", 0.0)),
            sentences=tuple(SentenceVerdict.from_dict(s) for s in d.get("sentences") or ()),
            developments=tuple(Development.from_dict(x) for x in d.get("developments") or ()),
            corroborations=tuple(Corroboration.from_dict(x)
                                 for x in d.get("corroborations") or ()),
            matter_changes=tuple(MatterChange.from_dict(x)
                                 for x in d.get("matter_changes") or ()),
            conflicts=tuple(Conflict.from_dict(x) for x in d.get("conflicts") or ()),
        )

    def contract(self) -> dict:
        """The stable shape read by the CLI and by outside evaluation."""
        return {
            "id": self.article_id,
            "on_story": self.on_story,
            "duplicate_of": self.duplicate_of,
            "new_sentences": list(self.new_sentences),
            "developments": [{"type": d.type, "outcome": d.outcome, "date": d.date,
                              "evidence": d.evidence} for d in self.developments],
            "conflicts": [{"attribute": c.attribute,
                           "values": [v.to_dict() for v in c.values]}
                          for c in self.conflicts],
        }
