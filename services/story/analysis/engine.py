"""The analysis of one article against what its story already knows. Pure: reads the knowledge,
never changes it; the caller decides whether to `learn` the result."""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from dataclasses import dataclass, replace
from datetime import date
from itertools import chain

from .candidates import Candidate, cue_candidates, with_outcome
from .conflicts import observations
from .dates import dates_in, find_date_spans
from .decision import Decider, Item, default_decider
from .developments import Finding, article_context, find_developments, quoted_ruling
from .features import article_features, candidate_features
from .knowledge import StoryKnowledge
from .model import (
    Analysis,
    Article,
    Corroboration,
    Development,
    MatterChange,
    SentenceMatch,
    SentenceVerdict,
    StoryDefinition,
)
from .names import proper_names
from .proposer import proposals, proposer_features, type_probabilities
from .routing import route
from .text import article_sentences, live_entries
from .zones import local_date, news_day, story_zone

ALIGNED = 80.0          # a sentence this close to an earlier one repeats it (rapidfuzz, 0..100)
COVERED = 0.7           # ...and says nothing new if the earlier one holds this share of its words
COPY_SHARE = 0.5        # an article whose sentences align this much with one earlier article
COPY_MIN_SENTENCES = 2  # ...(and at least this many of them) is a copy or an edit of it
LOOSE = 60.0            # a sentence this close is the same sentence reworded ("re-edited")
LOOSE_SHARE = 0.6       # ...and an article with this share of them is a rewrite of one earlier
LOOSE_MIN_SENTENCES = 4    # (three reworded sentences of background are any follow-up's)


def development_id(story: str, type_: str, outcome: str | None, matter_id: str | None,
                   date_: str | None) -> str:
    """The story's own and stable: a re-report of the same development in the story gets the
    same id; two stories that take the same news each get their own."""
    raw = f"{story}|{type_}|{outcome or ''}|{matter_id or ''}|{date_ or ''}"
    return hashlib.sha1(raw.encode()).hexdigest()[:20]


def analyze(knowledge: StoryKnowledge, article: Article,
            decider: Decider | None = None) -> Analysis:
    """What `article` changes about the story `knowledge` describes."""
    decider = decider or default_decider()
    decision = route(knowledge.story, article)
    labelled = getattr(decider, "on_story", None)
    if labelled is not None and labelled(article.id) is not None:
        decision = replace(decision, on_story=labelled(article.id))    # training: as labelled
    digest = article.content_hash
    if not decision.on_story and not _copies_the_story(knowledge, article, digest,
                                                       decision.matched):
        return Analysis(article_id=article.id, on_story=False, route_score=decision.score,
                        route_matched=decision.matched, content_hash=digest)

    sentences = article_sentences(article.body, article.title)
    published = local_date(article.published_at, story_zone(knowledge.story))
    context = article_context(sentences, published, knowledge.judges)

    verdicts: list[SentenceVerdict] = []
    aligned_facts: list[int | None] = []
    loose_facts: list[int | None] = []
    for index, text in enumerate(sentences):
        alignment = knowledge.align(text)
        aligned = alignment is not None and alignment.score >= ALIGNED
        new_names = tuple(dict.fromkeys(
            n for n in proper_names(text, context.caps) if not knowledge.is_known_name(n)))
        if aligned and alignment.score >= 100.0 and alignment.coverage >= 1.0:
            new_names = ()      # the very same words cannot introduce a name
        known = aligned and alignment.coverage >= COVERED and not new_names and \
            not _other_day(text, knowledge.fact_text(alignment.fact_id))
        match = SentenceMatch(alignment.article_id, alignment.sentence_index,
                              alignment.score) if aligned else None
        verdicts.append(SentenceVerdict(text=text, index=index, known=known, match=match,
                                        new_names=new_names))
        aligned_facts.append(alignment.fact_id if aligned else None)
        loose_facts.append(alignment.fact_id if alignment is not None
                           and alignment.score >= LOOSE else None)

    duplicate_of, exact, share = _copy_of(knowledge, digest, aligned_facts)
    if duplicate_of is None:
        # a wire rewrite of yesterday's story: most sentences reworded, few word for word
        rewrite, _, loose_share = _copy_of(knowledge, digest, loose_facts, LOOSE_SHARE,
                                           LOOSE_MIN_SENTENCES)
        if rewrite is not None:
            duplicate_of, share = rewrite, loose_share

    retold = _retold_from(knowledge, duplicate_of, aligned_facts, loose_facts)
    found, corroborations = _developments(knowledge, article, verdicts, aligned_facts, context,
                                          decider, retold)
    developments = [dev for dev, _ in found]
    changes = _matter_changes(knowledge, found)
    conflicts = knowledge.contradictions(article.id, article.outlet, observations(sentences),
                                         article.published_at)

    return Analysis(
        article_id=article.id, on_story=True, route_score=decision.score,
        route_matched=decision.matched, content_hash=digest, duplicate_of=duplicate_of,
        exact_repeat=exact, aligned_fraction=share, sentences=tuple(verdicts),
        developments=tuple(developments), corroborations=tuple(corroborations),
        matter_changes=tuple(changes), conflicts=tuple(conflicts))


