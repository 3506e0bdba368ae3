"""Routing: does an article belong to a story?

An article is on a story when it is about the story's subject and about the story's topic.
The evidence is read as features and weighed by a small logistic model
(`routing_model.json`, rebuilt by `storywire train` from the labelled corpora, each story's
definition also thinned to a few entities and keywords so that a short definition routes as
well as a full one). An article that does not name the subject prominently, or shares nothing
of its topic, is never on the story (`eligible`):

- the subject is the story's first entity (e.g. "Joaquin Guzman"), or a nickname the
  description gives it ("El Chapo"). It must be prominent: in the headline, in
  the opening sentence, or mentioned at least twice. A piece that names the subject once in
  passing ("the case is unrelated to ...") is about something else, unless it also names
  several other entities of the definition (`ENTITIES_AMID`: a rewrite headlined "Arizona
  detention heat case" that names the jail once, and its operator, the agency and the judge);
- the topic is the rest of the definition: the other entities (judge, lawyers, jail), the
  keywords, the title's and the description's words, and how much of the article is about
  court proceedings at all (`routing_terms.json`). An article about the subject but on
  another topic (the company opening a hospital, not the lawsuit) does not route, and neither
  does one that shares the court, the judge or the city but not the subject.

Names match in their variants: accents stripped, "Guzman Loera" and "Guzmán", the surname
alone, an organisation's distinctive first word ("Amnesty"). One-word variants must be
capitalised in the text, so "Patients First Alliance" is not found in "patients".
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

from .decision import dot, sigmoid
from .model import Article, Route, StoryDefinition
from .names import (
    GENERIC,
    NICKNAME_ARTICLES,
    ORGANISATION_WORDS,
    entity_variants,
    is_organisation,
)
from .text import STOPWORDS, fold, regex, split_paragraphs, split_sentences, strip_dateline, words

STEM_ENDINGS = ("s", "es", "ed", "ing", "al")   # what a keyword may end in ("rule" ... "ruled")
MODEL_FILE = Path(__file__).with_name("routing_model.json")
TERMS_FILE = Path(__file__).with_name("routing_terms.json")
ENTITY_WEIGHT = 0.4      # a story without a subject: how much of its topic an article shares
KEYWORD_WEIGHT = 0.4
TITLE_WEIGHT = 0.2
TOPIC_ONLY_MIN = 0.5
ENTITIES_AMID = 4         # other entities named with the subject named once: it may be the story
# features that decide whether the model weighs an article, not how: it learns only from the
# articles the other rules let in (`training.routing_examples`)
GATES = ("named_amid",)
# what a headline calls an organisation it does not name ("river group", "water agency")
DESCRIPTORS = "group|agency|department|company|firm|council|district|board|charity|nonprofit"
# roles that make a person named in a description no subject of it ("Judge Ann Roe")
ROLE_WORDS = frozenset("judge justice magistrate attorney lawyer prosecutor counsel".split())


_OPENS_SENTENCE = re.compile(r'(?:^|[.!?:"\n]\s*)$')


@dataclass(frozen=True)
class _Term:
    label: str
    phrases: re.Pattern | None          # multi-word variants, matched case-insensitively
    single: re.Pattern | None           # one-word variants, matched capitalised
    person: bool = True                 # a surname; else an organisation's first word
    described: re.Pattern | None = None  # a headline's "river group" for "Sable River Keepers"
    # the literal words each pattern needs: a text holding none of them cannot match it
    phrase_words: tuple[str, ...] = ()
    single_words: tuple[str, ...] = ()  # lowercased
    # a person's first name, a mention once the article has named them in full ("Kamarul
    # Ariffin Jusoh ... Kamarul told the court"): many names are shortened to the first
    given: re.Pattern | None = None

    def spans(self, text: str, lowered: str) -> list[tuple[int, int]]:
        """Where the text mentions it (`lowered` is `text` lowercased, of the same length)."""
        # a match starts with one of the phrases: none can start before the first of them
        first = min((at for at in map(lowered.find, self.phrase_words) if at >= 0),
                    default=-1) if self.phrases else -1
        spans = [m.span() for m in self.phrases.finditer(lowered, first)] if first >= 0 else []
        if self.single and any(w in lowered for w in self.single_words):
            phrases = list(spans)
            for m in self.single.finditer(text):
                if any(s <= m.start() < e for s, e in phrases):
                    continue              # the surname inside the full name already counted
                if not self.person and _OPENS_SENTENCE.search(
                        text[max(0, m.start() - 3):m.start()]):
                    continue              # "Patients ..." opening a sentence is no "Patients
                                          # First Alliance"; "Ruiz said" still is Ruiz
                spans.append(m.span())
        if spans and self.given is not None:   # (the list is read whole before it grows)
            spans += [m.span() for m in self.given.finditer(text)
                      if not any(s <= m.start() < e for s, e in spans)]
        return spans

    def count(self, text: str, lowered: str) -> int:
        return len(self.spans(text, lowered))


def _term(label: str, variants: tuple[str, ...], stem: bool = False) -> _Term | None:
    variants = tuple(v for v in variants if v.strip())
    if not variants:
        return None
    ending = rf"(?:{'|'.join(STEM_ENDINGS)})?" if stem else r"(?:'s)?"
    multi = sorted({v for v in variants if " " in v or stem}, key=len, reverse=True)
    single = sorted({v for v in variants if " " not in v and not stem}, key=len, reverse=True)
    phrases = re.compile(rf"(?<![\w-])(?:{'|'.join(re.escape(v) for v in multi)}){ending}"
                         rf"(?![\w-])") if multi else None
    one = re.compile(rf"(?<![\w-])(?:{'|'.join(map(_capitalised, single))})"
                     rf"(?:'s)?(?![\w-])") if single else None
    person = not is_organisation(label)
    described = None
    if not person and not stem:
        name = sorted(_significant(label) - ORGANISATION_WORDS)
        if name:
            described = re.compile(rf"\b(?:{'|'.join(map(re.escape, name))})(?:'s)?\s+"
                                   rf"(?:{DESCRIPTORS})(?:'s|s)?\b")
    return _Term(label, phrases, one, person, described, tuple(multi), tuple(single),
                 _given_name(label) if person and not stem else None)


def _given_name(label: str) -> re.Pattern | None:
    """A person's first name as written ("Kamarul" of "Kamarul Ariffin Jusoh"); none for a
    title ("Judge ..."), a nickname ("El Chapo") or a short name."""
    tokens = fold(label).replace('"', " ").split()
    first = tokens[0] if tokens else ""
    if len(tokens) < 2 or not first[:1].isupper() or len(first) < 4 or \
            first.lower() in GENERIC or first.lower() in NICKNAME_ARTICLES:
        return None
    return re.compile(rf"(?<![\w-]){re.escape(first)}(?:'s)?(?![\w-])")


def _capitalised(word: str) -> str:
    """A pattern for a one-word variant written as a name: its first letter a capital, the
    rest in any case ("McAllister", "O'Brien", "BXR24", a headline's "OKAFOR")."""
    return re.escape(word[:1].upper()) + (f"(?i:{re.escape(word[1:])})" if word[1:] else "")


@dataclass(frozen=True)
class _Profile:
    subject: tuple[_Term, ...]          # the entities the title names, and their nicknames
    subject_groups: tuple[int, ...]     # per subject term, which subject it names
    entities: tuple[_Term, ...]         # every other entity of the definition
    keywords: tuple[_Term, ...]
    title_words: frozenset[str]
    description_words: frozenset[str]
    topic_words: frozenset[str]         # the title's, description's and keywords' words


def _significant(text: str) -> set[str]:
    return {w for w in words(text) if w not in STOPWORDS and len(w) > 2}


_CASE_CAPTION = re.compile(r"\bv(?:s)?\.?\s")


def _subject_indexes(story: StoryDefinition) -> tuple[int, ...]:
    """The story's subjects: every entity its title names ("Lanternlight Trust fraud case:
    Gillian Ashworth and Niall Brennock", "Acheampong v. Kestrel Mobility"), else its first
    entity (a story about a killing may be titled after the case, and its articles still
    follow the accused)."""
    if not story.entities:
        return ()
    named = [i for i, entity in enumerate(story.entities) if _title_names(story.title, entity)]
    people = [i for i in named if _is_person(story.entities[i])]
    if _CASE_CAPTION.search(fold(story.title)):
        return tuple(named) or (0,)     # a case caption: both parties are its subjects
    if not people and named and all(fold(story.entities[i]).lower() not in fold(story.title).lower()
                                    for i in named):
        # "Greyling police officer prosecuted ...": an organisation the title names only by a
        # word of its name is the setting; the people the description names are the subjects
        people = _described_people(story)
    return tuple(people or named) or (0,)


def _title_names(title: str, entity: str) -> bool:
    """Whether a story's title names an entity: all words of one of its variants, a one-word
    variant only capitalised ("Lodestar Admissions" is not named by "admissions bribery")."""
    folded = fold(title)
    lowered = set(words(folded.lower()))
    for variant in (fold(v) for v in entity_variants(entity)):
        tokens = words(variant)
        if not tokens or not set(tokens) <= lowered:
            continue
        if len(tokens) > 1 or regex(rf"\b{_capitalised(tokens[0])}\b").search(folded):
            return True
    return False


def _described_people(story: StoryDefinition) -> list[int]:
    """The people the description names in full, other than judges and lawyers."""
    description = fold(story.description).lower()
    found = []
    for i, entity in enumerate(story.entities):
        name = fold(entity).lower()
        at = description.find(name)
        if at >= 0 and _is_person(entity) and \
                not set(words(description[max(0, at - 30):at])[-2:]) & ROLE_WORDS:
            found.append(i)
    return found


PLACE_WORDS = frozenset("port fort mount mt lake saint st san santa los las new north south "
                        "east west upper lower county city town village gardens towers "
                        "apartments plaza park heights estates manor terrace square".split())


def _is_person(entity: str) -> bool:
    """A name, not an organisation or a place ("Port Linden", "Maple Falls County")."""
    tokens = fold(entity).lower().replace(".", "").split()
    return not is_organisation(entity) and not (set(tokens) & PLACE_WORDS)


def _is_nickname(entity: str, primary: str, description: str) -> bool:
    """ 'Joaquin "El Chapo" Guzman': a name the description puts inside the primary's name."""
    text = fold(description).lower().replace('"', " ").replace("'", " ")
    tokens = fold(primary).lower().split()
    nickname = " ".join(fold(entity).lower().replace('"', " ").split())
    if len(tokens) < 2 or not nickname:
        return False
    text = " ".join(text.split())
    if f"{tokens[0]} {nickname} {tokens[-1]}" not in text:
        return False            # the pattern matches only these words, one space apart
    pattern = rf"\b{re.escape(tokens[0])}\s+{re.escape(nickname)}\s+{re.escape(tokens[-1])}\b"
    return bool(regex(pattern).search(text))


def _name_parts(primary: str) -> list[str]:
    """The parts of a name, folded, a hyphenated one apart ("Jang", "Tae", "ho")."""
    return [p for p in re.split(r"[\s-]+", fold(primary)) if p[:1].isalpha()]


def _is_short_form(entity: str, primary: str) -> bool:
    """ "Eitan T." for "Eitan Tzur", "Jan de V." for "Jan de Vries", "Tsvylev G.A." for
    "Gennady Tsvylev": a name with its other parts cut to their initials, as courts and the
    press of many countries name a suspect (an age after it, "Eitan T. (51)", aside)."""
    parts = [p.lower() for p in _name_parts(primary)]
    name = re.sub(r"\(\s*\d+\s*\)", " ", fold(entity))
    tokens = [t for t in re.sub(r"(?<=\.)(?=\S)", " ", name).split() if t]
    full = [t.lower() for t in tokens if not (t.endswith(".") and len(t) == 2)]
    initials = [t[0].lower() for t in tokens if t.endswith(".") and len(t) == 2]
    if len(parts) < 2 or not full or not initials or not set(full) <= set(parts):
        return False
    rest = [p for p in parts if p not in full]
    for letter in initials:
        match = next((p for p in rest if p[0] == letter), None)
        if match is None:
            return False
        rest.remove(match)
    return True


_AGE = re.compile(r"\b(\d{1,3})-year-old\b")


def _is_description(entity: str, story: StoryDefinition, primaries: list[str]) -> bool:
    """ "the 34-year-old Iranian" or "the Nofar founder", where the definition says "Behnam
    Rostami (34), an Iranian journalist" or "Eitan Tzur, founder of ... Nofar Ledger": a
    definite description whose every word the definition says of a subject, near its name."""
    folded = _AGE.sub(r"\1", fold(entity).lower())
    tokens = words(folded)
    if len(tokens) < 2 or tokens[0] != "the" or len(tokens) > 6:
        return False
    content = [t for t in tokens[1:] if t not in STOPWORDS]
    if not content:
        return False
    text = words(fold(f"{story.title}\n{story.description}").lower())
    for primary in primaries:
        name = words(fold(primary).lower())
        if not name:
            continue
        for at in (i for i, w in enumerate(text) if w == name[-1]):
            near = set(text[max(0, at - len(name) - 8):at + 9])
            if set(content) <= near:
                return True
    return False


def _is_initials(entity: str, primary: str) -> bool:
    """ "J.T.H." for "Jang Tae-ho": the initials that copy naming no one in full gives a
    subject (courts' and agencies' releases in many countries)."""
    letters = fold(entity).replace(".", "").replace(" ", "")
    parts = _name_parts(primary)
    return 2 <= len(letters) <= 4 and letters.isalpha() and letters.isupper() and \
        "." in entity and len(parts) >= 2 and letters == "".join(p[0].upper() for p in parts)


_ALIAS_ARTICLE = frozenset("el la los las the le il der die da".split())
_ALIAS_CUE = r"(?:known as|nicknamed|dubbed|alias|a\.?k\.?a\.?|called|styled)\s+(?:the\s+)?"


def _is_alias(entity: str, story: StoryDefinition) -> bool:
    """A nickname the press uses for a subject ("El Chapo", "the Crypto Baron"): a name with
    an article, or one the definition quotes or introduces as what someone is known as."""
    name = " ".join(fold(entity).replace('"', " ").split())
    tokens = name.lower().split()
    unarticled = name.split(maxsplit=1)[-1] if tokens and tokens[0] in _ALIAS_ARTICLE else name
    if not tokens or is_organisation(unarticled) or len(tokens) > 4:
        return False
    if tokens[0] in _ALIAS_ARTICLE and len(tokens) > 1 and name.split()[1][:1].isupper():
        return True
    text = fold(f"{story.title}\n{story.description}").lower()
    quoted = any(f"{q}{name.lower()}{e}" in text.replace("\u201c", '"').replace("\u201d", '"')
                 for q, e in (('"', '"'), ("'", "'")))
    return quoted or bool(regex(_ALIAS_CUE + re.escape(name.lower()) + r"\b").search(text))


@lru_cache(maxsize=16384)   # every active story's, read for each article routed to it
def _profile(story: StoryDefinition) -> _Profile:
    subjects = _subject_indexes(story)
    primaries = [story.entities[p] for p in subjects]
    subject, others = [], []
    for i, entity in enumerate(story.entities):
        term = _term(entity, entity_variants(entity))
        if term is None:
            continue
        if i in subjects or _is_alias(entity, story) or _is_description(entity, story, primaries) \
                or any(_is_nickname(entity, p, story.description) or _is_initials(entity, p)
                       or _is_short_form(entity, p) for p in primaries):
            subject.append(term)
        else:
            others.append(term)
    keywords = []
    for keyword in story.keywords:
        term = _term(keyword, (fold(keyword).lower().strip(),), stem=True)
        if term:
            keywords.append(term)
    entity_words = set()
    for entity in story.entities:
        entity_words |= _significant(entity)
    title_words = frozenset(_significant(story.title) - entity_words)
    description_words = frozenset(_significant(story.description) - entity_words)
    keyword_words = set().union(*(_significant(k) for k in story.keywords)) - entity_words
    return _Profile(tuple(subject), _name_groups([t.label for t in subject]), tuple(others),
                    tuple(keywords), title_words, description_words,
                    title_words | description_words | frozenset(keyword_words))


def _name_groups(labels: list[str]) -> tuple[int, ...]:
    """Which names name the same subject: those that share a word of a name ("Niall
    Brannigan", "Brannigan", "Niall"; "Eitan Tzur", "Eitan T."), each group numbered."""
    group = list(range(len(labels)))

    def root(i: int) -> int:
        while group[i] != i:
            i = group[i]
        return i

    names = [{w for w in words(fold(label).lower()) if len(w) > 2 and w not in STOPWORDS}
             for label in labels]
    for i in range(len(labels)):
        for j in range(i):
            if names[i] & names[j]:
                group[root(i)] = root(j)
    return tuple(root(i) for i in range(len(labels)))


_DISCLAIMER_WORDS = re.compile(r"\b(?:unrelated to|not (?:related|connected|linked) to|"
                               r"not involved in|separate from)\b")
_DISCLAIMER = re.compile(
    r"[^.\n]*\b(?:is|are|was|were)\s+(?:also\s+)?(?:unrelated to|not (?:related|connected|linked) "
    r"to|not involved in|separate from)\b[^.\n]*", re.IGNORECASE)


def _opening(body: str) -> str:
    paragraphs = split_paragraphs(body)
    for paragraph in paragraphs[:3]:
        paragraph = strip_dateline(paragraph)
        sentences = split_sentences(paragraph)
        if sentences and len(sentences[0].split()) > 8:
            return sentences[0]
    return paragraphs[0] if paragraphs else ""


@dataclass(frozen=True)
class _ArticleText:
    """What routing reads of an article, whatever the story: folded, and lowercased."""
    title: str
    title_lowered: str
    text: str                   # headline and body
    lowered: str
    opening: str
    opening_lowered: str
    apart: str                  # the text without sentences that set another case apart
    apart_lowered: str
    words: frozenset[str]
    court_words: int                    # distinct words of court proceedings


@lru_cache(maxsize=256)     # the articles of a batch, each routed against every story
def _article_text(title: str, body: str) -> _ArticleText:
    folded_title = fold(title)
    text = fold(f"{title}\n{body}")
    lowered = text.lower()
    opening = fold(_opening(body))
    # a sentence that says the article's case is another one names the story only to set it
    # apart: "The case is unrelated to the prosecution of ...", "is not involved in"
    apart = _DISCLAIMER.sub("", text) if _DISCLAIMER_WORDS.search(lowered) else text
    return _ArticleText(folded_title, folded_title.lower(), text, lowered, opening,
                        opening.lower(), apart, apart.lower(), frozenset(words(text)),
                        len(set(_court_words().findall(lowered))))


@cache
def _court_words() -> re.Pattern:
    data = json.loads(TERMS_FILE.read_text(encoding="utf-8"))
    return re.compile(rf"\b(?:{'|'.join(data['court_words'])})\b")


@cache
def packaged_routing_model() -> dict:
    return json.loads(MODEL_FILE.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class Evidence:
    """What routing reads of an article against a story."""
    features: dict[str, float]
    mentions: int                       # of the subject
    topic: float                        # the definition's share, for a story without subject
    matched: tuple[str, ...]


def evidence(story: StoryDefinition, article: Article) -> Evidence:
    profile = _profile(story)
    art = _article_text(article.title, article.body)
    matched: list[str] = []

    mentions, prominent, in_title, in_opening, described = 0, False, False, False, False
    places: dict[int, list[tuple[int, int]]] = {}   # per subject, where the article names it
    for term, group in zip(profile.subject, profile.subject_groups, strict=True):
        spans = term.spans(art.apart, art.apart_lowered)
        hits = len(spans)
        if hits:
            matched.append(term.label)
            mentions += hits
            places.setdefault(group, []).extend(spans)
            # in the headline, the opening, or named twice ("Brannigan" and then "Niall"
            # count as two): two parties named once each, in passing ("a separate request
            # from A to restrict B"), are not the article's subject
            titled = bool(term.count(art.title, art.title_lowered))
            opens = bool(term.count(art.opening, art.opening_lowered))
            in_title, in_opening = in_title or titled, in_opening or opens
            if titled or opens or _mentions(places[group]) >= 2:
                prominent = True
            elif term.described and term.described.search(art.title_lowered):
                described = True        # named once, and the headline's "river group"

    entity_hits = 0
    for term in profile.entities:
        if term.count(art.text, art.lowered):
            matched.append(term.label)
            entity_hits += 1
    keyword_hits = 0
    for term in profile.keywords:
        if term.count(art.text, art.lowered):
            matched.append(term.label)
            keyword_hits += 1
    title_share = (len(profile.title_words & art.words) / len(profile.title_words)
                   if profile.title_words else 0.0)
    description_hits = len(profile.description_words & art.words)
    features = {
        "prominent": float(prominent), "mentions": math.log1p(mentions),
        "named_amid": float(bool(mentions) and not prominent and entity_hits >= ENTITIES_AMID),
        "in_title": float(in_title), "in_opening": float(in_opening),
        "described": float(described),
        "entities": min(1.0, entity_hits / 2), "keywords": min(1.0, keyword_hits / 2),
        "title_words": title_share,
        "description_share": (description_hits / len(profile.description_words)
                              if profile.description_words else 0.0),
        "description_words": min(1.0, description_hits / 6),
        "topic_words": (len(profile.topic_words & art.words) / len(profile.topic_words)
                        if profile.topic_words else 0.0),
        "court_words": min(1.0, art.court_words / 5),
    }
    # an article that shares no word of the definition is weighed by how often it names the
    # subject: the fit, reading shared words as the surest sign, priced it at the bias alone
    features["mentions_without_topic"] = 0.0 if features["topic_words"] else features["mentions"]
    topic = (ENTITY_WEIGHT * features["entities"] + KEYWORD_WEIGHT * features["keywords"]
             + TITLE_WEIGHT * title_share)
    return Evidence(features, mentions, topic, tuple(matched))


def _mentions(spans: list[tuple[int, int]]) -> int:
    """How many places the spans name (overlapping spans, "Kiran Mahadevan" and its
    "Mahadevan", are one)."""
    count, end = 0, -1
    for start, stop in sorted(spans):
        if start >= end:
            count += 1
        end = max(end, stop)
    return count


def eligible(features: dict[str, float]) -> bool:
    """Whether the model may weigh an article at all: the subject is prominent in it (in the
    headline, the opening or named twice; or named once and described in the headline), and
    it shares something of the story's topic: a word of the definition beyond the subject, or
    two words of court proceedings; or the subject is named once among several of the
    story's other entities, with a keyword or the words of court proceedings. "Hector Ruiz
    opens a cafe" names the subject of "Ruiz detention fight" and nothing else of it; "the
    judge, who also presides over the case against Ruiz" names him in passing."""
    court = features["court_words"] >= 0.4
    if features["prominent"] or features["described"]:
        return any(features[n] > 0 for n in ("entities", "keywords", "title_words",
                                             "description_share")) or court
    return bool(features["named_amid"]) and (features["keywords"] > 0 or court)


def probability(model: dict, features: dict[str, float]) -> float:
    return sigmoid(model["bias"] + dot(model["weights"], features))


def route(story: StoryDefinition, article: Article, model: dict | None = None) -> Route:
    """Whether an article is on a story, with the model's probability as its score."""
    found = evidence(story, article)
    if not _profile(story).subject:
        return Route(on_story=found.topic >= TOPIC_ONLY_MIN, score=round(found.topic, 4),
                     matched=found.matched)
    if not eligible(found.features):
        return Route(on_story=False, score=0.0, matched=found.matched)
    model = model or packaged_routing_model()
    p = probability(model, found.features)
    return Route(on_story=p >= model["threshold"], score=round(p, 4), matched=found.matched)


# -- what an index of stories needs: the tokens without which an article cannot route ----------

_TOKEN = re.compile(r"[a-z0-9]+")


def tokens(lowered: str) -> frozenset[str]:
    """The ASCII letter and digit runs of a lowercased text. A term's pattern matches only
    between characters that are no word characters or hyphens, so every run of a variant it
    matches is a whole run of the text ("ı" is folded to "i" as a case-insensitive match
    takes it)."""
    return frozenset(_TOKEN.findall(lowered.replace("\u0131", "i")))


@dataclass(frozen=True)
class RouteKeys:
    """What an article must contain for `route` to say anything of a story.

    `subject`: per variant of a subject term, the tokens it needs all of; an article holding
    none of these sets cannot be on the story by routing. `topic`: tokens (one per variant of
    every term, each form a keyword takes), one of which an article holds when a term of the
    story matches in it at all (what the copy rule asks), and `title_words` (`words` tokens),
    kept with them. `indexed` is false for a story without subject or with
    a variant that has no tokens: any article may route there."""
    subject: tuple[frozenset[str], ...]
    topic: frozenset[str]
    title_words: frozenset[str]
    indexed: bool


def _variant_needs(variant: str, stem: bool) -> tuple[frozenset[str], frozenset[str]]:
    """(tokens a match of the variant holds all of, tokens it holds one of)."""
    runs = _TOKEN.findall(variant.lower().replace("\u0131", "i"))
    if not runs:
        return frozenset(), frozenset()
    if stem and variant[-1:].isalnum():       # the last run may go on: "ruling", "rules"
        last = runs.pop()
        if not runs:
            return frozenset(), frozenset([last, *(last + e for e in STEM_ENDINGS)])
    return frozenset(runs), frozenset([max(runs, key=len)])


@lru_cache(maxsize=256)
def route_keys(story: StoryDefinition) -> RouteKeys:
    profile = _profile(story)
    subject, topic, indexed = [], set(), bool(profile.subject)
    for group, stem, of_subject in ((profile.subject, False, True),
                                    (profile.entities, False, False),
                                    (profile.keywords, True, False)):
        for term in group:
            for variant in term.phrase_words + term.single_words:
                needs, one_of = _variant_needs(variant, stem)
                if not one_of:
                    indexed = False
                topic |= one_of
                if of_subject:
                    subject.append(needs)
    return RouteKeys(tuple(dict.fromkeys(subject)), frozenset(topic), profile.title_words,
                     indexed)


@lru_cache(maxsize=256)
def article_keys(title: str, body: str) -> tuple[frozenset[str], frozenset[str]]:
    """(tokens, words) of an article for `RouteKeys`: the tokens of its text and of its text
    without the sentences that set another case apart."""
    art = _article_text(title, body)
    return tokens(art.lowered) | tokens(art.apart_lowered), art.words
