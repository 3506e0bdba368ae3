"""Text handling: normalization, sentence splitting, datelines and page furniture."""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import pysbd
from pysbd.lang.english import English

from shared.text import comparable, content_hash

__all__ = ["comparable", "content_hash", "fold", "plain", "regex", "words", "split_paragraphs",
           "split_sentences", "article_sentences", "strip_dateline", "is_furniture",
           "without_quotes", "STOPWORDS"]

@lru_cache(maxsize=4096)
def regex(pattern: str, flags: int = 0) -> re.Pattern:
    """`re.compile` with a cache of its own: pysbd compiles a new pattern for every sentence it
    splits, which keeps evicting ours from the `re` module's 512 entries."""
    return re.compile(pattern, flags)


_PLAIN = str.maketrans({"\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'",
                        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"',
                        "\u00ab": '"', "\u00bb": '"', "\u2032": "'", "\u2033": '"',
                        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-",
                        "\u2014": "-", "\u2015": "-", "\u2212": "-", "\u00a0": " ",
                        "\u2026": "..."})


@lru_cache(maxsize=65536)
def plain(text: str) -> str:
    """Same characters a reader sees, with one kind of quote, apostrophe and dash; case kept."""
    text = unicodedata.normalize("NFKC", text).translate(_PLAIN)
    return " ".join(text.split())


_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


def _without_combining(run: re.Match) -> str:
    return "".join(c for c in run.group(0) if not unicodedata.combining(c))


@lru_cache(maxsize=65536)
def fold(text: str) -> str:
    """`plain` without accents: "Guzmán" and "Guzman" become the same letters. Case kept."""
    decomposed = unicodedata.normalize("NFKD", plain(text))
    return _NON_ASCII.sub(_without_combining, decomposed)   # no ASCII character is combining


_ABBREVIATION_DOTS = re.compile(r"\b((?:[a-z]\.){2,})")
_POSSESSIVE = re.compile(r"'s\b")
_WORD = re.compile(r"[a-z0-9]+")

STOPWORDS = frozenset("""
a about above after again against all also am an and any are as at be because been before
being below between both but by can could did do does doing down during each few for from
further had has have having he her here hers herself him himself his how i if in into is it
its itself just me more most my myself no nor not now of off on once only or other our ours
out over own same she should so some such than that the their theirs them themselves then
there these they this those through to too under until up very was we were what when where
which while who whom why will with would you your yours said says say told according also
one two new
""".split())


def words(text: str) -> list[str]:
    """Lowercase, accent-free word tokens; possessive 's dropped, "U.S." kept as "us"."""
    return list(_words(text))


@lru_cache(maxsize=65536)
def _words(text: str) -> tuple[str, ...]:
    folded = fold(text).lower()
    folded = _ABBREVIATION_DOTS.sub(lambda m: m.group(1).replace(".", ""), folded)
    folded = _POSSESSIVE.sub("", folded)
    folded = folded.replace("'", "")
    return tuple(_WORD.findall(folded))


# -- paragraphs and sentences -------------------------------------------------------------------

@lru_cache(maxsize=1)
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False)


_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def split_paragraphs(body: str) -> list[str]:
    body = body.replace("\r\n", "\n").replace("\r", "\n")
    paragraphs = (" ".join(p.split()) for p in _PARAGRAPH_BREAK.split(body))
    return [p for p in paragraphs if p]


_FRAGMENT_END = re.compile(r"\b(?:[ap]\.m|[A-Z][a-z]{0,3}|[A-Z](?:\.[A-Z])*)\.\s*$")
_CLOCK_END = re.compile(r"\b[ap]\.m\.\s*$")
_TIME_WORDS = re.compile(r"^(?:Monday|Tuesday|Wednesday|Thursday|Friday|Saturday|Sunday|"
                         r"January|February|March|April|May|June|July|August|September|"
                         r"October|November|December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|"
                         r"Nov|Dec|[A-Z]{2,4}T|[A-Z]?[EPMC][SD]?T|local|ET|PT|GMT|UTC)\b")


