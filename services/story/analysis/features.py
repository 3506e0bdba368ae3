"""Features of a candidate development: what a learned decision reads about its clause.

Who acts (a court, a party, an outsider), the action's words, the request it acts on,
polarity and "in part", modality, negation, conditionals, reported speech, tense and aspect,
background cues, how far the event's date lies from the publish date, the sentence's place in
the article, and whether the story already knows a matching development. Pure: no I/O.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache

from .candidates import Candidate, cue_matches, cue_outcome_names
from .dates import dates_in
from .knowledge import StoryKnowledge
from .text import fold, own_words
from .triggers import THINGS, person_subject, reporter_voice

_TOKEN = re.compile(r"[a-z]+(?:'[a-z]+)?|\d+")
_COURT = re.compile(r"\b(?:judge|justice|justices|court|magistrate|tribunal|bench|panel|jury|"
                    r"jurors|coroner|sheriff|registrar|commissioner|ngt|board)\b")
_PARTY = re.compile(r"\b(?:lawyers?|attorneys?|counsel|barrister|solicitors?|defen[cs]e|"
                    r"prosecutors?|prosecution|crown|government|state|plaintiffs?|"
                    r"petitioners?|applicants?|claimants?|respondents?|defendants?|ed|cbi|sec|"
                    r"ftc|police|officials?|spokes\w+|family|campaign|group|company|firm)\b")
_REQUEST = re.compile(r"\b(?:asked|asks|asking|sought|seeks|seeking|urged|urges|request\w*|"
                      r"motion|application|petition|bid|plea|wants?|hoped?|argued|argues|"
                      r"contend\w*|claim\w*|demand\w*|applied|applies|moved)\b")
_MODAL = re.compile(r"\b(?:could|might|may|should|would|can|cannot|must|whether|if|unless|"
                    r"expected|likely|plans?|planning|intends?|intending|wants?|hopes?|"
                    r"considering|weighing|poised|set to|due to|yet to|ready to|threatened|"
                    r"vowed|will|shall|going to|about to|to be)\b")
_NEGATION = re.compile(r"\b(?:not|never|no|n't|neither|nor|without|yet to|failed to)\b")
_FUTURE = re.compile(r"\b(?:will|shall|is to|are to|set to|scheduled to|due to|expected to|"
                     r"next|upcoming|later this|on track to)\b")
_PAST_PERFECT = re.compile(r"\bhad\s+(?:\w+\s+)?(?:been\s+)?\w+(?:ed|en|wn|ld|ht|nt|ut|id)\b")
_PRESENT_PERFECT = re.compile(r"\b(?:has|have)\s+(?:\w+\s+)?(?:been\s+)?\w+")
_PASSIVE = re.compile(r"\b(?:was|were|been|being|is|are|got)\s+(?:\w+\s+)?\w+(?:ed|en|wn)\b")
_BACKGROUND = re.compile(r"\b(?:ago|previously|earlier|last (?:year|month|week)|in the past|"
                         r"at the time|originally|initially|first|since|already|before|"
                         r"prior|once|twice|again|still|remains?|continues?|history|"
                         r"background|recap|months|years)\b")
_SAID = re.compile(r"\b(?:said|says|told|wrote|according|argued|added|stated|claimed|"
                   r"alleged|insisted|explained)\b")
_CONTRAST = re.compile(r"\b(?:but|instead of|rather than|except|not all|save for|apart from|"
                       r"though|although|while|whereas|however|only)\b")
_TIMESTAMP = re.compile(r"^\s*(?:\d{1,2}[:.]\d{2}\s*(?:a\.?m\.?|p\.?m\.?|am|pm)?|\[\d)")
_BY_COURT = re.compile(r"\bby\s+(?:the\s+|a\s+)?(?:\w+\s+){0,3}?(?:judge|justice|court|"
                       r"magistrate|bench|tribunal|panel|jury)\b")
_IN_PART = re.compile(r"\bin part\b|\bpartly\b|\bpartially\b")
_CONDITIONAL = re.compile(r"\b(?:if|unless|whether)\b")
_REGISTER = re.compile(r"\b(?:DENIED|GRANTED|DISMISSED|ORDERED|ALLOWED|REFUSED|ADJOURNED|"
                       r"SO ORDERED|ORDER|UPHELD|QUASHED)\b")


# the things the custody phrasings never take a person for, and the court's papers and sums
_THING = re.compile(r"\s*(?:an?|the|its|his|her|their|this|that)\s+(?:[\w-]+\s+){0,2}?"
                   r"(?:" + THINGS + r"|decision|judgment|ruling|reasons|order|figures|guidance|"
                   r"update|plan|funds?|money|assets)\b")


_CALENDAR = frozenset("monday tuesday wednesday thursday friday saturday sunday january "
                      "february march april may june july august september october november "
                      "december".split())
_NAME = re.compile(r"(?<=[a-z,;:] )([A-Z][a-z]+(?:[-'][A-Za-z]+)*)")


@lru_cache(maxsize=4096)     # a sentence's candidates read the same names
def _names(own: str) -> frozenset[str]:
    """The words a sentence writes capitalised after its first word (names: "Tzur",
    "Amstelveen"), lowercased; a word also written in lower case there, a day or a month,
    and a court's or a party's word ("Judge", "Prosecutors") are no names."""
    found = {m.group(1).lower() for m in _NAME.finditer(own)}
    return frozenset(w for w in found - set(_TOKEN.findall(own))
                     if w not in _CALENDAR and not _COURT.fullmatch(w) and not _PARTY.fullmatch(w))


def _general(token: str, names: frozenset[str]) -> str:
    """A word as the features read it: a name or a number stands for its kind, so that what
    is learned of one story's names and sums is not learned as words."""
    if token.isdigit():
        return "<num>"
    return "<name>" if token in names else token


