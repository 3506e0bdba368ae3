"""Proper names: finding them in a sentence and matching their variants."""

from __future__ import annotations

import re
from functools import lru_cache

from .text import STOPWORDS, fold, plain, regex, without_quotes, words

# Capitalised words that are not names by themselves.
GENERIC = frozenset("""
a an the and but or nor so yet for of in on at to by from with as into after before while when
where if though although because since until unless once then there here this that these those
he she it they we i you his her its their our my your him them us who whom whose what which
mr mrs ms dr sen rep gov gen lt col sgt st jr sr judge justice magistrate president chief
attorney general prosecutor prosecutors officials official agent agents director deputy
spokesman spokeswoman spokesperson lawyer lawyers defense defendant u s us federal state
district court courts department office monday tuesday wednesday thursday friday saturday
sunday january february march april may june july august september october november december
jan feb mar apr jun jul aug sep sept oct nov dec today yesterday tomorrow tonight however
meanwhile still also instead other another some many most more all both each every no not
in-depth related photo video latest read watch update updated breaking exclusive new old
north south east west northern southern eastern western central international national
""".split())

NICKNAME_ARTICLES = frozenset({"el", "la", "los", "las", "the"})   # "El Chapo", "The Count"
NAME_JOINERS = frozenset({"of", "de", "del", "la", "le", "van", "von", "der", "den", "da",
                          "dos", "bin", "al", "y", "for"})

_TOKEN = re.compile(r"[A-Za-z][A-Za-z'\-.]*[A-Za-z.]|[A-Za-z]")
_SENTENCE_OPENERS = frozenset('"(-:')
_RUN_BREAKS = frozenset(',;:()"')          # punctuation that ends a run of names
# 'Joaquin "El Chapo" Guzman': a short capitalised quotation inside a name is a nickname
_NICKNAME = re.compile(r'(?<=[A-Za-z]) "((?:[A-Z][\w\'.-]*\s?){1,3})" (?=[A-Z])')


def _is_capitalised(token: str) -> bool:
    return token[:1].isupper()


def proper_names(sentence: str, mid_sentence_caps: frozenset[str] = frozenset()) -> list[str]:
    """Capitalised word runs outside quotes ("Michelle Gelernt", "Federal Defenders of New
    York"). A lone capitalised word at the start of a sentence or quote counts only when the
    article also capitalises it mid-sentence (`mid_sentence_caps`, folded lowercase)."""
    return list(_proper_names(sentence, mid_sentence_caps))


@lru_cache(maxsize=16384)
def _proper_names(sentence: str, mid_sentence_caps: frozenset[str]) -> tuple[str, ...]:
    letters = list(filter(str.isalpha, sentence))
    if letters and sum(map(str.isupper, letters)) > len(letters) / 2:
        return []                         # an all-capitals line tells nothing about names
    text = _NICKNAME.sub(lambda m: f" {m.group(1).strip()} ", fold(plain(sentence)))
    text = fold(without_quotes(text, placeholder=" : "))
    names: list[str] = []
    run: list[str] = []
    run_starts_sentence = False
    previous_char = ":"

    def close():
        nonlocal run
        while run and run[-1].lower() in NAME_JOINERS:
            run.pop()
        if run:
            parts = [t.rstrip(".") if not regex(r"(?:[A-Z]\.)+").fullmatch(t) else t for t in run]
            distinctive = [p for p in parts if p.lower().strip(".") not in GENERIC
                           and p.lower() not in NAME_JOINERS]
            if distinctive:
                if len(parts) == 1 and run_starts_sentence \
                        and parts[0].lower() not in mid_sentence_caps:
                    pass
                else:
                    names.append(" ".join(parts))
        run = []

    position = 0
    for match in _TOKEN.finditer(text):
        token = match.group(0).removesuffix("'s")
        gap = text[position:match.start()]
        position = match.end()
        starts_sentence = not run and (previous_char in _SENTENCE_OPENERS
                                       or not _SENTENCE_OPENERS.isdisjoint(gap)
                                       or match.start() == 0)
        if run and not _RUN_BREAKS.isdisjoint(gap):
            close()
            starts_sentence = not _SENTENCE_OPENERS.isdisjoint(gap)
        if _is_capitalised(token):
            if not run:
                run_starts_sentence = starts_sentence
            if run and run_starts_sentence and len(run) == 1 \
                    and run[0].lower().strip(".") in GENERIC:
                run = []          # "The Sinaloa ..." -> start the run at "Sinaloa"
                run_starts_sentence = False
            run.append(token)
        elif run and token.lower() in NAME_JOINERS and token.islower():
            run.append(token)
        else:
            close()
        previous_char = token[-1]
    close()
    return tuple(names)


