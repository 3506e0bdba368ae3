"""`storywire eval`: how well the engine does, per corpus and split, and how it generalizes.

    storywire eval                         # every split and corpus of tests/splits.json
    storywire eval --split test            # one split, with its per-type table
    storywire eval --corpus tests/blind5   # one corpus folder (errors listed)
    storywire eval --cv story              # leave-one-story-out over train and dev
    storywire eval --cv style              # leave-one-style-out over train and dev
    storywire eval --cv folds              # five-fold story cross-validation, end to end
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .corpus import load_corpus
from .evaluate import format_report
from .training import (
    SPLITS_FILE,
    LabelledStory,
    leave_one_out,
    load_splits,
    predict,
    score_stories,
    short_definition_routing,
)

HEADER = (f"{'set':<34} {'arts':>5} {'dev P':>6} {'dev R':>6} {'dev F1':>6} {'outc':>6} "
          f"{'date':>6} {'route':>6} {'copy':>6} {'copy!':>5}")


def row(name: str, result: dict) -> str:
    dev = result["developments"]["overall"]
    outcome = result["type_only"].get("decided_outcome_accuracy")
    dates = result["dates"]["accuracy"]

    def num(value) -> str:
        return f"{value:6.3f}" if value is not None else f"{'-':>6}"

    return (f"{name:<34} {result['articles']:>5} {num(dev['precision'])} {num(dev['recall'])} "
            f"{num(dev['f1'])} {num(outcome)} {num(dates)} {num(result['routing']['f1'])} "
            f"{num(result['copies']['f1'])} {result.get('copy_alerts', 0):>5}")


def per_type(result: dict) -> list[str]:
    lines = [f"  {'type':<10} {'prec':>6} {'rec':>6} {'f1':>6} {'tp':>4} {'fp':>4} {'fn':>4}"]
    for type_, m in result["developments"]["by_type"].items():
        if m["support"] or m["fp"]:
            lines.append(f"  {type_:<10} {m['precision']:6.3f} {m['recall']:6.3f} "
                         f"{m['f1']:6.3f} {m['tp']:>4} {m['fp']:>4} {m['fn']:>4}")
    return lines


def short_routing(name: str, stories: list[LabelledStory]) -> list[str]:
    shapes = short_definition_routing(stories)
    return [f"\n{name}, routing F1 with short definitions (e: entities, k: keywords, "
            f"-d: no description)",
            "  " + " ".join(f"{shape:>11}" for shape in shapes),
            "  " + " ".join(f"{m['f1']:11.3f}" for m in shapes.values())]


def _groups(stories: list[LabelledStory]) -> dict[str, list[LabelledStory]]:
    groups: dict[str, list[LabelledStory]] = {}
    for s in stories:
        groups.setdefault(f"split {s.split}", []).append(s)
    for s in stories:
        groups.setdefault(f"  {s.split}: {s.corpus}", []).append(s)
    return groups


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="storywire eval", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", type=Path, help="one corpus folder instead of the splits")
    parser.add_argument("--splits", type=Path, default=SPLITS_FILE)
    parser.add_argument("--split", choices=("train", "dev", "test"))
    parser.add_argument("--cv", choices=("story", "style", "folds"),
                        help="leave one story, one style or one of five folds of stories "
                             "out, over train and dev")
    parser.add_argument("--errors", type=int, default=10, help="errors to list per kind")
    parser.add_argument("--json", action="store_true", help="print the scores as JSON")
    args = parser.parse_args(argv)

    if args.corpus:
        stories = [LabelledStory("-", args.corpus.name, s) for s in load_corpus(args.corpus)]
        if not stories:
            print(f"storywire eval: no stories under {args.corpus}", file=sys.stderr)
            return 2
        result = score_stories(stories, lambda s: predict(s, None))
        if args.json:
            result["short_definition_routing"] = short_definition_routing(stories)
            print(json.dumps(result, indent=2))
            return 0
        print(format_report(result, max_errors=args.errors)
              + f"\ndevelopments alerted from copies: {result['copy_alerts']}")
        print("\n".join(short_routing(args.corpus.name, stories)))
        return 0

    stories = load_splits(args.splits)
    if args.cv:
        pool = [s for s in stories if s.split in ("train", "dev")]
        parts = leave_one_out(pool, args.cv, log=lambda m: print(m, file=sys.stderr))
        if args.json:
            print(json.dumps({k: v for k, v in parts.items()}, indent=2, default=str))
            return 0
        left_out = "one of five folds of stories" if args.cv == "folds" else f"one {args.cv}"
        print(f"leave {left_out} out, {len(pool)} stories of train and dev")
        print(HEADER)
        for name, result in parts.items():
            print(row(name, result))
        f1s = [r["developments"]["overall"]["f1"] for k, r in parts.items() if k != "all"]
        print(f"mean development F1 {sum(f1s) / len(f1s):.3f}, lowest {min(f1s):.3f}")
        return 0

    if args.split:
        stories = [s for s in stories if s.split == args.split]
    outputs = {s.story.slug: predict(s, None) for s in stories}
    results = {name: score_stories(group, lambda s: outputs[s.story.slug])
               for name, group in _groups(stories).items()}
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    print(HEADER)
    for name, result in results.items():
        print(row(name, result))
    for name, result in results.items():
        if name.startswith("split"):
            print(f"\n{name}, developments by type")
            print("\n".join(per_type(result)))
            print("\n".join(short_routing(name, _groups(stories)[name])))
    if args.split and args.errors:
        print()
        print(format_report(results[f"split {args.split}"], max_errors=args.errors))
    return 0
