"""What the development detectors know about the article around a sentence."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import cached_property

from .names import GENERIC, mid_sentence_capitals, proper_names
from .text import fold, plain, without_quotes


@dataclass(frozen=True)
class ArticleContext:
    """What the detectors need to know about the article around a sentence."""
    published: date
    judges: tuple[str, ...] = ()                 # "Brian Cogan"
    caps: frozenset[str] = frozenset()           # words capitalised mid-sentence
    name_parts: frozenset[str] = frozenset()     # words of the article's multi-word names
    appeals_court: bool = False                  # the article is about an appeals court
    detention_sought: bool = False               # prosecutors asked that he be held

    @cached_property
    def judge_surnames(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(fold(j).lower().split()[-1] for j in self.judges if j))


_JUDGE_NAME = re.compile(
    r"\b(?:Judge|Justice|Magistrate|[Jj]udge,)\s+(?:(?:[A-Z][a-z]{1,4}\.)\s+)*"
    r"((?:[A-Z][A-Za-z'\-]+\.?\s+){0,2}[A-Z][A-Za-z'\-]+)")
_APPEALS = (r"\bappeals?\s+court\b|\bcourts? of appeals?\b|\bappellate\b|"
            r"\b\d+(?:st|nd|rd|th)\s+(?:u\.s\.\s+)?circuit\b|\bu\.s\. supreme court\b|"
            r"\bsupreme court of (?:the united states|canada)\b|\bhighest court\b|"
            r"\b(?:state|nation|country)(?:'s)? high court\b|\bhigh court of australia\b|"
            r"\bappeals panel\b|\bcircuit court of appeals\b|"
            r"\b(?:first|second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|eleventh|"
            r"d\.c\.|federal)\s+circuit\b|\b\d+(?:st|nd|rd|th|d)\s+cir\.|"
            r"\bcircuit judges?\b(?=[^.]{0,80}\bpanel\b)|(?<=\bpanel, )circuit judge\b|"
            r"\bcourt of criminal appeals\b|\bstate supreme court\b|\bappellate division\b")
APPEALS_COURT = re.compile(_APPEALS)
_NAME_WORD = re.compile(r"[A-Za-z'-]+")
_PROSECUTION = re.compile(r"\b(?:prosecutors?|prosecution|the state|the crown|the government)\b")
_DETENTION_ASKED = re.compile(r"\b(?:asked|sought|requested|moved|urged)\b[^.;]{0,60}?\b(?:held "
                              r"without (?:bail|bond)|detained|detention|kept in custody|"
                              r"remanded|no bail)\b")


def judges_named(sentences: list[str]) -> tuple[str, ...]:
    found: list[str] = []
    for sentence in sentences:
        for m in _JUDGE_NAME.finditer(fold(plain(sentence))):
            name = m.group(1).strip()
            if name.split()[-1].lower() in GENERIC:
                continue
            found.append(name)
    by_surname: dict[str, str] = {}
    for name in found:
        surname = name.split()[-1].lower()
        if len(name) > len(by_surname.get(surname, "")):
            by_surname[surname] = name          # the fullest form: "Brian Cogan" over "Cogan"
    return tuple(by_surname.values())


def article_context(sentences: list[str], published: date,
                    known_judges: tuple[str, ...] = ()) -> ArticleContext:
    """What the detectors need about an article; `known_judges` are the judges the story has
    named before, so "Sandoval revoked his bond" is read as the court acting."""
    caps = mid_sentence_capitals(sentences)
    parts: set[str] = set()
    for sentence in sentences:
        for name in proper_names(sentence, caps):
            tokens = fold(name).lower().split()
            if len(tokens) > 1:
                parts.update(t.strip(".") for t in tokens)
    appeals = any(APPEALS_COURT.search(fold(without_quotes(s)).lower()) for s in sentences[:3])
    judges = list(judges_named(sentences))
    if known_judges:
        name_words = {t.lower() for s in sentences for t in _NAME_WORD.findall(fold(s))}
        for judge in known_judges:
            surname = judge.split()[-1].lower()
            if surname in name_words and all(j.split()[-1].lower() != surname for j in judges):
                judges.append(judge)
    # "she asked that he be held without bond": the detention order grants the prosecution
    sought = any(_PROSECUTION.search(low) and _DETENTION_ASKED.search(low)
                 for low in (fold(without_quotes(s)).lower() for s in sentences))
    return ArticleContext(published=published, judges=tuple(judges), caps=caps,
                          name_parts=frozenset(parts), appeals_court=appeals,
                          detention_sought=sought)