# A paragraph pysbd has nothing to decide in: letters (ASCII and Latin-1/Extended-A, without
# the dotless i, dotted I and long s that case-fold into ASCII), digits, spaces and plain
# punctuation; straight double quotes in pairs with no sentence end inside; every "." and "?"
# right after a word of two or more letters that is no pysbd abbreviation and followed by the
# paragraph's end or a space and a capital (or a quote and a capital); no "!", no apostrophe
# opening a word. There pysbd replaces nothing and cuts after every "." and "?", so splitting
# there gives what pysbd gives (checked against pysbd in tests/unit/test_sentence_split.py).
_LETTER = "A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u012f\u0132-\u017e"
_CAPITAL = "A-Z\u00c0-\u00d6\u00d8-\u00de"
_PLAIN_PARAGRAPH = re.compile(rf"[{_LETTER}0-9 ,;:'\"$%&/.?-]+")
_AMBIGUOUS = re.compile(rf"  |^ | $|--|(?<![{_LETTER}])['.?]|[.?](?! \"?[{_CAPITAL}]|$)|"
                        rf"-\"|\"\"|(?<!,)\" [{_CAPITAL}]")
_QUOTE_PAIR = re.compile(r'"[^"]*"')           # pysbd pairs quotes the same way, left to right
_WORD_AND_PERIOD = re.compile(r"(\S*)\.")
_PLAIN_BOUNDARY = re.compile(r"(?<=[.?]) ")
_PYSBD_ABBREVIATIONS = frozenset(a.strip().lower() for a in English.Abbreviation.ABBREVIATIONS)


def _plain_split(paragraph: str) -> list[str] | None:
    """The sentences of a paragraph with no ambiguous boundary, as pysbd splits it; None when
    pysbd has to decide ("U.S.", "Mr.", "5 p.m.", "3.5", ". . .", a quote ending a sentence)."""
    if not _PLAIN_PARAGRAPH.fullmatch(paragraph) or _AMBIGUOUS.search(paragraph):
        return None
    if any("." in q or "?" in q for q in _QUOTE_PAIR.findall(paragraph)):
        return None
    for m in _WORD_AND_PERIOD.finditer(paragraph):
        word = m.group(1)
        if len(word) < 2 or word.lower() in _PYSBD_ABBREVIATIONS or word.endswith("Co"):
            return None
    return _PLAIN_BOUNDARY.split(paragraph)


def _pysbd_split(paragraph: str) -> list[str]:
    sentences = _segmenter().processor(paragraph).process()
    if all(sentences):
        sentences = _as_written(sentences, paragraph)
    else:
        sentences = _segmenter().segment(paragraph)
    pieces = [s.strip() for s in sentences]
    return [s for s in pieces if s]


def _as_written(sentences: list[str], text: str) -> list[str]:
    """What pysbd's `Segmenter.segment` returns for the sentences its processor found: each one
    as it stands in `text` with the whitespace after it, matched left to right. pysbd compiles
    a pattern of each sentence (and the whitespace after it) to find it; `str.find` finds the
    same."""
    found: list[str] = []
    prior_end = 0
    for sentence in sentences:
        at = text.find(sentence)
        while at >= 0:
            end = at + len(sentence)
            while end < len(text) and text[end].isspace():
                end += 1
            if end > prior_end:
                found.append(text[at:end])
                prior_end = end
                break
            at = text.find(sentence, end)
    return found


@lru_cache(maxsize=16384)
def _segment(paragraph: str) -> tuple[str, ...]:
    pieces = _plain_split(paragraph)
    if pieces is None:
        pieces = _pysbd_split(paragraph)
    merged: list[str] = []
    for piece in pieces:
        # pysbd sometimes cuts after "p.m." or an initial ("5 p.m. | Tuesday.")
        if merged and (_FRAGMENT_END.search(merged[-1])
                       and (len(piece.split()) <= 2 or piece[:1].islower())
                       or _CLOCK_END.search(merged[-1]) and _TIME_WORDS.match(piece)):
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return tuple(merged)