def takes(knowledge: StoryKnowledge, article: Article) -> bool:
    """Whether `analyze` puts the article on the story (with no labels to go by): routing says
    so, or it copies an article the story holds. Only that, without the rest of the analysis."""
    decision = route(knowledge.story, article)
    return decision.on_story or _copies_the_story(knowledge, article, article.content_hash,
                                                  decision.matched)


def _copies_the_story(knowledge: StoryKnowledge, article: Article, digest: str,
                      matched: tuple[str, ...]) -> bool:
    """A copy of an article on the story is on the story, whatever its headline says: the
    same text, or (for an article that shares something with the story) most of its sentences
    aligned with one article the story holds."""
    if knowledge.article_with_hash(digest) is not None:
        return True
    if not matched or not knowledge.articles:
        return False
    facts = []
    for text in article_sentences(article.body, article.title):
        alignment = knowledge.align(text)
        facts.append(alignment.fact_id if alignment is not None and alignment.score >= ALIGNED
                     else None)
    return _copy_of(knowledge, digest, facts)[0] is not None


def _other_day(text: str, earlier: str) -> bool:
    """Both sentences date what they tell, and the dates differ ("on Monday" / "on Tuesday")."""
    ours = {s.text.lower() for s in find_date_spans(text)}
    theirs = {s.text.lower() for s in find_date_spans(earlier)}
    return bool(ours and theirs and not ours & theirs)


def _copy_of(knowledge: StoryKnowledge, digest: str, aligned_facts: list[int | None],
             min_share: float = COPY_SHARE,
             min_sentences: int = COPY_MIN_SENTENCES) -> tuple[str | None, bool, float]:
    """(earlier article this one copies, exact repeat?, share of sentences aligned to it)."""
    original = knowledge.article_with_hash(digest)
    if original is not None:
        return original, True, 1.0
    if not aligned_facts:
        return None, False, 0.0
    credit = Counter(chain.from_iterable(
        knowledge.fact_articles(f) for f in aligned_facts if f is not None))
    if not credit:
        return None, False, 0.0
    # the most credited; of equals, the one learned first (article orders are distinct)
    top = max(credit.values())
    best = knowledge.earliest(a for a, n in credit.items() if n == top)
    share = round(credit[best] / len(aligned_facts), 4)
    if share >= min_share and credit[best] >= min_sentences:
        return best, False, share
    return None, False, share


def _retold_from(knowledge: StoryKnowledge, original: str | None,
                 aligned_facts: list[int | None], loose_facts: list[int | None]
                 ) -> frozenset[int]:
    """The sentences (by index) of a copy or re-edit of `original` that retell what the story
    holds: any sentence it already has, or one of the original's reworded. A copy adds only
    what its other sentences tell."""
    if original is None:
        return frozenset()
    return frozenset(i for i, (aligned, loose) in enumerate(zip(aligned_facts, loose_facts,
                                                                strict=True))
                     if aligned is not None or loose is not None
                     and original in knowledge.fact_articles(loose))


