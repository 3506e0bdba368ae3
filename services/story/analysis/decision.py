"""The decision: which candidates are new developments, and with what outcome.

A decider sees every candidate of an article with its features and answers, per candidate,
`None` (not a development of this article) or a `Decision` (its outcome; a date only where a
labeller supplies it). Three deciders:

- `LearnedDecider`: the model trained by `storywire train` (a linear model over the features,
  shipped as `decision_model.json`; scoring it needs nothing but this module);
- `RuleDecider`: the phrasings' own word (a rule finding told as news), for comparison;
- `GoldDecider`: the labels of a corpus article, used in training: it keeps what a labeller
  marked and records each candidate's features with its label.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Protocol

from .candidates import Candidate
from .proposer import Proposer, compiled

MODEL_FILE = Path(__file__).with_name("decision_model.json")
OUTCOME_TYPES = ("ruling", "hearing", "verdict", "appeal")


@dataclass(frozen=True)
class Decision:
    outcome: str | None
    date: str | None = None          # set only by a labeller (GoldDecider)
    score: float = 1.0


@dataclass(frozen=True)
class Item:
    """One candidate as the decider sees it."""
    candidate: Candidate
    sentence: str
    features: dict[str, float]


class Decider(Protocol):
    def decide(self, article_id: str, items: Sequence[Item]) -> list[Decision | None]: ...


class RuleDecider:
    """A rule finding told as news is a development; cues alone are not."""

    reads_news = False      # the article-level recap rules still apply to what it keeps

    def decide(self, article_id: str, items: Sequence[Item]) -> list[Decision | None]:
        return [Decision(i.candidate.finding.outcome)
                if i.candidate.source in ("rule", "quote") and not i.candidate.finding.background
                else None for i in items]


def dot(weights: dict[str, float], features: dict[str, float]) -> float:
    get = weights.get           # a plain loop: a third cheaper than sum() over a generator
    total = 0.0
    for name, value in features.items():
        weight = get(name)
        if weight is not None:
            total += weight * value
    return total


def sigmoid(x: float) -> float:
    if x < -40:
        return 0.0
    return 1.0 / (1.0 + math.exp(-x))


class LearnedDecider:
    """The trained linear model: P(new development) per candidate, then the outcome."""

    reads_news = True       # what it keeps is news, dated or not

    def __init__(self, model: dict):
        self.model = model
        self.threshold = float(model.get("threshold", 0.5))
        # a phrasing's reading told as news stands unless the model is this sure it is not
        self.rule_floor = float(model.get("rule_floor", self.threshold))
        keep = model["keep"]
        self.keep_weights: dict[str, float] = keep["weights"]
        self.keep_bias = float(keep["bias"])
        self.outcomes = model.get("outcome", {})
        self.proposer = compiled(model.get("proposer"))    # the learned source of candidates

    def keep_probability(self, features: dict[str, float]) -> float:
        return sigmoid(self.keep_bias + dot(self.keep_weights, features))

    def outcome(self, type_: str, current: str | None, features: dict[str, float]) -> str | None:
        model = self.outcomes.get(type_)
        if model is None:
            return current
        classes = model["classes"]
        if len(classes) == 1:
            return classes[0]
        scores = {c: model["bias"][c] + dot(model["weights"][c], features) for c in classes}
        best = max(classes, key=lambda c: scores[c])
        return None if best == "none" else best

    def decide(self, article_id: str, items: Sequence[Item]) -> list[Decision | None]:
        out: list[Decision | None] = []
        for item in items:
            p = self.keep_probability(item.features)
            candidate = item.candidate
            cut = min(self.threshold, self.rule_floor) if candidate.source == "rule" and \
                not candidate.finding.background else self.threshold
            if p < cut:
                out.append(None)
                continue
            finding = item.candidate.finding
            outcome = self.outcome(finding.type, finding.outcome, item.features)
            out.append(Decision(outcome, score=round(p, 4)))
        return out


@cache
def packaged_decision_model() -> dict | None:
    if not MODEL_FILE.exists():
        return None
    return json.loads(MODEL_FILE.read_text(encoding="utf-8"))


@cache
def default_decider() -> Decider:
    """The packaged model's decider, built once: it holds nothing of an article, and building
    it indexes the proposer's weights."""
    model = packaged_decision_model()
    return LearnedDecider(model) if model is not None else RuleDecider()


# -- training: the labeller's decisions -----------------------------------------------------------

def _squash(text: str) -> str:
    return " ".join(text.split())


def evidence_in(evidence: str, sentence: str) -> bool:
    """Whether a labelled evidence span and a sentence of the article overlap."""
    ev, s = _squash(evidence), _squash(sentence)
    if not ev or not s:
        return False
    if ev in s or s in ev:
        return True
    k = min(30, len(ev), len(s))
    return ev[:k] in s or ev[-k:] in s or s[:k] in ev


@dataclass
class Example:
    """A candidate's features and what the labeller says of it."""
    article_id: str
    type: str
    features: dict[str, float]
    keep: bool
    outcome: str | None
    weight: float = 1.0
    sentence: str = ""


@dataclass
class GoldDecider:
    """Keeps the candidates the labels mark as new developments, with the labelled outcome and
    date, and records every candidate as a training example."""

    reads_news = True
    labels: dict[str, dict]
    proposer: Proposer | None = None        # the learned source of candidates, as in use
    examples: list[Example] = field(default_factory=list)
    missed: list[tuple[str, dict]] = field(default_factory=list)

    def on_story(self, article_id: str) -> bool | None:
        label = self.labels.get(article_id)
        return None if label is None else bool(label.get("on_story"))

    def decide(self, article_id: str, items: Sequence[Item]) -> list[Decision | None]:
        label = self.labels.get(article_id) or {}
        gold = [g for g in label.get("developments") or [] if g.get("evidence")]
        chosen: dict[int, dict] = {}
        for g in gold:
            matching = [i for i, item in enumerate(items)
                        if i not in chosen and item.candidate.finding.type == g["type"]
                        and evidence_in(g["evidence"], item.sentence)]
            if not matching:
                self.missed.append((article_id, g))
                continue
            best = min(matching, key=lambda i: (
                items[i].candidate.finding.outcome != g.get("outcome"),
                items[i].candidate.source != "rule",
                items[i].candidate.finding.background))
            chosen[best] = g
        out: list[Decision | None] = []
        for i, item in enumerate(items):
            finding = item.candidate.finding
            g = chosen.get(i)
            if g is not None:
                out.append(Decision(g.get("outcome"), g.get("date")))
                self.examples.append(Example(article_id, finding.type, item.features, True,
                                             g.get("outcome"), 1.0, item.sentence))
                continue
            out.append(None)
            # the same event told again in the article (the lead and a later paragraph):
            # neither a clear yes nor a clear no
            retold = any(finding.type == g["type"] and (
                evidence_in(g["evidence"], item.sentence)
                or (finding.outcome == g.get("outcome") and finding.date == g.get("date")))
                for g in chosen.values())
            self.examples.append(Example(article_id, finding.type, item.features, False, None,
                                         0.0 if retold else 1.0, item.sentence))
        return out
