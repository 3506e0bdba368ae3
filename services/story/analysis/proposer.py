"""The learned source of candidates: where a sentence tells of a development that neither a
phrasing nor a cue reads.

A linear model per development type weighs the words of a sentence (single words and pairs of
words, as `text.words` reads them) and gives the probability that the sentence tells of a
development of that type. It is fit by `storywire train` on the sentences of the labelled
articles (a sentence holding a development's evidence is a positive of its type) and shipped
inside `decision_model.json` under "proposer". Where the probability reaches the model's
threshold and the sentence has no candidate of that type yet, it proposes one, with no outcome:
the learned decision keeps or drops it and picks its outcome, as for any other candidate.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from .candidates import Candidate
from .developments import ArticleContext, finding_at
from .text import own_words, words


def sentence_features(sentence: str) -> dict[str, float]:
    """The single words and the pairs of adjacent words of a sentence."""
    tokens = words(sentence)
    feats = {f"w:{t}": 1.0 for t in tokens}
    feats.update({f"p:{a}_{b}": 1.0 for a, b in zip(tokens, tokens[1:], strict=False)})
    return feats


@dataclass(frozen=True, eq=False)
class Proposer:
    """A proposer ready to score: a row of weights, one per type, for each word or pair that
    weighs for some type (`rows`: its row in `weights`)."""
    threshold: float
    types: tuple[str, ...]
    rows: dict[str, int]
    weights: np.ndarray                 # (1 + words and pairs, types): row 0 the biases


def compiled(model: dict | None) -> Proposer | None:
    """The proposer of a model's "proposer" entry as one matrix: a sentence is scored by
    summing the rows of its words and pairs (one look-up per word, whatever the number of
    types)."""
    if not model:
        return None
    types = tuple(model["types"])
    rows: dict[str, int] = {}          # row 0 holds the biases
    for type_ in types:
        for name in model["types"][type_]["weights"]:
            rows.setdefault(name, len(rows) + 1)
    weights = np.zeros((len(rows) + 1, len(types)))
    for i, type_ in enumerate(types):
        weights[0, i] = float(model["types"][type_]["bias"])
        for name, weight in model["types"][type_]["weights"].items():
            weights[rows[name], i] = weight
    return Proposer(float(model["threshold"]), types, rows, weights)


def type_probabilities(proposer: Proposer, sentence: str) -> dict[str, float]:
    """P(the sentence tells of a development of the type), per type the proposer knows."""
    found = [r for r in map(proposer.rows.get, sentence_features(sentence)) if r is not None]
    # the bias row first, then the words in order: summed row by row, the same sums to the
    # last bit as adding each weight in turn (what training saw)
    z = proposer.weights[[0, *found]].sum(axis=0)
    return {t: (1.0 / (1.0 + math.exp(-v)) if v > -40 else 0.0)
            for t, v in zip(proposer.types, z.tolist(), strict=True)}


def _trigger(proposer: Proposer, type_: str, sentence: str) -> tuple[int, int]:
    """Where the sentence's surest word for the type stands in its folded, quote-blanked
    lowercase form (the offsets a finding takes); the sentence's start when no word weighs."""
    i = proposer.types.index(type_)

    def weight(token: str) -> float:
        row = proposer.rows.get(f"w:{token}")
        return 0.0 if row is None else float(proposer.weights[row, i])

    best = max(words(sentence), key=weight, default=None)
    if best is None or weight(best) <= 0:
        return 0, 1
    m = re.search(rf"\b{re.escape(best)}\b", own_words(sentence).lower())
    return (m.start(), m.end()) if m else (0, 1)


def proposals(proposer: Proposer | None, sentence: str, index: int, ctx: ArticleContext,
              read: set[str], probabilities: dict[str, float] | None = None
              ) -> list[Candidate]:
    """One candidate per type the proposer reads in the sentence at its threshold and no other
    source proposed (`read`: the types already proposed there; `probabilities`: the
    sentence's, when already worked out)."""
    if not proposer or len(sentence) < 12:
        return []
    out = []
    if probabilities is None:
        probabilities = type_probabilities(proposer, sentence)
    for type_, p in probabilities.items():
        if p < proposer.threshold or type_ in read:
            continue
        start, end = _trigger(proposer, type_, sentence)
        out.append(Candidate(finding_at(type_, None, start, end, sentence, index, ctx),
                             "learned"))
    return out


def proposer_features(type_: str, probabilities: dict[str, float]) -> dict[str, float]:
    """What the proposer says of a candidate's sentence, as features of the candidate: the
    probability of the candidate's type, in bands and as a value."""
    p = probabilities.get(type_)
    if p is None:
        return {}
    band = ("<.05" if p < 0.05 else "<.15" if p < 0.15 else "<.3" if p < 0.3 else
            "<.5" if p < 0.5 else "<.7" if p < 0.7 else ">=.7")
    return {f"prop={band}": 1.0, f"{type_}|prop={band}": 1.0, "prop": p, f"{type_}|prop": p}