def _developments(knowledge: StoryKnowledge, article: Article, verdicts: list[SentenceVerdict],
                  aligned_facts: list[int | None], context, decider: Decider,
                  retold: frozenset[int] = frozenset()
                  ) -> tuple[list[tuple[Development, Finding]], list[Corroboration]]:
    published = context.published
    started = knowledge.started.date() if knowledge.started else published
    proposer = getattr(decider, "proposer", None)
    items: list[Item] = []
    by_item: list[SentenceVerdict] = []
    previous = None
    for verdict in verdicts:
        found = find_developments(verdict.text, verdict.index, context, previous)
        candidates = []
        for finding in found:
            if finding.background and _told_late(finding, started):
                finding = replace(finding, background=False, reasons=(TOLD_LATE,))
            candidates.append(Candidate(finding, "rule"))
        candidates += cue_candidates(verdict.text, verdict.index, context,
                                     {(f.type, f.outcome) for f in found})
        quote = quoted_ruling(verdict.text, verdict.index, context)
        if quote is not None:
            candidates.append(Candidate(quote, "quote"))
        probabilities = type_probabilities(proposer, verdict.text) if proposer else {}
        candidates += proposals(proposer, verdict.text, verdict.index, context,
                                {c.finding.type for c in candidates}, probabilities)
        score = verdict.match.score if verdict.match else 0.0
        for candidate in candidates:
            features = candidate_features(candidate, verdict.text, len(verdicts), published,
                                          knowledge, verdict.known, score)
            if candidate.source != "rule":
                # a phrasing reads its sentence closely; the broad readings learn from what the
                # proposer makes of the sentence's words
                features.update(proposer_features(candidate.finding.type, probabilities))
            items.append(Item(candidate, verdict.text, features))
            by_item.append(verdict)
        previous = verdict.text
    known_share = sum(v.known for v in verdicts) / max(1, len(verdicts))
    extras = article_features([i.candidate for i in items], article.title, len(verdicts),
                              known_share, [v.known for v in by_item])
    for item, extra in zip(items, extras, strict=True):
        item.features.update(extra)
    scored: list[tuple[Finding, SentenceVerdict, float]] = []
    quoted: list[tuple[Finding, SentenceVerdict, float]] = []
    for item, verdict, decision in zip(items, by_item, decider.decide(article.id, items),
                                       strict=True):
        if decision is None:
            continue
        finding = with_outcome(item.candidate, decision.outcome, verdict.text, context)
        finding = replace(finding, background=False,
                          date=decision.date if decision.date is not None else finding.date)
        (quoted if item.candidate.source == "quote" else scored).append(
            (finding, verdict, decision.score))
    # the ruling's own words only count when no reporter's sentence tells of that ruling
    reported = {(f.type, f.outcome) for f, _, _ in scored}
    for quote, verdict, score in quoted:
        if ("ruling", quote.outcome) not in reported and ("appeal", quote.outcome) not in reported:
            scored.append((quote, verdict, score))
            reported.add(("ruling", quote.outcome))
    scored.sort(key=lambda fvs: (fvs[0].sentence_index, fvs[0].position))
    findings = _within_article(_parts_of_one_event(scored), published,
                               getattr(decider, "reads_news", False),
                               live_entries(article.body, article.title),
                               news_day(article.published_at, story_zone(knowledge.story)),
                               _opening_day(verdicts, published))

    new: list[tuple[Development, Finding]] = []
    corroborations: dict[str, Corroboration] = {}

    def corroborate(development_id: str):
        corroborations.setdefault(development_id, Corroboration(development_id, article.id,
                                                                article.outlet))

    for verdict, fact_id in zip(verdicts, aligned_facts, strict=True):
        if verdict.known and fact_id is not None:
            for dev_id in knowledge.fact_developments(fact_id):
                corroborate(dev_id)

    fact_of = dict(zip((v.index for v in verdicts), aligned_facts, strict=True))
    for finding, verdict in findings:
        earlier = knowledge.known_development(finding.type, finding.outcome, finding.matter.id,
                                              finding.date, finding.matter.generic)
        if earlier is None and finding.type in _ONE_A_DAY and finding.date and \
                len(finding.date) == 10:
            # "arrested Monday and charged" after the indictment unsealed that Monday, told
            # of another defendant: the same day's arrests and charges are one event
            near = knowledge.development_near(finding.type, finding.date)
            earlier = near if near is not None and near.date == finding.date else None
        if earlier is None and finding.type in _DECISIONS:
            earlier = knowledge.decision_that_day(finding.type, finding.outcome, finding.date,
                                                  finding.matter.id, finding.matter.generic)
        if earlier is not None:
            corroborate(earlier.id)
            continue
        if (TOLD_LATE in finding.reasons or finding.date and len(finding.date) < 10) and \
                (finding.type, finding.outcome) not in _OWN_DATES and \
                knowledge.development_near(finding.type, finding.date):
            continue            # "in January, the judge dismissed ...": the story knows it
        if verdict.known and not _adds_an_event(knowledge, finding, verdict,
                                                fact_of.get(verdict.index)):
            continue            # a repeated sentence is never news
        if verdict.index in retold:
            continue            # a copy adds only what its new sentences tell
        if (finding.date is None or _appeal_lodged(finding) and LEAD_DATED in finding.reasons) \
                and knowledge.related_development(finding.type, finding.matter.id):
            continue            # an undated mention of a known matter (or appeal): recap
        if LEAD_DATED in finding.reasons and finding.type in ("verdict", "sentence") and \
                not finding.matter.generic and knowledge.known_development(
                    finding.type, finding.outcome, finding.matter.id, None):
            continue            # "Her manager was acquitted.": a person's known verdict, recap
        dev = Development(
            id=development_id(knowledge.story.slug, finding.type, finding.outcome,
                              finding.matter.id, finding.date),
            type=finding.type, outcome=finding.outcome, date=finding.date,
            actors=finding.actors, evidence=finding.evidence, article_id=article.id,
            matter_id=finding.matter.id, summary=finding.summary)
        new.append((dev, finding))
    return new, list(corroborations.values())


