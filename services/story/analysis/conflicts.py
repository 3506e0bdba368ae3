"""Reported facts that can disagree between sources: which jail, which court, how old, how long
a sentence. Each observation names an attribute group; two values of one group disagree by the
group's own rule (a different institution of the same kind; an age that cannot be a birthday
apart; a different sentence length)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .text import fold, plain

_CAP = r"[A-Z][A-Za-z.\-]+"
_INSTITUTION = re.compile(
    rf"\b(?P<mods>(?:{_CAP}\s+(?:of\s+(?:the\s+)?)?){{1,4}})"
    r"(?P<head>Center|Centre|Jail|Prison|Penitentiary|Facility|Institution|Complex|Court|"
    r"Courthouse|Hospital)\b")
_DETENTION_WORDS = {"correctional", "corrections", "detention", "penitentiary", "jail", "prison",
                    "custody", "holding", "processing"}
_SHARED_GENERIC = {
    "u.s.", "us", "u.s", "united", "states", "federal", "state", "county", "district", "supreme",
    "appeals", "appellate", "circuit", "superior", "international", "national", "high",
    "criminal", "civil", "family", "bankruptcy", "magistrate", "municipal", "city", "the", "of",
    "correctional", "corrections", "detention", "center", "centre", "jail", "prison", "facility",
    "institution", "complex", "court", "courthouse", "hospital", "medical", "general",
    "penitentiary",
    "maximum", "security", "special", "housing", "unit"}
_LEADING_NOISE = {"the", "a", "an", "at", "in", "inside", "from", "to", "and", "but", "on",
                  "brooklyn", "manhattan", "judge", "district"}

_NUMBER_WORDS = {w: i for i, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty".split())}
_NUMBER_WORDS.update({"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70,
                      "eighty": 80, "ninety": 90})

_AGE_AFTER_NAME = re.compile(r"\b(?P<name>[A-Z][a-z]+(?:\s+[A-Z][a-z]+){0,3}),\s+(?P<age>\d{1,3}),")
_AGE_BEFORE_NAME = re.compile(r"\b(?P<age>\d{1,3})-year-old\s+(?:[a-z\-]+\s+){0,3}?"
                              r"(?P<name>[A-Z][a-z]+(?:\s+[A-Z][a-z]+){0,3})")
_SENTENCED = re.compile(
    r"\bsentenced\s+(?:\w+\s+){0,3}?to\s+(?P<len>life(?:\s+in\s+prison)?|"
    r"(?P<n>\d+|[a-z]+(?:-[a-z]+)?)\s+(?P<unit>years?|months?))")
_SUBJECT_NAME = re.compile(r"([A-Z][a-z]+(?:\s+[A-Z][a-z]+){0,3})")


@dataclass(frozen=True)
class Observation:
    group: str          # what is compared: "detention facility", "age:guzman"
    attribute: str      # how it reads: "detention facility", "age of Guzman"
    kind: str           # institution | age | sentence_length
    value: str          # as reported, readable
    key: str            # normalized for comparison


def _number(text: str) -> int | None:
    text = text.lower()
    if text.isdigit():
        return int(text)
    total = 0
    for part in text.split("-"):
        if part not in _NUMBER_WORDS:
            return None
        total += _NUMBER_WORDS[part]
    return total


def _institutions(text: str) -> list[Observation]:
    found = []
    for m in _INSTITUTION.finditer(text):
        words = m.group("mods").split() + [m.group("head")]
        while words and words[0].lower().strip(".") in _LEADING_NOISE:
            words.pop(0)
        if len(words) < 2:
            continue
        lowered = {w.lower() for w in words}
        head = m.group("head").lower()
        if head in ("jail", "prison", "penitentiary") or lowered & _DETENTION_WORDS:
            kind = "detention facility"
        elif head in ("court", "courthouse"):
            kind = "court"
        elif head == "hospital" or "medical" in lowered:
            kind = "hospital"
        else:
            continue
        value = " ".join(words)
        found.append(Observation(kind, kind, "institution", value,
                                 " ".join(w.lower().strip(".") for w in words)))
    return found


def _ages(text: str) -> list[Observation]:
    found = []
    for pattern in (_AGE_AFTER_NAME, _AGE_BEFORE_NAME):
        for m in pattern.finditer(text):
            age = int(m.group("age"))
            if not 14 <= age <= 110:
                continue
            surname = m.group("name").split()[-1]
            found.append(Observation(f"age:{surname.lower()}", f"age of {surname}", "age",
                                     str(age), str(age)))
    return found


def _sentence_lengths(text: str) -> list[Observation]:
    found = []
    for m in _SENTENCED.finditer(text):
        if m.group("len").startswith("life"):
            value = "life"
        else:
            n = _number(m.group("n"))
            if n is None:
                continue
            unit = m.group("unit").rstrip("s")
            value = f"{n} {unit}{'s' if n != 1 else ''}"
        before = text[:m.start()]
        names = [n for n in _SUBJECT_NAME.findall(before)
                 if n.split()[0].lower() not in ("the", "a", "he", "she", "judge", "u")]
        surname = names[-1].split()[-1] if names else None
        group = f"sentence:{surname.lower()}" if surname else "sentence"
        attribute = f"prison sentence of {surname}" if surname else "prison sentence"
        found.append(Observation(group, attribute, "sentence_length", value, value))
    return found


def observations(sentences: list[str] | tuple[str, ...]) -> list[Observation]:
    """What an article reports about the comparable attributes, in order, without repeats."""
    seen: dict[tuple[str, str], Observation] = {}
    for sentence in sentences:
        for obs in _observed(sentence):
            seen.setdefault((obs.group, obs.key), obs)
    return list(seen.values())


@lru_cache(maxsize=16384)      # an article's sentences are read when analysed and when learnt
def _observed(sentence: str) -> tuple[Observation, ...]:
    text = fold(plain(sentence))
    return (*_institutions(text), *_ages(text), *_sentence_lengths(text))


def disagree(earlier: Observation, later: Observation, years_apart: float = 0.0) -> bool:
    """Whether two reports of one attribute group contradict each other. Ages may grow by the
    years between the two reports, plus one for a birthday in between."""
    if earlier.group != later.group or earlier.key == later.key:
        return False
    if earlier.kind == "institution":
        a, b = set(earlier.key.split()), set(later.key.split())
        if a <= b or b <= a:
            return False                  # "Metropolitan Correctional Center" in a longer name
        shared = (a & b) - _SHARED_GENERIC
        same_head = earlier.key.split()[-1] == later.key.split()[-1]
        return bool(shared) and same_head
    if earlier.kind == "age":
        old, new = int(earlier.key), int(later.key)
        return new < old or new - old > int(years_apart) + 1
    return True
