"""`storywire analyze`: the engine over article files, through a real (embedded) event store."""

import json
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from services.story.analysis import Article
from services.story.service import StoryService
from shared.db import dispose_engine, get_engine
from shared.eventstore import EventStore
from shared.migrate import upgrade


def slugify(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-") or "story"


def story_definition(story: dict) -> dict:
    """A story file ({title, description, entities, keywords}) as a tracking definition."""
    return {
        "slug": story.get("slug") or slugify(story["title"]),
        "title": story["title"],
        "description": story.get("description", ""),
        "entities": list(story.get("entities", [])),
        "keywords": list(story.get("keywords", [])),
        **({"time_zone": story["time_zone"]} if story.get("time_zone") else {}),
    }


def analyze_files(story: dict, articles: list[dict], db_url: str | None = None) -> Iterator[dict]:
    """Yield the contract object of each article, in publish order."""
    parsed = sorted((Article.from_dict(a) for a in articles),
                    key=lambda a: (a.published_at, a.id))
    with tempfile.TemporaryDirectory(prefix="storywire-analyze-") as tmp:
        url = db_url or f"sqlite:///{Path(tmp) / 'analyze.db'}"
        engine = get_engine(url)
        try:
            upgrade("story", engine)
            service = StoryService(EventStore(engine))
            definition = story_definition(story)
            service.define_story(definition)
            for article in parsed:
                analysis = service.attach_to_story(definition["slug"], article)
                yield analysis.contract()
        finally:
            dispose_engine(url)


def read_json(path: str) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))
