"""Checks a labelled corpus folder against the labelling guide's format (no engine involved).

    python tests/check_corpus.py tests/learn/some-story [more folders or corpus roots ...]

Prints one line per problem and exits 1 if there is any. A folder holding a story.json is
checked as a story; any other folder is searched for story folders beneath it.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

STYLES = ("wire", "local", "docket", "client_alert", "press_release", "live_blog", "transcript",
          "newsletter", "translation", "brief", "feature", "passive", "tabloid")
OUTCOMES = {
    "ruling": ("granted", "denied", "mixed", "other"),
    "hearing": ("scheduled", "held", "postponed", "cancelled"),
    "filing": (None,), "verdict": ("guilty", "not_guilty", "mixed"), "sentence": (None,),
    "custody": (None,), "charge": (None,),
    "appeal": (None, "granted", "denied", "mixed", "other"), "statement": (None,),
}
DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2})?Z$")


def check_story(folder: Path, require_style: bool) -> list[str]:
    problems: list[str] = []

    def bad(message: str) -> None:
        problems.append(f"{folder.name}: {message}")

    story = json.loads((folder / "story.json").read_text(encoding="utf-8"))
    for key in ("title", "description", "entities", "keywords"):
        if not story.get(key):
            bad(f"story.json lacks {key}")
    zone = story.get("time_zone")
    if zone is not None:
        try:
            ZoneInfo(zone)
        except Exception:
            bad(f"story.json time_zone {zone!r} is not an IANA zone")
    elif require_style:
        bad("story.json lacks time_zone")
    articles = []
    for path in sorted((folder / "articles").glob("*.json")):
        article = json.loads(path.read_text(encoding="utf-8"))
        for key in ("id", "outlet", "url", "title", "published_at", "body"):
            if not isinstance(article.get(key), str) or not article[key].strip():
                bad(f"{path.name} lacks {key}")
        if article.get("id") != path.stem:
            bad(f"{path.name}: id {article.get('id')!r} differs from the file name")
        if not MOMENT.match(article.get("published_at", "")):
            bad(f"{path.name}: published_at must look like 2025-03-18T07:40:00Z")
        if require_style and article.get("style") not in STYLES:
            bad(f"{path.name}: style {article.get('style')!r} is not one of {STYLES}")
        articles.append(article)
    articles.sort(key=lambda a: (a.get("published_at", ""), a.get("id", "")))
    order = {a["id"]: i for i, a in enumerate(articles)}
    labels = json.loads((folder / "labels.json").read_text(encoding="utf-8"))
    if set(labels) != set(order):
        bad(f"labels and articles differ: {sorted(set(labels) ^ set(order))}")
    styles = set()
    for article in articles:
        label = labels.get(article["id"])
        if label is None:
            continue
        aid = article["id"]
        if not isinstance(label.get("on_story"), bool):
            bad(f"{aid}: on_story must be true or false")
        original = label.get("duplicate_of")
        if original is not None and (original not in order or order[original] >= order[aid]):
            bad(f"{aid}: duplicate_of {original!r} is not an earlier article of the folder")
        if label.get("on_story") and original is None:
            styles.add(article.get("style"))
        developments = label.get("developments")
        if not isinstance(developments, list):
            bad(f"{aid}: developments must be a list")
            continue
        if developments and not label.get("on_story"):
            bad(f"{aid}: an off-story article has no developments")
        for dev in developments:
            kind, outcome = dev.get("type"), dev.get("outcome")
            if kind not in OUTCOMES or outcome not in OUTCOMES[kind]:
                bad(f"{aid}: type/outcome {kind}/{outcome} is not in the guide")
            if dev.get("date") is not None and not DATE.match(str(dev["date"])):
                bad(f"{aid}: date {dev.get('date')!r} must be YYYY-MM-DD, YYYY-MM, YYYY or null")
            evidence = dev.get("evidence")
            if require_style or evidence is not None:
                if not evidence or article["body"].count(evidence) != 1:
                    bad(f"{aid}: evidence must occur exactly once in the body: {evidence!r}")
    if require_style and len(styles - {None}) < 6:
        bad(f"only {len(styles - {None})} styles among on-story originals (at least 6)")
    return problems


def story_folders(root: Path) -> list[Path]:
    if (root / "story.json").exists():
        return [root]
    return sorted(p.parent for p in root.rglob("story.json"))


def main(argv: list[str]) -> int:
    strict = "--strict" in argv
    problems: list[str] = []
    for arg in (a for a in argv if not a.startswith("--")):
        for folder in story_folders(Path(arg)):
            problems.extend(check_story(folder, strict))
    for line in problems:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