def _same_event_by_date(known: str | None, found: str | None) -> str:
    if known is None or found is None:
        return "undated"
    if known == found:
        return "same_day" if len(found) == 10 else "same_period"
    return "days_apart" if len(known) == len(found) == 10 else "period"


def _bin_days(days: int) -> str:
    if days > 0:
        return "future" if days > 1 else "tomorrow"
    days = -days
    for limit, name in ((0, "same"), (1, "1"), (3, "2-3"), (7, "4-7"), (14, "8-14"),
                        (31, "15-31"), (90, "32-90"), (365, "91-365")):
        if days <= limit:
            return name
    return "old"


def days_from(value: str | None, published: date) -> int | None:
    """Days from `published` to a labelled-style date (YYYY-MM-DD, YYYY-MM, YYYY)."""
    if not value:
        return None
    try:
        parts = [int(p) for p in value.split("-")]
    except ValueError:
        return None
    year, month, day = (parts + [0, 0])[:3]
    if len(parts) == 1:
        return (year - published.year) * 365
    if len(parts) == 2:
        return ((year - published.year) * 12 + month - published.month) * 30
    try:
        return (date(year, month, day) - published).days
    except ValueError:
        return None


def candidate_features(candidate: Candidate, sentence: str, sentence_count: int,
                       published: date, knowledge: StoryKnowledge, known_sentence: bool,
                       match_score: float) -> dict[str, float]:
    """The features of one candidate, as a sparse name -> value mapping."""
    f = candidate.finding
    t = f.type
    own = own_words(sentence)
    low = own.lower()
    start = min(max(0, f.position), len(low))
    end = min(len(low), start + max(1, len(f.trigger)))
    feats: dict[str, float] = {}

    def add(name: str, value: float = 1.0) -> None:
        feats[name] = value
        feats[f"{t}|{name}"] = value

    add("bias")
    # where the candidate came from: the outcome model reads it (a phrasing reads an outcome
    # closely, a cue guesses), the keep model does not (`training.KEEP_IGNORES`)
    add(f"src={candidate.source}")
    add(f"outcome={f.outcome}")
    names = _names(own)
    trig = " ".join(_general(w, names) for w in _TOKEN.findall(f.trigger.lower()))[:40]
    if trig:
        add(f"trig={trig}")
    for reason in f.reasons:
        add("reason=" + reason.split(":")[0].split(" ")[0])
    if f.background:
        add("rule_background")
    if f.from_quote:
        add("from_quote")
    for outcome in candidate.cue_outcomes:
        add(f"cue={outcome}")
    # every type's cues in the sentence: a sentence of a verdict is rarely a hearing's news;
    # its own type's outcomes too, whichever reading proposed it ("allowed ... but refused")
    for other, matches in cue_matches(low).items():
        if other == t:
            outcomes = cue_outcome_names(matches)
            for outcome in outcomes:
                add(f"own_cue={outcome}")
            if "granted" in outcomes and "denied" in outcomes:
                add("own_cue=both")
        else:
            feats[f"{t}|also={other}"] = 1.0
            for outcome in cue_outcome_names(matches):
                feats[f"{t}|also={other}:{outcome}"] = 1.0

    before = low[max(0, start - 60):start]
    after = low[end:end + 60]
    tokens_before = [_general(t, names) for t in _TOKEN.findall(before)[-8:]]
    tokens_after = [_general(t, names) for t in _TOKEN.findall(after)[:8]]
    for tok in tokens_before:
        add(f"b:{tok}", 0.5)
    for tok in tokens_after:
        add(f"a:{tok}", 0.5)
    for a, b in zip(tokens_before[-3:], tokens_before[-2:], strict=False):
        add(f"bb:{a}_{b}", 0.5)
    for a, b in zip(tokens_after[:3], tokens_after[1:4], strict=False):
        add(f"ab:{a}_{b}", 0.5)
    for tok in {_general(t, names) for t in _TOKEN.findall(low)}:
        feats[f"{t}|s:{tok}"] = 0.2

    short_before = low[max(0, start - 35):start]
    if _COURT.search(before):
        add("court_before")
    if _BY_COURT.search(after):
        add("court_after")
    if _COURT.search(after):
        add("court_later")
    if _PARTY.search(before):
        add("party_before")
    if _REQUEST.search(short_before):
        add("request_before")
    if _REQUEST.search(after[:40]):
        add("request_after")
    if _MODAL.search(short_before):
        add("modal")
    if _NEGATION.search(low[max(0, start - 25):start]):
        add("negated")
    if _FUTURE.search(short_before):
        add("future")
    if _PAST_PERFECT.search(low[max(0, start - 25):end + 5]):
        add("past_perfect")
    if _PRESENT_PERFECT.search(low[max(0, start - 25):end]):
        add("present_perfect")
    if _PASSIVE.search(low[max(0, start - 20):end + 5]):
        add("passive")
    if _BACKGROUND.search(low):
        add("bg_word")
    for m in _BACKGROUND.finditer(low[max(0, start - 50):end + 50]):
        add(f"bgw:{m.group(0)}")
    if _SAID.search(before):
        add("said_before")
    if _SAID.search(after[:30]):
        add("said_after")
    voice = reporter_voice(low)
    if voice[start:end].strip() != low[start:end].strip():
        add("reported_content")
    if _IN_PART.search(low):
        add("in_part")
    if _CONTRAST.search(low[end:]):
        add("contrast_after")
    if _CONTRAST.search(low[:start]):
        add("contrast_before")
    if _CONDITIONAL.search(low):
        add("conditional")
    if '"' in sentence or "\u201c" in sentence:
        add("has_quote")
    if _TIMESTAMP.search(sentence):
        add("timestamp")
    if _REGISTER.search(sentence):
        add("register_caps")
    if sentence.lstrip().startswith(("-", "*", "\u2022")):
        add("bullet")
    if t == "custody":
        # someone, not something, is arrested, released or moved ("released a letter")
        if person_subject(own, low, start, end):
            add("person_subject")
        if _THING.match(after):
            add("thing_object")

    days = days_from(f.date, published)
    src = candidate.source
    if days is not None:
        add(f"date={_bin_days(days)}")
        add(f"{src}|date={_bin_days(days)}")
        add("date_gran=" + {10: "day", 7: "month"}.get(len(f.date or ""), "year"))
        started = knowledge.started
        if started is not None and f.date < started.date().isoformat()[:len(f.date)]:
            add("before_story")

    # every day the sentence tells of, against the publish date ("to appear ... on 6
    # November": a day ahead, whichever date the candidate itself took)
    for when in sorted({_bin_days((r.earliest - published).days)
                        for _, r in dates_in(sentence, published) if r.granularity == "day"}):
        add(f"sdate={when}")

    index = f.sentence_index
    add("pos=" + ("0" if index == 0 else "1" if index == 1 else "2-3" if index <= 3 else
                  "4-7" if index <= 7 else "8+"))
    if sentence_count:
        add("relpos", index / sentence_count)

    if known_sentence:
        add("known_sentence")
    if match_score:
        add("match_score", match_score / 100.0)
    known = knowledge.known_development(t, f.outcome, f.matter.id, f.date, f.matter.generic)
    if known is not None:
        add("known_dev")
        # how surely it is that event: the same day, days apart, or a date on one side only
        add("known_dev=" + _same_event_by_date(known.date, f.date))
    near = knowledge.development_near(t, f.date) if f.date else None
    if near is not None:
        add("near_dev")
        add("near_dev=" + _same_event_by_date(near.date, f.date))
    related = knowledge.related_development(t, f.matter.id)
    if related is not None:
        add("related_dev")
        add("related_dev=" + ("same_outcome" if related.outcome == f.outcome else "other_outcome"))
    lede = index <= 1
    if lede:
        add("lede")
        add(f"{src}|lede")
    if not knowledge.articles:
        add("first_article")
        add(f"{src}|first_article")
        if lede:
            add("first_article|lede")
    for name in ("present_perfect", "past_perfect", "modal", "negated", "reported_content"):
        if name in feats:
            add(f"{src}|{name}")
    return feats