def _appeal_lodged(finding: Finding) -> bool:
    """An appeal told as lodged, not decided: a story has one per matter, so an undated "he
    appealed" once the story holds it is its recap, whatever day the article's news is."""
    return finding.type == "appeal" and finding.outcome is None


TOLD_LATE = "told late"
LEAD_DATED = "dated by the article's news"


def _told_late(finding: Finding, started) -> bool:
    """An event dated weeks back but after the story began, that the story has not reported
    ("the motion, filed in October", "his notice of appeal, filed in September"): news told
    late, not background. Events from before the story's first article stay background."""
    if not finding.date or len(finding.date) < 7 or finding.type == "statement":
        return False            # a statement is news when it is made
    if not all(r.startswith("dated ") for r in finding.reasons):
        return False
    return finding.date >= started.isoformat()[:len(finding.date)]


def _adds_an_event(knowledge: StoryKnowledge, finding: Finding, verdict: SentenceVerdict,
                   fact_id: int | None) -> bool:
    """A reworded sentence can still tell of another event than the one it repeats ("was
    released on bail Friday, after a judge agreed to free him" against "agreed to release
    him on bail"): a kind of development its earlier wording did not report."""
    if fact_id is None or verdict.match is None or verdict.match.score >= 100.0:
        return False
    earlier = {knowledge.development(d).type for d in knowledge.fact_developments(fact_id)}
    return bool(earlier) and finding.type not in earlier


_ONE_A_DAY = ("charge", "custody")
_DECISIONS = ("ruling", "appeal", "verdict")     # one decision a day per matter
NO_OUTCOME = ""     # a kind of `_Part` with no outcome at all (an appeal filed), not any outcome
_BEFORE_COURT = ("custody", "charge", "filing", "statement")
_UNDATED_IS_RECAP = ("hearing", "custody", "charge", "verdict", "sentence", "ruling", "appeal")
_OWN_DATES = {("hearing", "scheduled"), ("hearing", "postponed"), ("hearing", "cancelled")}


@dataclass(frozen=True)
class _Part:
    """One event told by two kinds in one sentence: `piece` is what the sentence also says of
    `event` (an outcome of None stands for any). `surer`: only when the event is the surer
    reading; `same_day`: only when both carry the same day (or one carries none); `tie`: also
    when the two are as sure (a decider that scores every reading alike)."""
    event: tuple[str, str | None]
    piece: tuple[str, str | None]
    surer: bool = True
    same_day: bool = False
    tie: bool = False


