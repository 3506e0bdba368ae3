"""Dates in news sentences: find the spans first, then resolve them against the publish date.

Spans are found with explicit patterns (weekday names, "March 28", "May 5, 2021", "in June",
"next week", "two years ago"...), never by running a parser over a whole sentence, so "23 hours
a day", "24-hour" and the verb "may" are not dates. A weekday is resolved with the tense of its
clause: "declined Thursday" is the most recent Thursday on or before the publish date, "will hold
a hearing on Friday" the next Friday on or after it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache

from .text import plain, regex

MONTHS = {"jan": 1, "feb": 2, "mar": 3, "apr": 4, "may": 5, "jun": 6, "jul": 7, "aug": 8,
          "sep": 9, "oct": 10, "nov": 11, "dec": 12}
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
NUMBER_WORDS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5,
                "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11,
                "twelve": 12, "several": 3, "a few": 3, "few": 3, "a couple of": 2}

_MONTH = (r"(?P<mon>Jan(?:uary|\.)?|Feb(?:ruary|\.)?|Mar(?:ch|\.)?|Apr(?:il|\.)?|May|June?|"
          r"July?|Aug(?:ust|\.)?|Sep(?:t(?:ember|\.)?|\.)?|Oct(?:ober|\.)?|Nov(?:ember|\.)?|"
          r"Dec(?:ember|\.)?)")
_FULL_MONTH = (r"(?P<mon>January|February|March|April|May|June|July|August|September|October|"
               r"November|December)")
# a year of the Buddhist era (Thai copy: "5 March 2568") is 543 years ahead of the common era
_YEAR = r"(?P<year>(?:19|20|25)\d{2})"
BUDDHIST_ERA_OFFSET = 543
_NUMBER = r"(?P<n>\d+|an?|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|" \
          r"several|a few|few|a couple of)"
# "Thursday, September 12, 2024", "Thu., Sept. 12", "Tuesday 20 August": the weekday is part
# of the date, not a second date to resolve on its own
_WEEKDAY_PREFIX = (r"(?:(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|Mon|Tues?|"
                   r"Wed|Thu(?:rs?)?|Fri|Sat|Sun)\.?,?\s+(?:the\s+)?)?")
_LEAD = r"(?:(?:nearly|almost|about|more than|over|some|roughly|just|less than|around)\s+)?"
ORDINALS = ("first second third fourth fifth sixth seventh eighth ninth tenth eleventh twelfth "
            "thirteenth fourteenth fifteenth sixteenth seventeenth eighteenth nineteenth "
            "twentieth").split()
_ORDINAL = (r"(?:(?:twenty|thirty)[\s-](?:first|second|third|fourth|fifth|sixth|seventh|"
            r"eighth|ninth)|thirtieth|" + "|".join(sorted(ORDINALS, key=len, reverse=True)) + ")")

_NUMBERED = re.compile(r"\d\s+$")
# (kind, pattern), most specific first; a later pattern never overlaps an earlier span.
_PATTERNS: list[tuple[str, re.Pattern]] = [
    ("iso", re.compile(r"\b(?P<year>(?:19|20)\d{2})-(?P<month>\d{2})-(?P<day>\d{2})\b")),
    ("numeric", re.compile(r"\b(?P<month>\d{1,2})/(?P<day>\d{1,2})/(?P<year>(?:19|20)?\d{2})\b")),
    # "13.06.2025", "27.9.2024": day, month and year with dots, as Indian and European copy
    # writes them
    ("dotted", re.compile(r"(?<![\d.])(?P<day>\d{1,2})\.(?P<month>\d{1,2})\."
                          r"(?P<year>(?:19|20)\d{2})\b(?!\.\d)")),
    ("month_day", re.compile(r"\b" + _WEEKDAY_PREFIX + _MONTH
                             + r"\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?\b"
                             r"(?!\s*(?:%|percent|years?|months?|days?|hours?|people|counts?))"
                             r"(?:,?\s+" + _YEAR + r"\b)?")),
    ("month_day", re.compile(r"\b" + _WEEKDAY_PREFIX
                             + r"(?P<day>\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?" + _FULL_MONTH
                             + r"\b(?:,?\s+" + _YEAR + r"\b)?")),
    # "the third of July", "the twenty-first of March": a day told in words
    ("month_day", re.compile(r"\bthe\s+(?P<ordinal>" + _ORDINAL + r")\s+of\s+" + _FULL_MONTH
                             + r"\b(?:,?\s+" + _YEAR + r"\b)?", re.IGNORECASE)),
    # "on the 4th", "until the 25th", "the 20th of this month": a day of the month alone, as
    # translated Japanese, Korean and Chinese copy dates events
    ("day_of_month", re.compile(
        r"\b(?:on|since|until|till|from|by|to|before|after|as of)\s+the\s+"
        r"(?P<day>\d{1,2})(?:st|nd|rd|th)\b"
        r"(?:\s+of\s+(?P<which>this|last|next|the same|the previous|the following)\s+month)?"
        r"(?!\s+(?:of\s+)?(?:century|centuries|anniversary|floor|time|times|day|round|"
        r"amendment|circuit|district|division|ward|precinct|street|avenue|birthday|minute|"
        r"hour|place|edition|session|hole|inning|lap|congress|parliament|court|chamber|"
        r"bench|senate|assembly|criminal|civil|judicial|annual|largest|biggest|count|"
        r"charge|defendant|accused|suspect|witness|case|hearing|person|man|woman|"
        r"January|February|March|April|May|June|July|August|September|October|November|"
        r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\b)", re.IGNORECASE)),
    ("month", re.compile(r"\b" + _MONTH + r",?\s+(?:of\s+)?" + _YEAR + r"\b")),
    ("month", re.compile(r"\b(?P<prep>in|since|until|till|by|during|through|from|before|after|"
                         r"of|for|to|last|next|this|early|late|mid|earlier in|later in|end of|"
                         r"beginning of|start of|as of)[\s-]+(?:(?:early|late|mid)[\s-]+)?"
                         + _FULL_MONTH + r"\b(?!\s*\d)", re.IGNORECASE)),
    ("weekday", re.compile(r"\b(?:(?P<mod>last|next|this|coming|past)\s+)?"
                           r"(?P<wd>Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday)"
                           r"(?:\s+(?:morning|afternoon|evening|night))?\b")),
    ("relative_day", re.compile(r"\b(?P<word>today|tonight|yesterday|tomorrow|"
                                r"this (?:morning|afternoon|evening)|last (?:night|evening))\b",
                                re.IGNORECASE)),
    ("ago", re.compile(r"\b" + _LEAD + _NUMBER + r"\s+(?P<unit>day|week|month|year|decade)s?"
                       r"\s+ago\b", re.IGNORECASE)),
    ("ahead", re.compile(r"\b(?:in|within)\s+" + _LEAD + _NUMBER
                         + r"\s+(?P<unit>day|week|month)s?\b(?!\s+(?:in|of)\b)",
                         re.IGNORECASE)),
    ("period", re.compile(r"\b(?P<mod>last|next|this|past|coming|earlier this|later this|"
                          r"early next|late last|end of this|end of next|end of the)\s+"
                          r"(?P<unit>week|month|year|weekend)\b", re.IGNORECASE)),
    ("year", re.compile(r"\b(?:in|since|until|by|during|from|before|after|of|early|late|mid|"
                        r"throughout|through|as of)[\s-]+(?:early\s+|late\s+|mid-?)?"
                        + _YEAR + r"\b(?![-/]\d)(?!s\b)", re.IGNORECASE)),
]


@dataclass(frozen=True)
class DateSpan:
    start: int
    end: int
    text: str
    kind: str
    year: int | None = None
    month: int | None = None
    day: int | None = None
    weekday: int | None = None
    modifier: str | None = None
    amount: int | None = None
    unit: str | None = None


@dataclass(frozen=True)
class ResolvedDate:
    value: str | None        # "YYYY-MM-DD", "YYYY-MM", "YYYY" or None (e.g. "next week")
    earliest: date           # the first day the expression can mean, for comparisons
    granularity: str         # day | month | year | week


def _month_number(name: str) -> int:
    return MONTHS[name.lower().rstrip(".")[:3]]


def _ordinal_day(words: str) -> int:
    """ "third" 3, "twenty-first" 21, "thirtieth" 30."""
    words = words.lower().replace("-", " ").split()
    if words == ["thirtieth"]:
        return 30
    tens = {"twenty": 20, "thirty": 30}.get(words[0], 0) if len(words) == 2 else 0
    return tens + ORDINALS.index(words[-1]) + 1


def _amount(text: str) -> int:
    text = text.lower()
    return int(text) if text.isdigit() else NUMBER_WORDS.get(text, 1)


def find_date_spans(sentence: str) -> list[DateSpan]:
    """Date expressions in a sentence, in order of appearance, without overlaps."""
    return list(_date_spans(sentence))


@lru_cache(maxsize=16384)
def _date_spans(sentence: str) -> tuple[DateSpan, ...]:
    text = plain(sentence)
    taken: list[tuple[int, int]] = []
    spans: list[DateSpan] = []
    for kind, pattern in _PATTERNS:
        for m in pattern.finditer(text):
            start, end = m.span()
            if any(start < e and s < end for s, e in taken):
                continue
            span = _span_from(kind, m, text)
            if span is not None:
                taken.append((start, end))
                spans.append(span)
    return tuple(sorted(spans, key=lambda s: s.start))


def _span_from(kind: str, m: re.Match, text: str) -> DateSpan | None:
    groups = m.groupdict()
    start, end = m.span()
    if kind in ("iso", "numeric", "dotted"):
        year = int(groups["year"])
        if year < 100:
            year += 2000
        month, day = int(groups["month"]), int(groups["day"])
        if kind == "numeric" and month > 12 >= day:
            month, day = day, month     # "14/12/2023": day first, as most of the world writes
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return None
        return DateSpan(start, end, m.group(0), "date", year=year, month=month, day=day)
    if kind == "month_day":
        day = int(groups["day"]) if groups.get("day") else _ordinal_day(groups["ordinal"])
        if not 1 <= day <= 31:
            return None
        mon = groups["mon"]
        year = _common_era(groups.get("year"))
        return DateSpan(start, end, m.group(0), "date" if year else "month_day",
                        year=year, month=_month_number(mon), day=day)
    if kind == "day_of_month":
        day = int(groups["day"])
        if not 1 <= day <= 31:
            return None
        which = (groups.get("which") or "").replace("the ", "")
        modifier = {"same": "this", "previous": "last", "following": "next"}.get(which, which)
        return DateSpan(start, end, m.group(0), "day_of_month", day=day,
                        modifier=modifier or None)
    if kind == "month":
        mon = groups["mon"]
        if not mon[:1].isupper():
            return None          # "in may" is not a month
        year = _common_era(groups.get("year"))
        prep = (groups.get("prep") or "").lower()
        modifier = prep if prep in ("last", "next", "this") else None
        return DateSpan(start, end, m.group(0), "month", year=year,
                        month=_month_number(mon), modifier=modifier)
    if kind == "weekday":
        return DateSpan(start, end, m.group(0), "weekday",
                        weekday=WEEKDAYS.index(groups["wd"].lower()),
                        modifier=(groups.get("mod") or "").lower() or None)
    if kind == "relative_day":
        return DateSpan(start, end, m.group(0), "relative_day", modifier=groups["word"].lower())
    if kind in ("ago", "ahead"):
        return DateSpan(start, end, m.group(0), kind, amount=_amount(groups["n"]),
                        unit=groups["unit"].lower())
    if kind == "period":
        return DateSpan(start, end, m.group(0), "period", modifier=groups["mod"].lower(),
                        unit=groups["unit"].lower())
    if kind == "year":
        if m.group(0)[:2].lower() == "of" and _NUMBERED.search(text, 0, start):
            return None          # "NSD 1182 of 2025", "No. 7 of 2024": a case's number
        return DateSpan(start, end, m.group(0), "year", year=_common_era(groups["year"]))
    return None


def _common_era(year: str | None) -> int | None:
    """A year as written, in the common era: a Buddhist-era year (2500 and on) less 543."""
    if not year:
        return None
    value = int(year)
    return value - BUDDHIST_ERA_OFFSET if value >= 2500 else value


# -- tense ----------------------------------------------------------------------------------------

_FUTURE = re.compile(
    r"\b(?:will|won't|shall|'ll|would|is to|are to|plans? to|intends? to|expects? to|"
    r"(?:is|are|was|were)\s+(?:also\s+|now\s+)?(?:scheduled|set|slated|expected|due|poised|"
    r"going)\b|scheduled for|set for|slated for|upcoming|next|coming)\b", re.IGNORECASE)
_PAST = re.compile(
    r"\b(?:\w+ed|was|were|had|did|said|told|wrote|held|met|gave|made|found|took|sent|shot|"
    r"threw|struck|upheld|overturned|began|came|went|left|heard|set|sought|brought|won|lost|"
    r"fought|led|ran|spoke|rose|fell|kept|paid|put|read|saw|thought|chose|broke)\b",
    re.IGNORECASE)
_UNTIL_BEFORE = re.compile(r"\b(?:until|till|to|for)\s+$", re.IGNORECASE)
_CLAUSE_BREAK = re.compile(r"[;:()]|,|\s-\s|\bbut\b|\band\b|\bwhile\b|\bwhere\b|\bwho\b|"
                           r"\bwhich\b|\bafter\b|\bbefore\b|\bwhen\b|\bthat\b")


def _clauses(text: str) -> list[tuple[int, int]]:
    bounds = [0]
    for m in _CLAUSE_BREAK.finditer(text):
        bounds.extend([m.start(), m.end()])
    bounds.append(len(text))
    pairs = [(bounds[i], bounds[i + 1]) for i in range(0, len(bounds) - 1, 2)]
    return [(s, e) for s, e in pairs if e > s]


def tense_at(sentence: str, position: int, end: int | None = None) -> str:
    """ "future" or "past" for the clause around a character span (news default: past).

    Within the clause the verb marker nearest to the span decides ("said he would rule Friday"
    is future); a clause without a verb ("On Friday, the court will ...") borrows from the
    nearest clause that has one."""
    text = plain(sentence)
    end = position if end is None else end
    clauses = _clauses(text)
    here = next((i for i, (s, e) in enumerate(clauses) if s <= position < e), None)
    order = []
    if here is not None:
        order = [here] + [j for k in range(1, len(clauses))
                          for j in (here + k, here - k) if 0 <= j < len(clauses)]
    for i in order:
        s, e = clauses[i]
        markers = [(m.start() + s, m.end() + s, "future") for m in _FUTURE.finditer(text[s:e])]
        markers += [(m.start() + s, m.end() + s, "past") for m in _PAST.finditer(text[s:e])]
        markers = [mk for mk in markers if mk[1] <= position or mk[0] >= end]
        if i == here and _UNTIL_BEFORE.search(text[max(0, position - 12):position]):
            return "future"           # "delayed until June 15", "adjourned to June 2"
        if not markers:
            continue

        def distance(marker):
            ms, me, kind = marker
            before = me <= position
            gap = position - me if before else ms - end
            return (not before, gap, kind != "future")
        nearest = min(markers, key=distance)
        if nearest[2] == "past" and any(
                kind == "future" and 0 <= nearest[0] - me <= 25 for _, me, kind in markers):
            return "future"           # "will be arraigned", "is scheduled to be sentenced"
        return nearest[2]
    return "future" if _FUTURE.search(text) else "past"


# -- resolution -----------------------------------------------------------------------------------

def _add_months(year: int, month: int, delta: int) -> tuple[int, int]:
    index = year * 12 + (month - 1) + delta
    return index // 12, index % 12 + 1


def _safe_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _distance(offset: int, tense: str, slack: int) -> float:
    """How unlikely a reading `offset` units from the publish date is, given the tense: a
    reading on the wrong side of the publish date ("was sentenced on May 5" read as next May)
    counts double, so it wins only when it is much closer ("pushed back to April 11")."""
    if tense == "past" and offset > slack:
        return offset * 2
    if tense == "future" and offset < -slack:
        return -offset * 2
    return abs(offset)


def resolve(span: DateSpan, published: date, tense: str = "past") -> ResolvedDate | None:
    """What a date expression means for an article published on `published`."""
    if span.kind == "date":
        d = _safe_date(span.year, span.month, span.day)
        return ResolvedDate(d.isoformat(), d, "day") if d else None
    if span.kind == "month_day":
        candidates = [d for y in (published.year - 1, published.year, published.year + 1)
                      if (d := _safe_date(y, span.month, span.day))]
        if not candidates:
            return None
        best = min(candidates, key=lambda d: _distance((d - published).days, tense, 1))
        return ResolvedDate(best.isoformat(), best, "day")
    if span.kind == "day_of_month":
        # the month is the publish month or one beside it: the nearest reading on the side of
        # the publish date its tense points to ("arrested on the 4th", told on the 5th)
        steps = {"last": (-1,), "this": (0,), "next": (1,)}.get(span.modifier, (-1, 0, 1))
        candidates = [d for step in steps
                      if (d := _safe_date(*_add_months(published.year, published.month, step),
                                          span.day))]
        if not candidates:
            return None
        best = min(candidates, key=lambda d: _distance((d - published).days, tense, 1))
        return ResolvedDate(best.isoformat(), best, "day")
    if span.kind == "month":
        year = span.year
        if year is None:
            if span.modifier == "last":
                year = published.year - (1 if span.month >= published.month else 0)
            elif span.modifier == "next":
                year = published.year + (1 if span.month <= published.month else 0)
            elif tense == "past":        # "filed in September", told in June: last year's
                year = published.year - (1 if span.month > published.month else 0)
            else:                        # "expected in March", told in June: next year's
                year = published.year + (1 if span.month < published.month else 0)
        return ResolvedDate(f"{year:04d}-{span.month:02d}", date(year, span.month, 1), "month")
    if span.kind == "year":
        return ResolvedDate(f"{span.year:04d}", date(span.year, 1, 1), "year")
    if span.kind == "weekday":
        delta = (span.weekday - published.weekday()) % 7       # days ahead, 0..6
        if span.modifier == "last":
            d = published - timedelta(days=(7 - delta) % 7 or 7)
        elif span.modifier in ("next", "coming"):
            d = published + timedelta(days=delta or 7)
        elif span.modifier == "past":
            d = published - timedelta(days=(7 - delta) % 7 or 7)
        elif tense == "future":
            d = published + timedelta(days=delta or 7)
        else:
            d = published - timedelta(days=(7 - delta) % 7)
        return ResolvedDate(d.isoformat(), d, "day")
    if span.kind == "relative_day":
        offset = {"yesterday": -1, "last night": -1, "last evening": -1,
                  "tomorrow": 1}.get(span.modifier, 0)
        d = published + timedelta(days=offset)
        return ResolvedDate(d.isoformat(), d, "day")
    if span.kind in ("ago", "ahead"):
        sign = -1 if span.kind == "ago" else 1
        n = span.amount or 1
        if span.unit in ("day", "week"):
            d = published + timedelta(days=sign * n * (7 if span.unit == "week" else 1))
            if span.unit == "day":
                return ResolvedDate(d.isoformat(), d, "day")
            return ResolvedDate(None, d, "week")
        if span.unit == "month":
            y, m = _add_months(published.year, published.month, sign * n)
            return ResolvedDate(f"{y:04d}-{m:02d}", date(y, m, 1), "month")
        years = n * (10 if span.unit == "decade" else 1)
        y = published.year + sign * years
        return ResolvedDate(f"{y:04d}", date(y, 1, 1), "year")
    if span.kind == "period":
        mod, unit = span.modifier, span.unit
        step = -1 if mod in ("last", "past", "late last") else \
            1 if mod in ("next", "coming", "early next", "end of next") else 0
        if unit in ("week", "weekend"):
            monday = published - timedelta(days=published.weekday()) + timedelta(weeks=step)
            return ResolvedDate(None, monday, "week")
        if unit == "month":
            y, m = _add_months(published.year, published.month, step)
            return ResolvedDate(f"{y:04d}-{m:02d}", date(y, m, 1), "month")
        y = published.year + step
        return ResolvedDate(f"{y:04d}", date(y, 1, 1), "year")
    return None


def resolve_in(sentence: str, span: DateSpan, published: date) -> ResolvedDate | None:
    if regex(r"(?:until|till|for|to)\b", re.IGNORECASE).match(span.text):
        return resolve(span, published, "future")     # "set for July", "delayed until June"
    return resolve(span, published, tense_at(sentence, span.start, span.end))


def dates_in(sentence: str, published: date) -> list[tuple[DateSpan, ResolvedDate]]:
    """Every date expression in a sentence with what it resolves to."""
    return list(_dates_in(sentence, published))


@lru_cache(maxsize=16384)   # a sentence's triggers, cues and quotes read the same dates
def _dates_in(sentence: str, published: date) -> tuple[tuple[DateSpan, ResolvedDate], ...]:
    found = []
    for span in find_date_spans(sentence):
        resolved = resolve_in(sentence, span, published)
        if resolved is not None:
            found.append((span, resolved))
    return tuple(found)


def is_well_before(resolved: ResolvedDate, published: date, days: int = 21) -> bool:
    """True when a date lies clearly in the past of the article: background, not news."""
    if resolved.granularity == "year":
        return resolved.earliest.year < published.year
    if resolved.granularity == "month":
        y, m = resolved.earliest.year, resolved.earliest.month
        return (y, m) < _add_months(published.year, published.month, -1) or \
            ((y, m) < (published.year, published.month) and published.day > days)
    return resolved.earliest < published - timedelta(days=days)
