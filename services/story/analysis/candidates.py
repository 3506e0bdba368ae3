"""Candidates: every place a sentence may tell of a development, found broadly.

Three sources propose candidates. The phrasings in `triggers` read a sentence closely and give a
finding with its outcome and background reasons; the cues in `cues.json` are broad (a decision
word in any voice or register, a hearing or trial noun, a custody verb, a verdict or sentence
word) and propose a candidate of each type the phrasings did not read; the learned proposer
(`proposer`) proposes a type neither read where the sentence's words say it. None decides: the
learned decision (`decision`) keeps or drops each candidate and picks its outcome.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from .developments import ArticleContext, Finding, finding_at
from .text import own_words

CUES_FILE = Path(__file__).with_name("cues.json")

# of several cues of one type in a sentence, the one whose date rule governs the candidate
_DATE_RULE_ORDER = {"new_date": 0, "set_date": 1, "after": 2, "nearest": 3}


@dataclass(frozen=True)
class Cue:
    type: str
    outcome: str | None
    date_rule: str
    pattern: re.Pattern


@dataclass(frozen=True)
class Candidate:
    """A possible development: the finding as read, where it came from (`rule`, `cue`,
    `quote` or `learned`), and the outcomes the cues of its type suggest in its sentence."""
    finding: Finding
    source: str
    cue_outcomes: tuple[str, ...] = ()


@cache
def cues() -> tuple[Cue, ...]:
    data = json.loads(CUES_FILE.read_text(encoding="utf-8"))
    return tuple(Cue(c["type"], c["outcome"], c["date_rule"], re.compile(c["pattern"]))
                 for c in data["cues"])


@lru_cache(maxsize=4096)
def cue_matches(low: str) -> dict[str, list[tuple[Cue, re.Match]]]:
    """The cues found in a folded lowercase sentence, by type, in order of position (cached:
    the candidates of a sentence and their features read the same matches; do not change
    the answer)."""
    found: dict[str, list[tuple[Cue, re.Match]]] = {}
    for cue in cues():
        for m in cue.pattern.finditer(low):
            found.setdefault(cue.type, []).append((cue, m))
    for matches in found.values():
        matches.sort(key=lambda cm: cm[1].start())
    return found


def cue_outcome_names(matches: list[tuple[Cue, re.Match]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(c.outcome or "none" for c, _ in matches))


def cue_candidates(sentence: str, index: int, ctx: ArticleContext,
                   read: set[tuple[str, str | None]]) -> list[Candidate]:
    """One candidate per type whose cues occur in the sentence and that the phrasings did not
    read (`read`: the types and outcomes they found there; a hearing's outcomes count apart)."""
    low = own_words(sentence).lower()
    if len(low) < 12:
        return []
    out = []
    for type_, matches in cue_matches(low).items():
        if type_ != "hearing" and any(t == type_ for t, _ in read):
            continue
        # a hearing's outcomes are different events ("vacated the conference and set trial
        # for May"): one candidate each; other types take one candidate per sentence
        groups = [[cm for cm in matches if cm[0].outcome == outcome]
                  for outcome in dict.fromkeys(c.outcome for c, _ in matches)] \
            if type_ == "hearing" else [matches]
        for group in groups:
            if (type_, group[0][0].outcome) in read:
                continue
            cue, _ = min(group, key=lambda cm: (_DATE_RULE_ORDER[cm[0].date_rule],
                                                cm[1].start()))
            first = group[0][1]
            finding = finding_at(type_, cue.outcome, first.start(), first.end(), sentence,
                                 index, ctx, cue.date_rule)
            out.append(Candidate(finding, "cue", cue_outcome_names(matches)))
    out += _decided_appeal(low, sentence, index, ctx, read)
    return out


def _decided_appeal(low: str, sentence: str, index: int, ctx: ArticleContext,
                    read: set[tuple[str, str | None]]) -> list[Candidate]:
    """An appeal and a decision in one sentence ("The appeal is DISMISSED", "the Court of
    Appeal allowed her appeal") may be the appeal decided: a candidate of its own, with the
    decision's outcome, beside the appeal filed and the ruling the cues propose."""
    found = cue_matches(low)
    decisions = [(c, m) for c, m in found.get("ruling", ()) if c.outcome in DECIDED]
    if not decisions or "appeal" not in found or any(t == "appeal" and o in DECIDED
                                                     for t, o in read):
        return []
    cue, m = decisions[0]
    finding = finding_at("appeal", cue.outcome, m.start(), m.end(), sentence, index, ctx)
    return [Candidate(finding, "cue", cue_outcome_names(decisions))]


DECIDED = ("granted", "denied", "mixed")


def with_outcome(candidate: Candidate, outcome: str | None, sentence: str,
                 ctx: ArticleContext) -> Finding:
    """The candidate's finding read again with another outcome (a hearing's outcome decides
    which of its sentence's dates is its own)."""
    finding = candidate.finding
    if outcome == finding.outcome:
        return finding
    rule = {"scheduled": "after", "postponed": "new_date", "cancelled": "set_date"}.get(
        outcome or "", "nearest") if finding.type == "hearing" else "nearest"
    start = finding.position
    end = start + max(1, len(finding.trigger))
    again = finding_at(finding.type, outcome, start, end, sentence, finding.sentence_index, ctx,
                       rule)
    return again