def _surer_of(a: tuple[str, str | None], b: tuple[str, str | None],
              same_day: bool = False) -> tuple[_Part, _Part]:
    """Two readings of one event: whichever is the surer stands."""
    return _Part(a, b, True, same_day), _Part(b, a, True, same_day)


# A notice of appeal filed is the appeal; an indictment or a complaint filed and the charge it
# brings are one event, and so are a request and the ruling that decides it in the same sentence;
# an appeal told filed and decided in one sentence on one day is one appeal ("filed a notice of
# appeal challenging the judge's refusal" decides nothing); an appeal decided and a ruling in one
# sentence are one decision ("Two judges dismissed his appeal against extradition" is the
# appeal's outcome; "an appeals panel turned down the request to stay the order pending appeal"
# is a ruling): of each of these pairs, the surer reading stands. An adjournment granted in the
# sentence that puts a hearing off is the postponement ("the judge agreed to push the trial to
# June 2"); the day a cancelled hearing had been set for is not a hearing scheduled; a hearing
# read both as put off to a day and as scheduled for it is one of the two, the surer.
_SAME_SENTENCE_PARTS = (_Part(("appeal", None), ("filing", None)),
                        *_surer_of(("charge", None), ("filing", None)),
                        *_surer_of(("ruling", None), ("filing", None)),
                        *(p for decided in ("granted", "denied", "mixed", "other") for p in (
                            *_surer_of(("appeal", decided), ("appeal", NO_OUTCOME), True),
                            _Part(("appeal", decided), ("ruling", None), tie=True),
                            _Part(("ruling", None), ("appeal", decided)))),
                        _Part(("hearing", "postponed"), ("ruling", "granted"), False),
                        _Part(("hearing", "cancelled"), ("hearing", "scheduled"), False, True),
                        *_surer_of(("hearing", "postponed"), ("hearing", "scheduled"), True))


def _of_kind(finding: Finding, kind: tuple[str, str | None]) -> bool:
    return finding.type == kind[0] and kind[1] in (None, finding.outcome or NO_OUTCOME)


def _parts_of_one_event(findings: list[tuple[Finding, SentenceVerdict, float]]
                        ) -> list[tuple[Finding, SentenceVerdict]]:
    """Drops what a sentence says of an event it tells by another kind (`_SAME_SENTENCE_PARTS`);
    the third of each triple is the decision's score."""
    def part(f: Finding, score: float) -> bool:
        return any(_of_kind(f, rule.piece) and any(
            _of_kind(g, rule.event) and g.sentence_index == f.sentence_index
            and (not rule.surer or other > score or rule.tie and other == score)
            and (not rule.same_day or not f.date or not g.date or f.date == g.date)
            for g, _, other in findings) for rule in _SAME_SENTENCE_PARTS)
    return [(f, v) for f, v, score in findings if not part(f, score)]


def _lead_date(findings: list[tuple[Finding, SentenceVerdict]], published,
               of_court: bool = False) -> str | None:
    """The day the article's news happened: its first dated development on or before the
    publish date (a scheduled hearing's date is about the hearing, not the news). For a
    court's act (`of_court`), the first dated act of a court: an arrest, a charge or a filing
    comes before the court acts on it ("arrested on Tuesday ... He appeared in court and was
    refused bail" is refused on the day of the report, not on Tuesday)."""
    for finding, _ in findings:
        if (finding.type, finding.outcome) in _OWN_DATES or not finding.date or \
                TOLD_LATE in finding.reasons or of_court and finding.type in _BEFORE_COURT:
            continue
        if len(finding.date) == 10 and finding.date <= published.isoformat():
            return finding.date
    return None


_ANOTHER_FILING = re.compile(r"\b(?:own|separate|second|another|new|competing)\s+"
                             r"(?:[\w-]+\s+)?(?:motion|petition|application|brief|request)\b")