def split_sentences(body: str) -> list[str]:
    """Sentences of a plain-text body, paragraph by paragraph (pysbd: "U.S.", "N.Y.", ". . .")."""
    sentences: list[str] = []
    for paragraph in split_paragraphs(body):
        sentences.extend(_segment(paragraph))
    return sentences


# -- datelines and page furniture ---------------------------------------------------------------

_PLACE_WORD = r"[A-Z][A-Za-z.'\-]*"
_DATELINE = re.compile(
    r"""^\s*
    (?:date\s+\d{4}-\d{2}-\d{2}\s*[:\-]?\s*)?             # a scraped "date 2017-05-04" prefix
    (?:
      (?P<caps>[A-Z][A-Z.'\-]+(?:\s+[A-Z][A-Z.'\-]+){0,3})  # BROOKLYN / MEXICO CITY
      |(?P<place>""" + _PLACE_WORD + r"""(?:\s+""" + _PLACE_WORD + r"""){0,3})
    )
    (?:,\s*""" + _PLACE_WORD + r"""(?:\s+""" + _PLACE_WORD + r"""){0,2})?      # , N.Y.
    (?:,?\s+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)[a-z]*\.?\s+\d{1,2})?
    (?P<agency>\s*\([A-Za-z .&'\-]{1,30}\))?                 # (AP), (CN), (Reuters)
    \s*(?:-{1,2}|\u2013|\u2014)\s+""",
    re.VERBOSE)
_DATE_PREFIX = re.compile(r"^\s*date\s+\d{4}-\d{2}-\d{2}\s*[:\-]?\s*")


def strip_dateline(paragraph: str) -> str:
    """ "BROOKLYN, N.Y. (CN) — Unwilling ..." -> "Unwilling ..." (also "date 2017-05-04 ...")."""
    text = _DATE_PREFIX.sub("", paragraph, count=1)
    match = _DATELINE.match(paragraph)
    if match and len(match.group(0)) <= 90 and (match.group("caps") or match.group("agency")):
        rest = paragraph[match.end():]
        if rest[:1].isupper() or rest[:1] in "\"'\u201c":
            return rest
    return text


_FURNITURE_START = re.compile(
    r"^(?:latest videos?|advertisement|related(?: coverage| stories| articles)?|read more|"
    r"more from|sign up|subscribe|follow (?:us|@)|share (?:this|on)|watch(?: more| now)?:?|"
    r"click here|copyright|\(c\)|\u00a9|all rights reserved|recommended|top stories|"
    r"trending|listen to|download (?:the|our)|photo gallery|video:|editor'?s note)\b",
    re.IGNORECASE)
_CAPTION = re.compile(
    r"\b(?:credit|photo|photograph|image|picture|caption)s?\s*:|getty images|\(ap photo|"
    r"/ ?ap photo|reuters/|\bafp\b\s*/|associated press photo|\bphoto by\b", re.IGNORECASE)
_RIGHTS = re.compile(r"^(?:copyright|\(c\)|\u00a9)\b", re.IGNORECASE)
_CREDITS = re.compile(r"\bcontributed (?:to this report|reporting)\b|^this (?:story|article) "
                      r"(?:has been|was) (?:updated|corrected)\b|\ball rights reserved\b|"
                      r"^(?:follow|contact) (?:him|her|them|the author|[A-Z][a-z]+ [A-Z][a-z]+) "
                      r"(?:on|at)\b|^sign up\b", re.IGNORECASE)
_BYLINE = re.compile(r"^by\s+[A-Z][\w.'\-]+(?:\s+[A-Z][\w.'\-]+){0,3}(?:\s*,.*)?$")
_ENDS_LIKE_PROSE = re.compile(r"[.!?]['\")\]]*$|[.!?]\s*$|:$")


