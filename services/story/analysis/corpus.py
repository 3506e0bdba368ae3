"""The labelled evaluation corpus: loading it, and running predictions over it.

The only module of the evaluation that touches files. Layout (see tests/corpus/README.md):

    <root>/<story-slug>/story.json
    <root>/<story-slug>/articles/<id>.json
    <root>/<story-slug>/labels.json

Usage:

    python -m services.story.analysis.corpus [--root DIR] [--predictions FILE] [--errors N]

Without ``--predictions`` the built-in analysis engine is run over each story's articles in
publish order; with it, a JSON list of per-article prediction objects is scored instead.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from .evaluate import format_report, score

DEFAULT_ROOT = Path(__file__).resolve().parents[3] / "tests" / "corpus"

Predictor = Callable[[str, dict, list[dict]], list[dict]]


def parse_published(value: str) -> datetime:
    """An article's `published_at` as an aware UTC datetime."""
    moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        raise ValueError(f"published_at without a timezone: {value!r}")
    return moment.astimezone(UTC)


@dataclass
class CorpusStory:
    slug: str
    story: dict
    articles: list[dict] = field(default_factory=list)
    labels: dict[str, dict] = field(default_factory=dict)

    @property
    def article_ids(self) -> list[str]:
        return [a["id"] for a in self.articles]


def _read_json(path: Path):
    with path.open(encoding="utf-8") as handle:
        return json.load(handle)


def load_story(folder: Path) -> CorpusStory:
    story = _read_json(folder / "story.json")
    articles = [_read_json(p) for p in sorted((folder / "articles").glob("*.json"))]
    articles.sort(key=lambda a: (parse_published(a["published_at"]), a["id"]))
    labels_path = folder / "labels.json"
    labels = _read_json(labels_path) if labels_path.exists() else {}
    return CorpusStory(slug=folder.name, story=story, articles=articles, labels=labels)


def load_corpus(root: Path = DEFAULT_ROOT) -> list[CorpusStory]:
    """Every story folder under `root` (a folder with a story.json), sorted by slug."""
    root = Path(root)
    return [load_story(folder) for folder in sorted(root.iterdir())
            if folder.is_dir() and (folder / "story.json").exists()]


def all_labels(stories: list[CorpusStory]) -> dict[str, dict]:
    merged: dict[str, dict] = {}
    for story in stories:
        for article_id, label in story.labels.items():
            if article_id in merged:
                raise ValueError(f"article id {article_id!r} is labelled in two stories")
            merged[article_id] = label
    return merged


def predict_corpus(stories: list[CorpusStory], predictor: Predictor) -> list[dict]:
    """Run `predictor(slug, story, articles)` per story; articles come in publish order and
    labels are never passed on."""
    predictions: list[dict] = []
    for story in stories:
        predictions.extend(predictor(story.slug, dict(story.story),
                                     [dict(a) for a in story.articles]))
    return predictions


def evaluate_corpus(stories: list[CorpusStory], predictor: Predictor) -> dict:
    return score(predict_corpus(stories, predictor), all_labels(stories))


def engine_predictor(slug: str, story: dict, articles: list[dict]) -> list[dict]:
    """The built-in analysis engine, run offline over one story."""
    from .engine import run_offline
    from .model import Article, StoryDefinition

    definition = StoryDefinition.from_dict({"slug": slug, **story})
    analyses = run_offline(definition, [Article.from_dict(a) for a in articles])
    return [analysis.contract() for analysis in analyses]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.story.analysis.corpus",
                                     description="Score predictions on the labelled corpus.")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT,
                        help="corpus folder (default: tests/corpus)")
    parser.add_argument("--predictions", type=Path,
                        help="JSON list of per-article predictions; default: run the engine")
    parser.add_argument("--errors", type=int, default=10,
                        help="errors to list per kind (0 for none)")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    args = parser.parse_args(argv)

    stories = load_corpus(args.root)
    if not stories:
        print(f"no stories under {args.root}", file=sys.stderr)
        return 2
    if args.predictions:
        predictions = _read_json(args.predictions)
    else:
        predictions = predict_corpus(stories, engine_predictor)
    scores = score(predictions, all_labels(stories))
    if args.json:
        print(json.dumps(scores, indent=2))
    else:
        print(format_report(scores, max_errors=args.errors))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