def _same_event(a: Finding, b: Finding) -> bool:
    if a.type != b.type:
        return False
    if a.date and b.date and a.date != b.date:
        return False
    same_matter = a.matter.id == b.matter.id
    if a.type == "verdict" and a.outcome != b.outcome:
        if a.sentence_index == b.sentence_index:
            return False      # "found the owner guilty but acquitted her manager": two people
        return same_matter or a.matter.generic or b.matter.generic   # convicted ... acquitted
    if a.type in ("ruling", "appeal") and "other" in (a.outcome, b.outcome):
        return True           # "ruled that ..." restates the decision told with its outcome
    if a.type in ("ruling", "appeal") and a.outcome != b.outcome:
        # "dismissed part of the suit" ... "threw out two claims": one partial ruling;
        # "suppressed the test" ... "rejected the rest of the motion": one motion, partly won;
        # "dismissed two counts" ... "refused to dismiss the other six": the same
        if "mixed" in (a.outcome, b.outcome):
            return same_matter or a.matter.generic or b.matter.generic
        return same_matter and not a.matter.generic
    if a.type == "hearing":
        return a.outcome == b.outcome
    if a.type == "statement":
        return True
    if a.type == "filing" and a.sentence_index != b.sentence_index and \
            _ANOTHER_FILING.search(b.trigger):
        return False          # "filed her own motion Monday": a second filing, not a retelling
    return same_matter or a.matter.generic or b.matter.generic


def _part_of_postponement(f: Finding, putting_off: set[int], new_dates: set[str]) -> bool:
    """Whether `f` is part of a hearing put off in the article: `putting_off`, the sentences
    that put a hearing off; `new_dates`, the days it was put off to."""
    if f.type == "ruling":
        # "agreed to push the trial back" is the postponement; "refused the adjournment" puts
        # nothing off: it is a ruling of its own
        return f.matter.id == "trial-delay" and f.outcome != "denied"
    if f.type == "hearing" and f.outcome == "held":
        return f.sentence_index in putting_off and f.date not in new_dates
    if f.type == "hearing" and f.outcome == "scheduled":
        return f.date in new_dates      # "adjourned to the third of July"
    return False


def _opening_day(verdicts: list[SentenceVerdict], published) -> str | None:
    """The day the article's opening sentence tells of ("Today, in the Khatai District
    Court, ... was considered"), when it is a day on or before publication."""
    if not verdicts or verdicts[0].index != 0:
        return None
    days = [r.value for _, r in dates_in(verdicts[0].text, published)
            if r.granularity == "day" and r.earliest <= published]
    return days[0] if days else None


