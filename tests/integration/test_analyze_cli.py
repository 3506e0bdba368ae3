"""`storywire analyze`: the contract, in publish order, through a real event store — and the
same answers as the pure engine."""

import json
import subprocess
import sys
from pathlib import Path

from services.story.analysis import Article, StoryDefinition, run_offline
from services.story.analysis.corpus import load_corpus
from services.story.offline import analyze_files, story_definition

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_KEYS = {"id", "on_story", "duplicate_of", "new_sentences", "developments", "conflicts"}


LABELLED = ("corpus", "holdout", "blind", "blind2", "blind3", "blind4", "blind5")


def test_store_backed_analysis_equals_the_pure_engine(db_url):
    """Every labelled story goes through the store: every article's events can be recorded
    (one article may move a matter twice) and say what the pure engine says."""
    stories = [s for root in LABELLED for s in load_corpus(ROOT / "tests" / root)]
    assert len(stories) == 22
    for corpus_story in stories:
        through_store = list(analyze_files(corpus_story.story, corpus_story.articles, db_url))
        definition = StoryDefinition(**story_definition(corpus_story.story))
        pure = [a.contract() for a in
                run_offline(definition, [Article.from_dict(a) for a in corpus_story.articles])]
        assert through_store == pure


def test_cli_prints_one_contract_object_per_article_in_publish_order(tmp_path):
    corpus_story = load_corpus(ROOT / "tests" / "corpus")[0]
    story_file = tmp_path / "story.json"
    story_file.write_text(json.dumps(corpus_story.story))
    paths = []
    for article in reversed(corpus_story.articles):  # given out of order
        path = tmp_path / f"{article['id']}.json"
        path.write_text(json.dumps(article))
        paths.append(str(path))
    result = subprocess.run([sys.executable, "-m", "services.cli", "analyze", "--story-file",
                             str(story_file), *paths, "--json"], capture_output=True, text=True,
                            cwd=ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in lines] == [a["id"] for a in corpus_story.articles]
    for obj in lines:
        assert set(obj) == CONTRACT_KEYS
        for dev in obj["developments"]:
            assert set(dev) >= {"type", "outcome", "date", "evidence"}
    assert any(o["duplicate_of"] for o in lines)
    assert any(not o["on_story"] for o in lines)


def test_a_story_file_may_group_its_entities_by_kind(tmp_path):
    """Entities grouped by kind, with aliases, are the same names as a flat list: the answers
    are the same."""
    corpus_story = load_corpus(ROOT / "tests" / "corpus")[0]
    names = list(corpus_story.story["entities"])
    grouped = dict(corpus_story.story,
                   entities={"people": names[:2], "aliases": {names[2]: names[3:]}})
    flat = list(analyze_files(corpus_story.story, corpus_story.articles))
    assert any(o["on_story"] for o in flat)
    assert list(analyze_files(grouped, corpus_story.articles)) == flat