def name_tokens(name: str) -> set[str]:
    """The distinctive folded tokens of a name ("Judge Brian Cogan" -> {"brian", "cogan"})."""
    return {t for t in words(name) if t not in GENERIC and t not in NAME_JOINERS and len(t) > 1}


def mid_sentence_capitals(sentences: list[str]) -> frozenset[str]:
    """Folded words an article capitalises somewhere other than a sentence start."""
    caps: set[str] = set()
    for sentence in sentences:
        tokens = _TOKEN.findall(fold(without_quotes(sentence, placeholder=" : ")))
        for prev, token in zip(tokens, tokens[1:], strict=False):
            if _is_capitalised(token) and not prev.endswith(":"):
                caps.add(token.lower().rstrip("."))
    return frozenset(caps)


# -- story entities -----------------------------------------------------------------------------

ORGANISATION_WORDS = frozenset("""
international center centre court department agency association union university institute
bureau office committee council foundation group inc corp co company ltd llc party ministry
administration service services commission authority hospital prison jail penitentiary
correctional detention facility defenders network news times post cartel school college
""".split())


SHORTENABLE = frozenset({"international", "inc", "corp", "co", "ltd", "llc", "group",
                         "foundation", "network", "company", "association"})
# words too common to stand for an organisation on their own ("Metropolitan", "Health")
COMMON_NAME_WORDS = frozenset("""
metropolitan national international american united federal general central first new global
royal state city county health healthcare medical systems system services service group
partners holdings capital bank financial energy harbor port commons community public home
north south east west northern southern eastern western great grand mountain valley river
lake park city street data yield trust security securities
mobility motors logistics technologies technology labs industries solutions software payments
pharmaceuticals pharma therapeutics airlines airways foods media entertainment studios ventures
enterprises brands robotics networks telecom communications insurance realty properties
transport freight aggregates mining advisory consulting construction
""".split())


def _looks_like_organisation(tokens: list[str]) -> bool:
    """ "Kestrel Mobility", "Heronsgate Advisory", "Brandvold & Teague": a trade word after
    the first, or a firm's ampersand."""
    if "&" in tokens:
        return True
    return any(t.strip(".,") in COMMON_NAME_WORDS or t.strip(".,") in ORGANISATION_WORDS
               for t in tokens[1:])


def is_organisation(entity: str) -> bool:
    """ "Amnesty International", "Keystone Yield": a body, not a person."""
    tokens = [t.strip(".,") for t in fold(entity).lower().replace('"', " ").split()]
    return any(t in ORGANISATION_WORDS or t in STOPWORDS for t in tokens) or \
        (len(tokens) >= 2 and _looks_like_organisation(tokens))


def entity_variants(entity: str) -> tuple[str, ...]:
    """Folded lowercase phrases that mention an entity: the full name, first + last for people,
    the surname alone, the distinctive part of an organisation's name."""
    tokens = [t for t in fold(entity).lower().replace('"', " ").split() if t]
    if not tokens:
        return ()
    full = " ".join(tokens)
    variants = [full]
    is_organisation = any(t.strip(".,") in ORGANISATION_WORDS or t in STOPWORDS
                          for t in tokens)
    if is_organisation or len(tokens) >= 2 and _looks_like_organisation(tokens):
        first = tokens[0].strip(".,")
        if len(first) >= 5 and first not in COMMON_NAME_WORDS and first not in GENERIC \
                and first not in ORGANISATION_WORDS:
            variants.append(first)        # "Amnesty International" -> "amnesty"
        return tuple(dict.fromkeys(variants))
    elif len(tokens) >= 2:
        if tokens[0] in NICKNAME_ARTICLES:
            return tuple(variants)                  # a nickname: "El Chapo" stays whole
        surnames = [t for t in tokens[1:] if len(t) >= 4 and t not in GENERIC
                    and t not in NAME_JOINERS]      # "Guzman Loera": either surname alone
        if len(tokens) > 2:
            variants.extend(f"{tokens[0]} {s}" for s in surnames)
        variants.extend(surnames)
    return tuple(dict.fromkeys(variants))