def article_features(candidates: list[Candidate], title: str, sentence_count: int,
                     known_share: float, known_sentences: list[bool]) -> list[dict[str, float]]:
    """Features that need the whole article: whether the headline tells of the same kind of
    event, where a candidate stands among the article's candidates of its type (the
    article's news comes first; later mentions retell it), how long the article is, how
    much of it the story already knows (a long feature retells; a brief is all news), and
    whether a candidate's sentence is one of the few an article mostly known adds (a wire
    story run again with a paragraph of news: that paragraph is the news, wherever it
    stands). `known_sentences[i]`: whether candidate i's sentence is known."""
    heading = cue_matches(fold(title).lower()) if title else {}
    length = "len=" + ("1-4" if sentence_count <= 4 else "5-12" if sentence_count <= 12 else
                       "13-25" if sentence_count <= 25 else "26+")
    known = "known_share=" + ("0" if known_share == 0 else "<.25" if known_share < 0.25 else
                              "<.5" if known_share < 0.5 else ">=.5")
    per_candidate = len(candidates) / max(1, sentence_count)
    seen: dict[str, int] = {}
    seen_outcome: dict[tuple[str, str | None], int] = {}
    dates: dict[str, set[str]] = {}
    out = []
    for i, c in enumerate(candidates):
        f = c.finding
        t = f.type
        feats: dict[str, float] = {}

        def add(name: str, feats: dict[str, float] = feats, t: str = t) -> None:
            feats[name] = 1.0
            feats[f"{t}|{name}"] = 1.0

        add(length)
        add(known)
        if known_share >= 0.5 and not known_sentences[i]:
            add("added_to_known")
        feats["candidates_per_sentence"] = per_candidate
        if t in heading:
            add("title_type")
            if (f.outcome or "none") in cue_outcome_names(heading[t]):
                add("title_outcome")
        n = seen.get(t, 0)
        add("nth_type=" + ("0" if n == 0 else "1" if n == 1 else "2+"))
        if seen_outcome.get((t, f.outcome), 0):
            add("outcome_seen_before")
        if f.date and f.date in dates.get(t, set()):
            add("date_seen_before")
        seen[t] = n + 1
        seen_outcome[(t, f.outcome)] = seen_outcome.get((t, f.outcome), 0) + 1
        if f.date:
            dates.setdefault(t, set()).add(f.date)
        out.append(feats)
    return out
