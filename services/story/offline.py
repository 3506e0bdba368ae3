"""`storywire analyze`: the engine over article files, through a real (embedded) event store."""

import json
import re
import tempfile
import unicodedata
from collections.abc import Iterator
from pathlib import Path

from pydantic import ValidationError

from services.story.analysis import Article
from services.story.analysis.model import entity_names
from services.story.schemas import StoryCreate
from services.story.service import StoryService
from shared.db import dispose_engine, get_engine
from shared.eventstore import EventStore
from shared.migrate import upgrade


def slugify(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-") or "story"


class InputError(ValueError):
    """A story or article file that cannot be used, said in one line: which file and why."""


def _problems(exc: ValidationError) -> str:
    return "; ".join(f"{'.'.join(map(str, e['loc'])) or 'file'}: {e['msg']}"
                     for e in exc.errors()[:3])


def check_story(story: dict, path: str = "story file") -> dict:
    """The story file's fields, validated as the API validates a new story (fields the API
    does not know are ignored here, as a story file may carry notes of its own)."""
    known = {k: v for k, v in story.items() if k in StoryCreate.model_fields}
    try:
        StoryCreate.model_validate(known)
    except ValidationError as exc:
        raise InputError(f"{path}: {_problems(exc)}") from None
    return story


def check_article(data: dict, path: str = "article file") -> Article:
    missing = [k for k in ("id", "published_at") if not data.get(k)]
    if missing:
        raise InputError(f"{path}: missing {', '.join(missing)}")
    if not isinstance(data.get("body", ""), str) or not isinstance(data.get("title", ""), str):
        raise InputError(f"{path}: title and body must be text")
    try:
        return Article.from_dict(data)
    except (TypeError, ValueError, AttributeError):
        raise InputError(f"{path}: published_at must be an ISO 8601 time, "
                         f"not {data.get('published_at')!r}") from None


def story_definition(story: dict) -> dict:
    """A story file ({title, description, entities, keywords}) as a tracking definition."""
    return {
        "slug": story.get("slug") or slugify(story["title"]),
        "title": story["title"],
        "description": story.get("description", ""),
        "entities": list(entity_names(story.get("entities")) or []),
        "keywords": list(story.get("keywords", [])),
        **({"time_zone": story["time_zone"]} if story.get("time_zone") else {}),
    }


def analyze_files(story: dict, articles: list[dict | Article],
                  db_url: str | None = None) -> Iterator[dict]:
    """Yield the contract object of each article, in publish order."""
    parsed = sorted((a if isinstance(a, Article) else Article.from_dict(a) for a in articles),
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
    """A JSON object from a file, or an InputError saying in one line why not."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise InputError(f"{path}: a directory, not a file") from None
    except PermissionError:
        raise InputError(f"{path}: not readable (permission denied)") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: invalid JSON ({exc.msg} at line {exc.lineno}, "
                         f"column {exc.colno})") from None
    if not isinstance(data, dict):
        raise InputError(f"{path}: expected a JSON object, found {type(data).__name__}")
    return data