def _within_article(findings: list[tuple[Finding, SentenceVerdict]], published,
                    decided: bool = False, live: frozenset[int] = frozenset(),
                    news_date: date | None = None, opening: str | None = None
                    ) -> list[tuple[Finding, SentenceVerdict]]:
    """Article-level reading: undated events take the day of the article's news (`news_date`,
    else `published`; an explainer with no dated news is recap, unless a learned decision
    (`decided`) read them as news), or the day its opening tells of (`opening`) when they
    come before any dated news; one event told twice is one development."""
    # a hearing put off: the order putting it off, and the brief appearance at which it was put
    # off, are the postponement itself; the put-off hearing held on its new date is not, and the
    # new date is not a second hearing scheduled
    putting_off = {f.sentence_index for f, _ in findings
                   if f.type == "hearing" and f.outcome == "postponed"}
    new_dates = {f.date for f, _ in findings
                 if f.type == "hearing" and f.outcome == "postponed" and f.date}
    findings = [(f, v) for f, v in findings
                if not _part_of_postponement(f, putting_off, new_dates)]
    # one event, one development: a verdict or a sentencing is not also a hearing held
    decided_days = {f.date for f, _ in findings if f.type in ("verdict", "sentence")}
    decided_sentences = {f.sentence_index for f, _ in findings
                         if f.type in ("verdict", "sentence")}
    if decided_days or decided_sentences:
        findings = [(f, v) for f, v in findings
                    if not (f.type == "hearing" and f.outcome == "held"
                            and ((f.date and f.date in decided_days)
                                 or f.sentence_index in decided_sentences))]
    if any(f.type == "sentence" for f, _ in findings):
        # "her former finance director was jailed": in a sentencing story, the prison term
        findings = [(f, v) for f, v in findings
                    if not (f.type == "custody" and "jailed" in f.trigger)]
    kept: list[tuple[Finding, SentenceVerdict]] = []
    for finding, verdict in findings:
        twins = [i for i, (k, _) in enumerate(kept) if _same_event(k, finding)]
        # a restatement is first of all the event with the same outcome
        twin = next((i for i in twins if kept[i][0].outcome == finding.outcome),
                    twins[0] if twins else None)
        if twin is None:
            kept.append((finding, verdict))
            continue
        first, first_verdict = kept[twin]
        changes = {}
        if first.date is None and finding.date is not None:
            changes["date"] = finding.date
        if first.matter.generic and not finding.matter.generic:
            changes["matter"] = finding.matter
        if first.outcome in ("other", None) and finding.outcome not in ("other", None):
            changes["outcome"] = finding.outcome    # an appeal told filed, then decided
        elif finding.outcome in ("other", None) or first.outcome == finding.outcome:
            pass
        else:               # granted and denied, or convicted and acquitted: mixed
            changes["outcome"] = "mixed"
        if changes:
            kept[twin] = (replace(first, **changes), first_verdict)
    lead_of_any, lead_of_court = _lead_date(kept, published), _lead_date(kept, published, True)
    first_dated = min((f.sentence_index for f, _ in kept
                       if f.date and (f.type, f.outcome) not in _OWN_DATES), default=None)
    dated: list[tuple[Finding, SentenceVerdict]] = []
    held: list[Finding] = []
    for finding, verdict in kept:
        if finding.type == "hearing" and finding.outcome == "scheduled" and finding.date is None:
            continue          # "will be sentenced at a later date": nothing is on the calendar
        if finding.type == "hearing" and finding.outcome == "held" and finding.date:
            held.append(finding)
        if finding.date is None and (finding.type, finding.outcome) not in _OWN_DATES:
            lead = lead_of_any if finding.type in _BEFORE_COURT else lead_of_court
            if opening is not None and (first_dated is None
                                        or finding.sentence_index < first_dated):
                lead = opening
            if verdict.index in live:
                # a live entry ("11:05 a.m. - Motion for mistrial denied."): the day it is
                # published, in the outlet's time, whatever the blog retells of earlier days
                finding = replace(finding, date=published.isoformat())
            elif finding.type == "ruling" and held and (lead is None or held[-1].date >= lead):
                # "He appeared on Thursday ... The judge refused": decided at that hearing
                finding = replace(finding, date=held[-1].date)
            elif lead is not None:
                finding = replace(finding, date=lead, reasons=(*finding.reasons, LEAD_DATED))
            elif decided:
                # news told with no day at all ("A jury has found ... guilty"): the report's
                # news day (`zones.news_day`: a morning report tells of yesterday)
                finding = replace(finding, date=(news_date or published).isoformat())
            elif finding.type in _UNDATED_IS_RECAP and not (
                    finding.type == "appeal" and finding.outcome is None):
                continue      # an undated event in an article with no dated news: recap
        dated.append((finding, verdict))
    return dated


def _matter_changes(knowledge: StoryKnowledge,
                    found: list[tuple[Development, Finding]]) -> list[MatterChange]:
    changes: list[MatterChange] = []
    current: dict[str, tuple[str | None, str | None]] = {}
    for dev, finding in found:
        if dev.matter_id is None or finding.status is None:
            continue
        before, before_date = current.get(dev.matter_id) or knowledge.matter_status(dev.matter_id)
        if finding.status == before and (dev.date is None or dev.date == before_date):
            continue
        changes.append(MatterChange(matter_id=dev.matter_id, title=finding.matter.title,
                                    from_status=before, to_status=finding.status, date=dev.date,
                                    development_id=dev.id))
        current[dev.matter_id] = (finding.status, dev.date)
    return changes


def run_offline(story: StoryDefinition, articles: list[Article],
                decider: Decider | None = None) -> list[Analysis]:
    """Analyse articles in publish order, learning each on-story one before the next."""
    knowledge = StoryKnowledge(story)
    analyses = []
    for article in sorted(articles, key=lambda a: (a.published_at, a.id)):
        analysis = analyze(knowledge, article, decider)
        if analysis.on_story:
            knowledge.learn(article, analysis)
        analyses.append(analysis)
    return analyses