def is_furniture(paragraph: str, following: list[str] = ()) -> bool:
    """Page furniture rather than reporting: captions, teasers, video links, bare headlines."""
    text = plain(paragraph)
    if _CAPTION.search(text):
        return True
    if _FURNITURE_START.match(text) and len(text.split()) <= 15:
        return True
    if _RIGHTS.match(text) or _CREDITS.search(text) and len(text.split()) <= 30:
        return True
    if text.endswith("...") and len(text) > 3:
        stem = fold(text[:-3]).strip().lower()
        if any(fold(p).lower().startswith(stem) or stem in fold(p).lower() for p in following):
            return True
    if not _ENDS_LIKE_PROSE.search(text) and len(text.split()) <= 14:
        return True   # headline, section label, byline
    if _BYLINE.match(text) \
            and len(text.split()) <= 12:
        return True
    return False


_BOILERPLATE = re.compile(r"(?i)(?:notes? (?:to|for) editors?|editors?'?s?'? notes?|-*\s*ends\s*-*|"
                          r"#{3}|media contacts?|for further information)\s*:?$")


def article_sentences(body: str, title: str = "") -> list[str]:
    """The reporting sentences of an article: dateline stripped, page furniture dropped."""
    return [s for paragraph in article_paragraphs(body, title) for s in paragraph]


_CLOCK = re.compile(r"\s*(?:(?:\d{1,2}[:.]\d{2}\s*(?:a\.?m\.?|p\.?m\.?|am|pm)?|\d{1,2}\s*"
                    r"(?:a\.?m\.?|p\.?m\.?))\s*(?:[A-Z]{2,4}\s*)?[-\u2013\u2014:|]"
                    # a 24-hour time and the entry straight after it: "15:52 The jury ..."
                    r"|(?:[01]?\d|2[0-3]):[0-5]\d\s+(?-i:[A-Z]))", re.IGNORECASE)


def live_entries(body: str, title: str = "") -> frozenset[int]:
    """The indexes (in `article_sentences`) of the sentences of live entries: paragraphs that
    open with a clock time ("9:14 a.m. - We're on the record. The judge takes the bench.")."""
    found, index = set(), 0
    for paragraph in article_paragraphs(body, title):
        if paragraph and _CLOCK.match(paragraph[0]):
            found.update(range(index, index + len(paragraph)))
        index += len(paragraph)
    return frozenset(found)


@lru_cache(maxsize=256)
def article_paragraphs(body: str, title: str = "") -> tuple[tuple[str, ...], ...]:
    """The reporting sentences of an article by paragraph (see `article_sentences`)."""
    paragraphs = split_paragraphs(body)
    kept: list[str] = []
    title_key = fold(title).lower().strip() if title else None
    for i, paragraph in enumerate(paragraphs):
        if _BOILERPLATE.match(fold(paragraph).strip()):
            break                 # a press release's "Notes to editors": background for editors
        if title_key and fold(paragraph).lower().strip() == title_key:
            continue
        if is_furniture(paragraph, paragraphs[i + 1:i + 3]):
            continue
        if not kept:
            paragraph = strip_dateline(paragraph)
        kept.append(paragraph)
    return tuple(tuple(s for s in _segment(paragraph) if not _CAPTION.search(s))
                 for paragraph in kept)


# -- quotations ---------------------------------------------------------------------------------

_QUOTED = re.compile(r'"[^"]*"|"[^"]*$')


def without_quotes(sentence: str, placeholder: str = "QUOTE") -> str:
    """The sentence in the reporter's own words: double-quoted passages replaced."""
    return _QUOTED.sub(placeholder, plain(sentence))


@lru_cache(maxsize=4096)
def own_words(sentence: str) -> str:
    """The sentence without quotations, folded (case kept): what the detectors, the cues and
    the features all read of one sentence, worked out once."""
    return fold(without_quotes(sentence))


def quoted_share(sentence: str) -> float:
    text = plain(sentence)
    inside = sum(len(m.group(0)) for m in _QUOTED.finditer(text))
    return inside / max(1, len(text))
