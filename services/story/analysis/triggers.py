"""The phrasings newsrooms use for each kind of development, and finding them in a sentence.

Rulings come in many words: "denied", but also "shot down", "turned down", "refused to",
"threw out", "agreed to", "allowed", "sided with"; whether a ruling grants or denies depends on
its object ("rejected the bid" denies a request, "struck down the approval" grants the
challenge to it). A trigger is only read where the reporter states a fact: not after a modal
("could deny"), a negation ("has not filed") or an intention ("will appeal").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .context import APPEALS_COURT, ArticleContext
from .text import fold, regex, without_quotes

# -- shared vocabulary ----------------------------------------------------------------------------

COURT = (r"(?:judge|justices?|court|panel|magistrate|tribunal|jurist|circuit)"
         r"(?!\s+(?:filings?|papers|documents|records|hearings?|appearances?|dates?|fight|"
         r"battle|case|cases|proceedings?|clerk|officials?|spokes\w*|system|fees|costs|"
         r"order))")
_COURT_AS_OBJECT = re.compile(r"\b(?:in|to|before|told|asked|urged|petitioned|from|with|at|"
                              r"into|for|of|outside|inside|by|against|filed)\s+"
                              r"(?:the\s+|a\s+|an\s+)?(?:[a-z.']+\s+){0,3}$")
_PARTY_SUBJECT = re.compile(
    r"\b(?:lawyers?|attorneys?|defen[cs]e|counsel|prosecutors?|government|plaintiffs?|"
    r"defendants?|jurors|jury|said|says|told|argued|claimed|complained|wrote|insisted)\b|[;:]|"
    r"\b(?:in which|during which|where|when)\s+(?:he|she|they)\b")
_MODAL = re.compile(r"\b(?:could|might|may|should|would|whether|if|unless|can|cannot|must|"
                    r"considering|weighing|expected to|likely to|plans? to|intends? to|"
                    r"wants? to|hopes? to|yet to|ready to|prepared to|threatened to|"
                    r"seeking to|sought to|trying to|tried to|asked \w+ to|urged \w+ to|"
                    r"decide|deciding|typically|usually|generally|normally|routinely|often)\b")
_NEGATION = re.compile(r"\b(?:not|never|no|n't|neither|nor|without)\s+(?:[\w.'-]+\s+){0,2}$")
_REPORTED_CONTENT = re.compile(
    r"\b(?:arguing|argued|argues|claiming|claims|contending|contended|contends|alleging|"
    r"asserting|asserted|insisting|insisted|saying|finding|found that|noting|ruling that|"
    r"writing|citing|calling(?!\s+(?:on|for)\b))\b")
BACKGROUND = re.compile(
    r"\b(?:ago|previously|formerly|earlier this year|early this year|earlier this month|"
    r"last year|last month|last (?:spring|summer|fall|autumn|winter)|years earlier|"
    r"months earlier|in the past|at the time|"
    r"back in(?= (?:\d{4}|the (?:spring|summer|fall|autumn|winter)|spring|summer|fall|autumn|"
    r"winter|jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))|twice|three times|four times|"
    r"several times|repeatedly|by the time|since then|originally|long before|years before|"
    r"years after|decades?|history of|famously|once before|before (?:the |his |her |their )?"
    r"trial|earlier in the case|at (?:his|her|their) trial)\b")
PAST_PERFECT = re.compile(
    r"\bhad\s+(?:not\s+|previously\s+|already\s+|also\s+|earlier\s+|twice\s+|long\s+|once\s+)?"
    r"(?:been\s+)?(?!to\b|a\b|an\b|the\b|no\b|his\b|her\b|its\b|their\b|some\b|any\b|little\b|"
    r"nothing\b|more\b|less\b|only\b|just\b)[a-z]{3,}")
_SCOPE_BREAK = re.compile(
    r"[;:]|\s-\s|,\s+(?=(?:who|which|where|once|after|before|when|as|since|while|although|"
    r"though|because|but|and|including|whose|arguing|saying|claiming|contending|finding|"
    r"noting|adding|calling|citing|clearing|capping|ending|leaving|meaning)\b)|"
    r"\s(?=(?:who|which|whose|whom)\s)|\bbut\b")
RELATIVE_OFFSET = re.compile(
    r"\b(?P<n>a|an|one|two|three|four|five|six|seven|several|a few|\d+)\s+(?P<unit>hours?|"
    r"days?|weeks?|months?|years?)\s+(?P<dir>after|before|since)\s+(?:[\w.'-]+\s+){0,6}$")


# within one sentence a period ends nothing unless it ends the sentence ("Oct. 15", "U.S.")
_GAP = r"(?:[^.;]|\.(?=\s*\w))"


# -- helpers --------------------------------------------------------------------------------------

def scope(text: str, start: int, end: int) -> tuple[int, int]:
    """The clause a trigger sits in: relative clauses, asides and what someone argues cut away."""
    left, right = 0, len(text)
    for m in _SCOPE_BREAK.finditer(text):
        if m.end() <= start:
            left = m.end()
        elif m.start() >= end:
            right = m.start()
            break
    return left, right


def _blank(text: str, start: int, end: int) -> str:
    return text[:start] + " " * (end - start) + text[end:]


_CLAIMS_NOUN = re.compile(r"\b(?:the|his|her|their|its|these|those|all|some|other|remaining|"
                          r"[\w-]+'s?)\s+(?:[\w-]+\s+)?$")
_FILED_NOUN = re.compile(r"\b(?:action|lawsuit|suit|complaint|petition|motion|case|claim|"
                         r"indictment|filing)\s+$")


@lru_cache(maxsize=4096)     # the detectors and the features read each sentence's voice
def reporter_voice(low: str) -> str:
    """The sentence with what someone argues, says or finds blanked out (same length). "The
    wage claims will go forward" has a noun, not a verb; what a suit claims ("a class action
    claiming it shortchanged drivers, under a deal ...") ends with its clause."""
    for m in _REPORTED_CONTENT.finditer(low):
        before = low[max(0, m.start() - 40):m.start()]
        if m.group(0) == "claims" and _CLAIMS_NOUN.search(before) and \
                not regex(r"\s+(?:that|to)\b").match(low[m.end():]):
            continue
        if _FILED_NOUN.search(before):
            comma = low.find(",", m.end())
            low = _blank(low, m.end(), comma if comma >= 0 else len(low))
            continue
        # "granted it on one count, saying the state never proved it, and denied it on the
        # rest": the reporter's voice resumes with the next decision
        resumed = _VOICE_RESUMES.search(low, m.end())
        return _blank(low, m.end(), resumed.start() if resumed else len(low))
    return low


_VOICE_RESUMES = re.compile(r",\s+(?:and|but)\s+(?:then\s+|also\s+|later\s+)?(?=(?:denied|"
                            r"granted|rejected|dismissed|refused|declined|ordered|sentenced|set|"
                            r"scheduled|threw out|tossed|struck|upheld|overturned)\b)")


def _modal_before(low: str, start: int) -> bool:
    scope_start = scope(low, start, start + 1)[0]
    window = low[max(scope_start, start - 40):start]
    window = window[window.rfind(", ") + 1:]   # "X will go forward, a judge ruled": not its
    tokens = window.split()
    return bool(_MODAL.search(" ".join(tokens[-5:]))) if tokens else False


def _negated(low: str, start: int) -> bool:
    return bool(_NEGATION.search(low[max(0, start - 30):start]))


def names_alternation(surnames: tuple[str, ...], text: str) -> str:
    """ "|cogan|sandoval": the surnames that occur in `text`, as alternatives for a pattern
    searched in it (one that does not occur cannot match there, and leaving it out keeps the
    compiled patterns few: one per set of judges named in a sentence, not one per article)."""
    return "".join(f"|{re.escape(s)}" for s in surnames if s in text)


def _court_subject(low: str, position: int, ctx: ArticleContext,
                   previous: str | None) -> re.Match | bool | None:
    """The court or judge acting as subject of a trigger: named before it in the sentence,
    "he"/"she" continuing a sentence about the judge, or "by the judge" after a passive."""
    pattern = regex(rf"\b(?:{COURT}{names_alternation(ctx.judge_surnames, low)})\b")
    found = None
    for m in pattern.finditer(low, max(0, position - 200), position):
        if _COURT_AS_OBJECT.search(low[max(0, m.start() - 40):m.start()]):
            continue
        if _PARTY_SUBJECT.search(low[m.end():position]):
            continue
        found = m
    if found is not None:
        return found
    if regex(r"\b(?:he|she)\s+(?:\w+\s+){0,2}$").search(low[max(0, position - 30):position]) \
            and previous is not None and ctx.judges:
        prev = fold(without_quotes(previous)).lower()
        names = names_alternation(ctx.judge_surnames, prev)
        if regex(rf"\b(?:judge|justice|magistrate|court{names})\b").search(prev):
            return True
    return None


def _court_after(low: str, end: int, ctx: ArticleContext) -> bool:
    alternatives = COURT + names_alternation(ctx.judge_surnames, low[end:end + 80])
    return bool(regex(rf"\s+(?:\w+\s+)?by\s+(?:the\s+|a\s+)?(?:[\w.']+\s+){{0,3}}"
                      rf"(?:{alternatives})\b").match(low[end:end + 80]))


@dataclass(frozen=True)
class Trigger:
    type: str
    outcome: str | None
    start: int
    end: int
    detail: str | None = None
    request_like: bool = False
    date_rule: str = "nearest"       # nearest | after | new_date | set_date


# -- rulings and appeals decisions ----------------------------------------------------------------

_DENY = (r"denied|denies|rejected|rejects|refused|refuses|declined|declines|turned down|"
         r"turns down|shot down|shoots down|threw out|throws out|tossed out|tossed|tosses|"
         r"dismissed|dismisses|rebuffed|rebuffs|spurned|nixed|quashed|overruled|ruled against|"
         r"rules against|struck down|strikes down|blocked|blocks|said no to|would not let|"
         r"wouldn't let|won't let|will not let|did not let|didn't let|kept|keeps")
_GRANT = (r"granted|grants|approved|approves|allowed|allows|agreed to|agrees to|sided with|"
          r"sides with|signed off on|signs off on|okayed|ok'd|lifted|lifts|permitted|permits|"
          r"ruled in favor of|rules in favor of|cleared the way|green-lit|greenlit|"
          r"gave (?:\w+ )?(?:final |preliminary )?(?:permission|approval|the go-ahead)|"
          r"gives (?:\w+ )?(?:final |preliminary )?approval|upheld|upholds|affirmed|"
          r"overturned|overturns|reversed|reverses|vacated|vacates|awarded|awards|let|"
          r"ordered|orders|committed|appointed|consolidated|combined|certified|revoked|revokes|"
          r"halted|halts|froze|freezes|suspended|suspends|enjoined|enjoins|barred|bars|"
          r"prohibited|precluded|suppressed|excluded|stayed|stays|"
          r"issued (?:an? |the )?(?:[\w-]+ ){0,2}?(?:injunction|restraining order)|"
          r"imposed (?:an? |the )?(?:[\w-]+ ){0,2}?(?:injunction|restraining order|gag order)")
_OTHER = (r"ruled|split (?:it|the (?:difference|motion|request|baby))|"
          r"issued (?:an? |the |her |his )?(?:\w+ )?(?:ruling|opinion|decision)|"
          r"set (?:bail|bond) at")
# "In a 31-page order filed Thursday, the judge found ...": the order dates the ruling
_ORDER_ISSUED = re.compile(
    r"\bin (?:an?|the|its|his|her) (?:[\w-]+\s+){0,3}?(?:order|opinion|ruling|decision)\s+"
    r"(?:filed|issued|signed|entered|released|posted|dated|handed down)\b")
# "entered an order denying the motion", "issued a 40-page opinion granting", "in an order
# Tuesday dismissing the suit": the order and its outcome in one phrase
_ORDER_DECIDES = re.compile(
    r"\b(?:(?:entered|enters|issued|issues|signed|signs|filed|handed down|released)\s+|in\s+)"
    r"(?:an?|the|its|his|her)\s+(?:(?!proposed\b)[\w-]+\s+){0,3}?(?:order|opinion|ruling|"
    r"decision|judgment|memorandum)\s+(?:(?:on\s+)?\w+day\s+)?(?:(?P<deny>denying|rejecting|dismissing|"
    r"refusing|declining|overruling|quashing)|(?P<grant>granting|approving|allowing|sustaining|"
    r"certifying|enjoining|blocking|reversing|vacating))\b")
# "ruled ..., rejecting a defense motion": the participle tells the outcome
_PARTICIPLE = re.compile(r",\s+(?P<deny>rejecting|denying|dismissing|refusing|declining)\b|"
                         r",\s+(?P<grant>granting|approving|siding with|allowing)\b")
_RULING_TRIGGER = re.compile(rf"\b(?P<deny>{_DENY})\b|\b(?P<grant>{_GRANT})\b|"
                             rf"\b(?P<other>{_OTHER})\b")
_NEGATED_GRANT = re.compile(r"\b(?:refused to|declined to|would not|wouldn't|will not|won't|"
                            r"did not|didn't|does not|doesn't|could not|couldn't|failed to)\s+"
                            r"(?:\w+\s+)?(?:grant|allow|approve|let|lift|order|permit|dismiss|"
                            r"release|move|transfer|free|toss|throw|overturn|reverse|take up|"
                            r"hear|end|recommend)\b")
_NOT_A_RULING = re.compile(
    r"\b(?:declined|refused|declines|refuses)\s+(?:immediately\s+)?(?:to\s+)?(?:comment|discuss|"
    r"say|elaborate|respond|speak|answer|provide|confirm|identify|be interviewed|"
    r"give (?:an? |any |further )?(?:comment|details|interviews?|statements?|reasons?|"
    r"evidence|testimony|names?|figures)|"
    r"disclose|talk)\b|"
    r"\b(?:declined|refused|declines|refuses)\s+to\s+(?:release|make public|return|share)\s+"
    r"(?:the\s+|any\s+|his\s+|her\s+|their\s+)?(?:\w+\s+)?(?:names?|details|documents|"
    r"information|records|data|statement|video|footage|calls|figures|results)\b|"
    r"\bdenied (?:any |the |all )?(?:wrongdoing|allegations?|charges|accusations?|claims?|"
    r"involvement|responsibility|knowledge|reports?)\b")
# grant verbs that decide nothing unless their object is a request's subject matter
_BARRED_OBJECT = re.compile(
    r"\s+(?:[\w.'-]+\s+){0,2}?(?:prosecutors|the government|the defense|defense lawyers|"
    r"lawyers|attorneys|the jury|jurors|evidence|testimony|statements|recordings?|the use|"
    r"witnesses|experts?)\b")
_WEAK_GRANTS = {"barred", "bars", "prohibited", "precluded", "suppressed", "excluded",
                "ordered", "orders", "committed", "appointed",
                "consolidated", "combined", "certified", "kept", "keeps", "let", "lifted",
                "lifts", "vacated", "vacates", "stayed", "stays"}
_ORDERED_OBJECT = re.compile(
    r"\s+(?:[\w.'-]+,?\s+){0,12}?(?:committed|extradit\w*|released?|freed|transferred|moved|"
    r"a new trial|the release|surrendered|(?P<held>held without bail|detained|jailed|"
    r"held in custody|remanded))\b")
# an order told by what it makes a party do: "ordered the company to stop discharging",
# "ordered the city to halt construction", "ordered the agency to restore the grant"
_ORDERED_TO_STOP = re.compile(
    r"\s+(?:[\w.'-]+,?\s+){1,6}?to\s+(?:immediately\s+)?(?:stop|halt|cease|suspend|shut|close|"
    r"refrain|restore|reinstate|rehire|remove|take down|turn over|disclose|produce)\b")
_REQUEST_NOUN = (r"(?:request|requests|motion|motions|bid|petition|application|appeal|"
                 r"lawsuit|suit|case|claim|claims|objection|objections|plea|effort|efforts|"
                 r"challenge)")
_PASSIVE_RULING = re.compile(
    rf"\b{_REQUEST_NOUN}\b{_GAP}{{0,80}}?\b(?:was|were|has been|have been|had been|got)\s+"
    rf"(?:\w+\s+)?(?P<verb>denied|rejected|granted|dismissed|approved|thrown out|"
    rf"tossed(?: out)?|turned down|shot down|struck down|upheld|overturned|reversed|allowed)\b")
_PARTIAL = re.compile(r"\b(?:granted|denied) in part\b|\bin part\b|\bpartially\b|\bpartly\b|"
                      r"\b(?:the )?(?:rest|remainder|balance) of\b|"
                      r"\bsplit (?:decision|ruling)\b|\bpart of\b|\bsome of\b|"
                      r"\b(?:less|lower|smaller) than\b(?:[^.;]|\.(?=\d)){0,50}\b(?:requested|"
                      r"sought|asked)\b|"
                      r"\bshort of\b(?:[^.;]|\.(?=\d)){0,50}\b(?:requested|sought|asked)\b")
_ARGUMENT_OBJECT = re.compile(
    r"\s+(?:[\w.'-]+\s+){0,3}?(?:argument|arguments|contention|assertion|suggestion|notion|"
    r"characterization|view|theory)\b")
_CHARGES_OBJECT = re.compile(r"\s+(?:[\w.'-]+\s+){0,5}?(?:charges?|indictment|counts?|"
                             r"case|lawsuits?|suits?|complaint|claims|class action)\b")
_PARTIAL_OBJECT = re.compile(r"\s+(?:the\s+)?(?:part|parts|some|one|two|three|four|five|six|"
                             r"several|most|portions?|rest|remainder|balance)\s+of\b")


_REQUEST_WORDS = re.compile(r"\b(?:request|requests|motion|motions|bid|bids|petition|"
                            r"application|appeal|appeals|effort|efforts|attempt|objection|"
                            r"objections|challenge|plea|demand|proposal|argument|push|call)\b")
_ACT_WORDS = re.compile(r"\b(?:approval|approvals|law|laws|policy|rule|rules|ordinance|permit|"
                        r"decision|conviction|sentence|indictment|charges?|counts?|lawsuits?|"
                        r"suits?|case|complaint|claims|class action|merger|deal|contract|"
                        r"construction|project|plan|order|ban|regulation|election|vote|"
                        r"subpoena|warrant|verdict)\b")


def _challenged_act(after: str) -> bool:
    """Whether the object of a striking-down verb is an act someone challenged (an approval,
    a law, a lawsuit, the charges) rather than a request (a motion, a bid)."""
    phrase = regex(r",|;|\b(?:to|for|that|because|after|while|as|but|and|saying|ruling|"
                   r"finding|on|in|at|by|with)\b").split(after[:90], maxsplit=1)[0]
    if _REQUEST_WORDS.search(phrase):
        return False
    return bool(_ACT_WORDS.search(phrase))


def _decides_something(verb: str, after: str) -> bool:
    """Verbs that are rulings only with the right object: "ordered him released" (not "ordered
    him to surrender his passport"), "barred prosecutors from using" (not "behind bars")."""
    if verb not in _WEAK_GRANTS:
        return True
    if verb in ("ordered", "orders"):
        return bool(_ORDERED_OBJECT.match(after) or _ORDERED_TO_STOP.match(after))
    if verb == "let":
        return bool(regex(r"\s+\w+").match(after))
    if verb in ("kept", "keeps"):
        return bool(regex(r"\s+(?:[\w.'-]+\s+){0,4}?(?:in|on|under|behind|locked)\s+"
                          r"(?:jail|custody|prison|isolation|solitary|detention|place)").match(after))
    if verb in ("suppressed", "excluded"):
        # "suppressed the test result", "excluded his statements": a ruling on evidence
        return bool(regex(r"\s+(?:the|his|her|their|its|all|some|any|most|evidence|"
                          r"statements|testimony)\b").match(after))
    if verb in ("barred", "bars", "prohibited", "precluded"):
        return bool(_BARRED_OBJECT.match(after))
    if verb in ("lifted", "lifts", "vacated", "vacates", "stayed", "stays"):
        return bool(regex(r"\s+(?:the|a|an|his|her|its|their)\b").match(after))
    return True


_APPEAL_DENIALS = {"upheld", "upholds", "affirmed", "dismissed", "dismisses", "rejected",
                   "rejects", "denied", "denies", "threw out", "tossed", "turned down"}
_APPEAL_GRANTS = {"overturned", "overturns", "reversed", "reverses", "vacated", "vacates",
                  "struck down", "strikes down", "granted", "grants", "sided with"}


def _outcome(m: re.Match, masked: str, after: str, detention_sought: bool = False) -> str:
    """granted | denied | mixed | other, from the side of the request the ruling decides."""
    verb = m.group(0)
    if m.group("deny"):
        outcome = "denied"
    elif m.group("grant"):
        outcome = "granted"
    else:
        outcome = "other"
    negated = _NEGATED_GRANT.search(masked, max(0, m.start() - 2), m.end() + 40)
    if negated and negated.start() <= m.start() + 1:
        outcome = "denied"                # "refused to release", "declined to let"
    held = verb in ("ordered", "orders") and _ORDERED_OBJECT.match(after)
    if held and held.group("held"):
        # "ordered him held without bail": denies bail, or grants the prosecution's request
        outcome = "granted" if detention_sought else "denied"
    if outcome == "denied" and _challenged_act(after):
        outcome = "granted"               # "struck down the approval", "dismissed the
                                          # lawsuit": the challenge to it succeeded
    if outcome == "denied" and regex(r"\s+(?:[\w.'-]+\s+){0,3}?defen[cs]es\b").match(after):
        outcome = "granted"               # "rejected the defendant's defences": the claim won
    if verb in ("upheld", "upholds", "affirmed"):
        outcome = "other"
    if verb.startswith("split "):
        outcome = "mixed"                 # "split it down the middle": partly granted
    if outcome in ("granted", "denied") and (
            _PARTIAL_OBJECT.match(after)
            or _PARTIAL.search(masked, m.start(), min(m.end() + 120, scope(masked, m.start(),
                                                                          m.end())[1]))
            or regex(r"\b(?:partly|partially)\s+$").search(
                masked[max(0, m.start() - 12):m.start()])):
        outcome = "mixed"                 # "dismissed part of the suit"
    return outcome


def _by_appeals_court(court, masked: str, ctx: ArticleContext) -> bool:
    if not isinstance(court, re.Match):
        return False
    return bool(APPEALS_COURT.search(masked[max(0, court.start() - 40):court.end()])) or (
        ctx.appeals_court and court.group(0) in ("panel", "court"))


def _ruling_triggers(low: str, ctx: ArticleContext, previous: str | None) -> list[Trigger]:
    found: list[Trigger] = []
    masked = _NOT_A_RULING.sub(lambda m: " " * len(m.group(0)), low)
    for m in _RULING_TRIGGER.finditer(masked):
        verb = m.group(0)
        if _modal_before(masked, m.start()) or _negated(masked, m.start()) and not \
                m.group("deny"):
            continue
        if regex(r"\bto\s+(?:be\s+)?$").search(masked[max(0, m.start() - 6):m.start()]):
            continue                  # "a request to be released": the request, not a ruling
        court = _court_subject(masked, m.start(), ctx, previous)
        if court is None and found and regex(r"\b(?:and|but)\s+(?:then\s+|also\s+)?$").search(
                                                 masked[max(0, m.start() - 12):m.start()]):
            court = True              # "granted it on one count ... and denied it on the rest"
        if court is None and not _court_after(masked, m.end(), ctx):
            continue
        after = masked[m.end():m.end() + 120]
        if not _decides_something(verb, after) or _ARGUMENT_OBJECT.match(after):
            continue                  # rejecting an argument is part of a ruling, not one
        outcome = _outcome(m, masked, after, ctx.detention_sought)
        kind = "ruling"
        if verb in ("stayed", "stays"):
            pass                      # a stay pending the appeal is an interim ruling
        elif _by_appeals_court(court, masked, ctx):
            kind = "appeal"           # from the appellant's side: upheld = denied
            if verb in _APPEAL_DENIALS:
                outcome = "denied"
            elif verb in _APPEAL_GRANTS:
                outcome = "granted"
        found.append(Trigger(kind, outcome, m.start(), m.end()))
    for m in _ORDER_ISSUED.finditer(masked):
        if not any(t.start < m.end() and m.start() < t.end for t in found):
            found.append(Trigger("appeal" if ctx.appeals_court else "ruling", "other",
                                 m.start(), m.end()))
    for m in _ORDER_DECIDES.finditer(masked):
        if _modal_before(masked, m.start()) or _negated(masked, m.start()) or \
                any(t.start < m.end() and m.start() < t.end for t in found):
            continue
        after = masked[m.end():m.end() + 120]
        outcome = "denied" if m.group("deny") and not _challenged_act(after) else "granted"
        if _PARTIAL_OBJECT.match(after) or _PARTIAL.search(masked[m.start():m.end() + 120]):
            outcome = "mixed"
        found.append(Trigger("appeal" if ctx.appeals_court else "ruling", outcome,
                             m.start(), m.end()))
    found += _participle_outcomes(masked, found)
    found += _passive_rulings(masked, found)
    return sorted(found, key=lambda t: t.start)


def _participle_outcomes(masked: str, found: list[Trigger]) -> list[Trigger]:
    """ "ruled ..., rejecting a defense motion": the participle tells what "ruled" decided."""
    extra = []
    for m in _PARTICIPLE.finditer(masked):
        ruled = next((t for t in found if t.outcome == "other" and t.start < m.start()), None)
        if ruled is None:
            continue
        outcome = "denied" if m.group("deny") else "granted"
        if outcome == "denied" and _challenged_act(masked[m.end():m.end() + 120]):
            outcome = "granted"
        extra.append(Trigger(ruled.type, outcome, m.start() + 1, m.end()))
    return extra


# what a person is granted or refused by a court: "was denied bail", "were refused leave to
# appeal", "has been granted a stay", "was allowed more time"
_PERSON_PASSIVE = re.compile(
    r"\b(?:was|were|has been|have been|had been|got)\s+(?:\w+\s+)?(?P<verb>denied|refused|"
    r"granted|given|allowed)\s+(?:\w+\s+)?(?:bail|bond|release|parole|(?:a\s+)?stay|"
    r"leave to (?:appeal|apply)|permission to|an? (?:adjournment|new trial|mistrial|injunction|"
    r"change of venue|extension|delay|continuance|(?:[\w-]+\s+)?hearing)|more time|"
    r"standing|immunity)\b")


def _passive_rulings(masked: str, found: list[Trigger]) -> list[Trigger]:
    """ "the request was denied", "his appeal was rejected", "she was denied bail"."""
    extra = []
    for m in [*_PASSIVE_RULING.finditer(masked), *_PERSON_PASSIVE.finditer(masked)]:
        verb = m.group("verb")
        if _modal_before(masked, m.start("verb")) or _negated(masked, m.start("verb")):
            continue
        if any(t.start <= m.start("verb") < t.end for t in found):
            continue
        outcome = "granted" if verb in ("granted", "approved", "allowed", "overturned",
                                        "reversed", "given") else "denied"
        if verb == "upheld":
            outcome = "other"
        extra.append(Trigger("ruling", outcome, m.start("verb"), m.end("verb")))
    return extra


# -- hearings -------------------------------------------------------------------------------------

_HEARING_NOUN = (r"(?:(?:[\w-]+\s+)?(?:hearings?|arraignment|sentencing|plea hearing)|"
                 r"(?:status|scheduling|pretrial|settlement|bail|case management)\s+conference|"
                 r"(?:oral\s+)?arguments?|court date|(?:first |initial |court )appearance)")
_NOUN_SPAN = r"(?:[\w.,'-]+\s+){0,3}?"
_OFF_CALENDAR = (r"(?:taken|removed|struck|pulled|dropped)\s+(?:off|from)\s+"
                 r"(?:(?:the|its|his|her)\s+)?(?:calendar|docket|schedule)\b")
_DELAY_VERBS = (r"postponed|delayed|adjourned|pushed back|pushed|rescheduled|put off|moved back|"
                r"moved|continued|reset|bumped|shifted")
# A new alternative here needs one of its outcome's words in _HEARING_NEEDS below.
_HEARING_PATTERNS: tuple[tuple[str, re.Pattern, str], ...] = (
    ("cancelled", re.compile(
        rf"\b(?:cancell?ed|called off|scrapped|scratched|vacated|struck)\s+(?:the\s+|a\s+|an\s+|"
        rf"his\s+|her\s+|their\s+)?{_NOUN_SPAN}{_HEARING_NOUN}\b|"
        rf"\b{_HEARING_NOUN}\b{_GAP}{{0,160}}?\b(?:was|were|has been|have been)\s+(?:\w+\s+)?"
        rf"(?:cancell?ed|called off|scrapped|scratched|vacated|{_OFF_CALENDAR})|"
        rf"\b(?:took|takes|removed|removes|struck|strikes|pulled|pulls)\s+(?:the\s+|a\s+|an\s+)?"
        rf"{_NOUN_SPAN}{_HEARING_NOUN}\s+(?:off|from)\s+(?:the|its|his|her)\s+"
        rf"(?:calendar|docket|schedule)\b"), "set_date"),
    ("postponed", re.compile(
        rf"\b{_HEARING_NOUN}\b{_GAP}{{0,120}}?\b(?:was|were|has been|have been|got)\s+"
        rf"(?:\w+\s+)?(?:{_DELAY_VERBS})\b|"
        rf"\b(?:postponed|delayed|adjourned|pushed back|rescheduled|put off|moved)\s+"
        rf"(?:the\s+|a\s+|an\s+|his\s+|her\s+|their\s+|\w+'s\s+)?{_NOUN_SPAN}"
        rf"{_HEARING_NOUN}\b|"
        rf"\b(?:continued|pushed|reset|bumped|shifted)\s+(?:the\s+|a\s+|an\s+|his\s+|"
        rf"her\s+|their\s+|\w+'s\s+)?{_NOUN_SPAN}{_HEARING_NOUN}\s+(?:back\b|to\b|until\b|"
        rf"till\b|indefinitely\b)|"
        # a court appearance put over: "the matter was adjourned to May 21", "adjourned the
        # case until next month", "her case was put over to June 3", "remanded until Friday"
        rf"\b(?:matter|case|proceedings|charges?)\s+(?:was|were|has been|have been|got)\s+"
        rf"(?:\w+\s+)?(?:adjourned|put over|set over|stood down|traversed)\b|"
        rf"\b(?:adjourned|put over|set over)\s+(?:the|his|her|their)\s+(?:matter|case|"
        rf"proceedings)\s+(?=(?:to|until|till)\b)|"
        # a headline: "Sentencing pushed back to October", "Permit hearing moved to May"
        rf"\b{_HEARING_NOUN}\s+(?:postponed|delayed|moved|pushed back|pushed|rescheduled|"
        rf"put off|bumped|reset)\s+(?:back\s+)?(?=(?:to|until|till)\b)|"
        # set once, now moved: "had been set for Tuesday, but an order moves it to October",
        # "which had been scheduled for Thursday, will now be heard May 9"
        rf"\b{_HEARING_NOUN}\b{_GAP}{{0,120}}?\bhad been (?:set|scheduled|slated|listed)\b"
        rf"{_GAP}{{0,160}}?(?:\b(?:moves?|moved|push(?:es|ed)?|bump(?:s|ed)?|resets?) it\b|"
        rf"\bwill now be (?:heard|held)\b|\b(?:is|are) now (?:set|scheduled|due)\b)"),
     "new_date"),
    ("scheduled", re.compile(
        rf"\b(?:will|would|'ll|is to|are to|is expected to|are expected to|is due to|"
        rf"is scheduled to|are scheduled to|is set to|are set to)\s+(?:\w+\s+){{0,2}}?"
        rf"(?:hold|have|hear|conduct|convene|consider)\b[^.;]{{0,60}}?\b{_HEARING_NOUN}\b|"
        rf"\b{_HEARING_NOUN}\b{_GAP}{{0,80}}?\b(?:is|are|was|were|has been|have been|had been)\s+"
        rf"(?:now\s+|also\s+|tentatively\s+)?(?:set|scheduled|slated|calendared|due|expected)\b"
        rf"(?!\s+to\s+(?:last|take|run|continue))|"
        # "a sentencing hearing will be held in January", "the hearing is to take place on"
        rf"\b{_HEARING_NOUN}\b{_GAP}{{0,80}}?\b(?:will|is to|are to|is expected to|"
        rf"is due to|are expected to|are due to)\s+(?:now\s+|also\s+)?(?:be held|take place|"
        rf"be heard|go ahead|proceed|resume|be convened)\b|"
        rf"\b(?:set|scheduled|slated|calendared)\s+(?:an?\s+|the\s+|his\s+|her\s+|their\s+|"
        rf"another\s+|a new\s+)?{_NOUN_SPAN}{_HEARING_NOUN}\b|"
        rf"\b{_HEARING_NOUN}\s+(?:set|scheduled|slated)\s+(?:for|to)\b|"
        rf"\b(?:will|is scheduled to|is set to|is due to|is expected to|are scheduled to|"
        rf"are due to|are expected to)\s+(?:next\s+|again\s+|now\s+|also\s+|first\s+)?"
        rf"(?:be\s+)?(?:arraigned|sentenced|appear|"
        rf"return to court|be back in court|make (?:an?\s+|his\s+|her\s+|their\s+)?"
        rf"(?:first\s+|initial\s+)?(?:court\s+)?appearance)\b|"
        rf"\b(?:is|are) due (?:back )?in (?:[\w.'-]+\s+){{0,3}}?court\b|"
        # "directed her to appear in person on August 21", "ordered him to appear Monday"
        rf"\b(?:directed|ordered|summoned|told)\s+(?:him|her|them)\s+to\s+appear\b|"
        # "a hearing on the injunction, which the judge set for May 24"
        rf"\b{_HEARING_NOUN}\b{_GAP}{{0,80}}?\b(?:which|that)\s+(?:the\s+)?(?:[\w.'-]+\s+){{0,3}}?"
        rf"(?:set|scheduled|slated|fixed|listed)\s+(?:it\s+)?(?:for|on)\b"), "after"),
    ("held", re.compile(
        rf"\b(?:held|conducted|convened|presided over)\s+(?:an?|the)\s+{_NOUN_SPAN}"
        rf"{_HEARING_NOUN}\b|\bheard (?:oral )?arguments\b|\b(?:was|were) arraigned\b|"
        rf"\b(?:was|were) produced\s+(?:[\w-]+\s+){{0,3}}?before\b|"
        rf"\b(?:pleaded|pleads|pled) not guilty\b|"
        rf"\bappeared\s+(?:[\w-]+\s+){{0,5}}?(?:in (?:\w+\s+)?court|before (?:a |the )?"
        rf"(?:[\w.-]+\s+){{0,3}}?(?:judge|court|magistrate)|by video|via video|remotely)\b|"
        rf"\bappeared\s+(?:[\w-]+\s+){{0,3}}?(?:at|in)\s+(?:the\s+)?(?:[\w.'-]+\s+){{0,4}}?"
        rf"(?:court|courthouse)\b|"
        rf"\bmade\s+(?:his|her|their|an?)\s+(?:first|initial|brief|second|court|video|"
        rf"[\w-]+\s+court)\s+(?:court\s+)?appearance\b|"
        rf"\b(?:was|were)\s+back\s+(?:in court|before|in front of)\b|"
        rf"\b(?:was|were|sat)\s+(?:back\s+)?(?:in (?:[\w.'-]+\s+){{0,2}}?court(?:room)?|before|"
        rf"in front of)\b{_GAP}{{0,80}}?"
        rf"\bfor\s+(?:an?|the|its|his|her|their)\s+{_NOUN_SPAN}{_HEARING_NOUN}\b|"
        rf"\b{_HEARING_NOUN}\b{_GAP}{{0,60}}?\b(?:got under way|opened|began|started|resumed|"
        rf"took place|was held|lasted|ended|concluded|wrapped up|stretched)\b|"
        rf"\bheard\s+(?:[\w.-]+\s+){{0,5}}?(?:oral\s+)?arguments?\b|"
        rf"\bentered\s+(?:an?|his|her|their)\s+(?:plea of not guilty|not[- ]guilty plea)\b|"
        rf"\b(?:stood|appeared)\s+(?:[\w-]+\s+){{0,3}}?before\s+(?:a|the)\s+"
        rf"(?:[\w.-]+\s+){{0,3}}?(?:judge|court|magistrate)\b|"
        rf"\b(?:at|during|after|following|at the (?:end|close|conclusion) of)\s+"
        rf"(?:an?|the|\w+'s)\s+{_NOUN_SPAN}{_HEARING_NOUN}\b"
        rf"(?![^.;]{{0,40}}\b(?:will|would|next|scheduled|set for)\b)"), "nearest"),
)


# the words a match of each hearing pattern holds one of (every alternative of it needs a
# hearing noun or one of the others): a sentence with none of them cannot match it
_HEARING_NOUN_WORDS = ("hearing", "arraignment", "sentencing", "conference", "argument",
                       "court date", "appearance")
_HEARING_NEEDS = {
    "cancelled": _HEARING_NOUN_WORDS,
    "postponed": (*_HEARING_NOUN_WORDS, "adjourned", "put over", "set over", "stood down",
                  "traversed"),
    "scheduled": (*_HEARING_NOUN_WORDS, "arraigned", "sentenced", "appear", "court"),
    "held": (*_HEARING_NOUN_WORDS, "arraigned", "produced", "not guilty", "appeared", "back",
             "entered", "before"),
}


_HEARING_VERB = re.compile(r"\b(?:postponed|delayed|adjourned|pushed back|rescheduled|put off|"
                           r"moved|continued|cancell?ed|called off|scrapped|vacated|set|"
                           r"scheduled|slated|calendared|due|got under way|opened|began|"
                           r"started|resumed|took place|was held|lasted|ended|concluded|"
                           r"wrapped up|stretched|pushed|reset|bumped|shifted|scratched|"
                           r"taken|removed|struck|pulled|dropped)\b")


def _hearing_triggers(low: str) -> list[Trigger]:
    found: list[Trigger] = []
    spans: list[tuple[int, int]] = []
    for outcome, pattern, rule in _HEARING_PATTERNS:
        if outcome == "held" and any(t.outcome == "scheduled" for t in found):
            break                     # "is due to appear at a bail hearing": not held yet
        if not any(w in low for w in _HEARING_NEEDS[outcome]):
            continue
        for m in pattern.finditer(low):
            if any(s < m.end() and m.start() < e for s, e in spans):
                continue              # "a conference scheduled for May 28 was canceled"
            if outcome == "held" and regex(r"\b(?:jury|jurors)\b[^.;]{0,40}$").search(
                                               low[max(0, m.start() - 40):m.start()]):
                continue              # "the jury heard closing arguments": the trial
            if _negated(low, m.start()) or regex(r"\s*no\b").match(low[m.start():]):
                continue
            if outcome != "scheduled" and _modal_before(low, m.start()):
                continue
            if outcome == "scheduled" and _modal_before(low, m.start()) and not regex(
                    r"\s*(?:will|would|is|are)\b").match(m.group(0)):
                continue
            start = m.start()
            verbs = list(_HEARING_VERB.finditer(low, m.start(), m.end()))
            if verbs and regex(_HEARING_NOUN).match(low[m.start():]):
                start = verbs[-1].start()     # "The sentencing, which ..., was postponed"
            found.append(Trigger("hearing", outcome, start, m.end(), date_rule=rule))
            spans.append(m.span())
            break
    return found


# -- filings, statements --------------------------------------------------------------------------

_NON_PARTY = re.compile(
    r"\b(?:group|organization|organisation|alliance|coalition|committee|association|"
    r"advocates?|advocacy|union|council|watchdog|monitors?|monitoring|foundation|network|"
    r"institute|society|league|international|residents|neighbors|activists|creditors|"
    r"board|commission|commissioners|legislature|assembly|caucus|parliament|resolution|"
    r"members?|lawmakers?|senators?|officials?|mayor|governor|president|spokes\w+|"
    r"family|families|parents|relatives|widow|widower|mother|father|brother|sister|son|"
    r"daughter|victims?|survivors|uncle|aunt|friends)\b")
_PARTY = re.compile(r"\b(?:lawyers?|attorneys?|defen[cs]e|counsel|prosecutors?|government|"
                    r"plaintiffs?|defendants?|public defenders?|u\.s\. attorney)\b")
_FILING = re.compile(
    r"\b(?:filed|files|submitted|submits|lodged)\b(?:\s+[\w.'-]+){0,4}?\s+(?P<what>motion|"
    r"lawsuit|suit|petition|complaint|letter|request|papers|application|notice|objection|"
    r"response|opposition|memo|memorandum|filing|challenge|brief|class action|affidavit)s?\b|"
    r"\b(?:followed(?: up)?|came back|responded|countered)(?:\s+on)?(?:\s+\w+day)?\s+with\s+"
    r"(?:an?|the|its|their|his|her)\s+(?:[\w-]+\s+){0,3}?(?:motion|petition|application|complaint|"
    r"lawsuit|suit|request)\b|"
    r"\b(?:motion|lawsuit|petition|complaint|letter|papers|application|objection|response|"
    r"opposition|brief|documents|affidavit)(?:\s*,)?\s+(?:was\s+|were\s+)?filed\b|"
    r"\b(?:said|argued|wrote|asked|claimed|contended|revealed|disclosed|alleged|requested|"
    r"told the court)\s+(?:\w+\s+){0,3}?in (?:an?|the|their|his|her|its)\s+"
    r"(?:[\w-]+\s+){0,2}?(?:court )?(?:filing|motion|petition|papers|complaint)\b|"
    r"\b(?:letter|motion|filing|petition|request|papers|submission)\b[^.;]{0,80}?\bto\s+"
    r"(?:[\w.']+\s+){0,4}?(?:judge|court|magistrate)\b|"
    r"\bmoved (?:(?:on\s+)?[\w.-]+\s+){0,2}?to (?:dismiss|suppress|disqualify|compel|strike|"
    r"exclude|vacate|transfer|sever|quash|stay|seal|unseal|intervene|modify|preclude|reconsider|"
    r"enjoin|block|recuse|amend|withdraw|change|force)\b|"
    r"\bmoved (?:(?:on\s+)?[\w.-]+\s+){0,2}?for (?:an?\s+|the\s+)?(?:[\w-]+\s+){0,3}?"
    r"(?:injunction|restraining order|judgment|new trial|mistrial|continuance|stay|dismissal|"
    r"sanctions|release|acquittal|reconsideration|recusal|change of venue|protective order|"
    r"certification|severance|discovery|bail|bond)\b|"
    r"\b(?P<relative>motion|lawsuit|petition|complaint|brief|objection|application)s?"
    r"(?:\s+(?:to|for)(?:\s+[\w'-]+){1,3}?)?,?\s+(?:which|that)\s+(?:[^.;]|\.(?=\s*\w)){0,80}?\bfiled\b|"
    r"\b(?:lawyers?|attorneys?|defen[cs]e|counsel|prosecutors?|plaintiffs?)\b"
    r"(?:[^.;,]|\.(?=\s*\w)){0,25}?\b(?:asked|moved|petitioned)\s+(?:(?:in|on|last|this|earlier)"
    r"\s+[\w.]+\s+(?:\d+\s+)?)?for\s+(?:[\w.'-]+\s+){1,6}?to be\b|"
    r"\b(?:sued|filed suit)\b|"
    r"\b(?:asked|asks|urged|urges|petitioned|petitions|requested|requests|pressed|"
    r"implored)\s+(?:the\s+)?(?:[\w.']+\s+){0,5}?(?P<addressee>judge|court|magistrate"
    r"|JUDGE)\b(?:[\s,]+[\w.']+){0,4}?\s+(?:to|for)\b")
# the verbs of _FILING's last alternative, the one that names the judge a party asks
_ASKING = ("asked", "asks", "urged", "urges", "petitioned", "petitions", "requested", "requests",
           "pressed", "implored")
_PROSECUTOR = re.compile(r"\b(?:prosecutors?|district attorney|county attorney|state's attorney|"
                         r"u\.s\. attorney|attorney's office|grand jury|"
                         r"(?:county|district|state) attorney's office)\b")
_REQUEST_VERB = re.compile(
    r"\b(?:(?:has|have|had|would|will|plans to)\s+)?(?:"
    r"(?:called|calls|calling) for\b|"
    r"(?:called|calls|calling) on\s+(?:[\w.'-]+\s+){1,5}?to\b|"
    r"(?:urged|urges|urge|urging|asked|asks|ask|asking|demanded|demands|demanding|petitioned|"
    r"pressed|pressing|implored|imploring)\s+(?:[\w.'-]+\s+){0,6}?to\b|"
    r"(?:seeking|sought|seeks|requested|requests|asked for|asking for)\s+(?:[\w.'-]+\s+){0,3}?"
    r"(?:permission|access|leave|approval)\s+(?:to|for)\b)")
_STATEMENT_CHANNEL = re.compile(
    r"\b(?:said|says|wrote|added|announced) in (?:an?|the|its|his|her|their) (?:written |"
    r"joint |brief |emailed |prepared )?statement\b|\b(?:issued|released|put out) (?:an?|the) "
    r"(?:written |joint |brief )?statement\b|\bin (?:an?|its|his|her|their) (?:written |"
    r"joint )?statement\b|\bannounced\b|\bannounces\b|\bin (?:an?|its) (?:open |public )?"
    r"letter\b|\bat an? (?:[\w-]+\s+)?(?:news|press) conference\b")
# an outside group's letter: "the association wrote to the chief justice urging that"
_WROTE_TO = re.compile(r"\b(?:wrote|writes|has written|have written) to\b")
_ANNOUNCEMENT = re.compile(r"\b(?:made|issued) an? (?:[\w-]+\s+)?announcement\b")
# a party's remedial step, told as news: "the company has stopped blasting and will pay for
# testing", "the firm said it would refund customers"
_REMEDIAL = re.compile(
    r"\b(?:company|firm|operator|corporation|manufacturer|employer|hospital|university|"
    r"district|agency|city|county|it)\s+(?:\w+\s+)?(?:has|had|have|will|would|is|was)\s+"
    r"(?:\w+\s+)?(?:stopped|halted|suspended|paused|ceased|recalled|shut down|closed|"
    r"stop|halt|suspend|pause|cease|recall|pay|reimburse|refund|compensate|fund|cover|"
    r"(?:agreed|offered|promised|pledged) to)\b"
    r"(?!\s+(?:responding|commenting|talking|speaking|answering|returning calls))")
# the offer itself, told in the reporter's voice: "on Monday offered to pay for bottled water",
# "pledged to cover the cleanup", "promised to reimburse every household"
_REMEDIAL_OFFER = re.compile(
    r"\b(?:offered|offers|pledged|pledges|promised|promises|volunteered)\s+to\s+(?:\w+\s+)?"
    r"(?:pay|cover|fund|reimburse|refund|compensate|provide|supply|deliver|install|replace|"
    r"clean up|buy back|recall)\b")
_STATEMENT_CONTENT = re.compile(
    r"\b(?:wants?|wanted) to\b|\bask(?:s|ed|ing)? (?:for|to|that|the)\b|"
    r"\bcall(?:s|ed|ing)? (?:for|on)\b|\burg(?:e|es|ed|ing)\b|\bdemand\w*|\boffer\w*|"
    r"\bfree\b|\bresign\w*|\bstep(?:ping)? down\b|\bapologi\w*|\b(?:will|would|to) pay\b|"
    r"\brefund\w*|\bcompensat\w*|\brequest\w*|\bpermission\b|\brecall\w*|\breimburs\w*|"
    r"\bsuspend\w*|\bfired?\b|\bletters?\b|\bpetitions?\b|\bsignatures\b|\bhalt\w*|"
    r"\bstop\w*|\bguarantee\w*|\bscrap\w*|\bwithdraw\w*|\babandon\w*|\bwaiv\w*|"
    r"\bdropp(?:ed|ing)\b")


_PENALTY_ASKED = re.compile(r"\bfor\s+(?:[\w.'-]+\s+){0,4}?(?:sentence|years?|months?|"
                           r"term|prison|jail|probation|fine|penalty|discharge)\b")


def _subject_before(low: str, position: int) -> tuple[str, str]:
    """(the subject right before a verb, the whole clause before it)."""
    left = scope(low, position, position + 1)[0]
    text = low[left:position]
    clause = text
    if "that " in text:                   # "disclosed that Justice Without Walls has asked"
        text = text.rsplit("that ", 1)[1]
    return text, clause


def _filing_triggers(low: str, ctx: ArticleContext) -> list[Trigger]:
    pattern = _FILING
    names = names_alternation(ctx.judge_surnames, low)
    if names and any(w in low for w in _ASKING):
        pattern = regex(_FILING.pattern.replace("|JUDGE", names))
    for m in pattern.finditer(low):
        if _modal_before(low, m.start()) or _negated(low, m.start()):
            continue
        before = low[max(0, m.start() - 60):m.start()]
        if m.group("addressee") is None and regex(rf"\b(?:the|a)\s+(?:[\w.-]+\s+)?"
                                                  rf"{COURT}\s*$").search(before):
            continue                  # the court does not file
        if regex(r"(?:asks|urges|petitions|requests|presses)\b").match(m.group(0)) and \
                regex(r"\b(?:motion|lawsuit|suit|petition|complaint|filing|brief|"
                      r"application|request|papers)\s+(?:also\s+|further\s+)?$").search(
                          low[max(0, m.start() - 30):m.start()]):
            continue                  # "the injunction motion asks the court to": what it says
        if _PENALTY_ASKED.search(m.group(0)):
            continue                  # "the defence asked for a conditional sentence to be
                                      # served at home": a sentencing submission
        if regex(r"(?:filed|lodged)\s+on\s+(?:the\s+)?(?:[\w.'-]+\s+){0,3}?complaint").match(
                    m.group(0)):
            continue                  # "the case lodged on the complaint of the firm": its origin
        if m.group(0) == "sued" and not regex(r"\b(?:was|were|been|being|is|are)\s+$").search(
                                                  low[max(0, m.start() - 8):m.start()]) and \
                regex(r"\bby\b").search(low[m.end():scope(low, m.start(), m.end())[1]]) and \
                regex(r"\b(?:the|a|an)\s+[\w-]+,?\s+$").search(
                    low[max(0, m.start() - 30):m.start()]):
            continue                  # "the landlord sued in January by tenants, moved ...":
                                      # who was sued, said in passing
        if regex(r"\bin (?:his|her|their|its) complaint\b").search(m.group(0)) and \
                not regex(r"\b(?:court|lawsuit|suit|filed)\b").search(low):
            continue                  # "alleged in his complaint" to the police: its content
        what = m.group("what") or m.group("relative") or ""
        if what == "notice" and regex(r"\s+of appeal").match(low[m.end():]):
            continue
        subject, _ = _subject_before(low, m.start())
        if regex(r"\b(?:complaint|indictment)\b").search(m.group(0)) and \
                m.group("addressee") is None and (_PROSECUTOR.search(subject) or regex(
                r"\bcriminal\s+(?:\w+\s+)?complaint").search(low[max(0, m.start() - 20):m.end()])):
            return [Trigger("charge", None, m.start(), m.end())]   # charging, not a filing
        if m.group("addressee") and regex(r"\s*(?:he|she)\b").match(subject):
            continue                  # a defendant asking the judge in court, not a filing
        if m.group("addressee") and APPEALS_COURT.search(low[m.start():m.end()]):
            return [Trigger("appeal", None, m.start(), m.end())]   # asked an appeals court
        clause_end = scope(low, m.start(), m.end())[1]
        if m.group("addressee") is None and regex(
                rf"{APPEALS_COURT.pattern}|\b(?:permission|leave) to appeal\b").search(
                low[m.end():min(clause_end, m.end() + 120)]):
            return [Trigger("appeal", None, m.start(), m.end())]   # a petition to appeal
        return [Trigger("filing", None, m.start(), m.end(), request_like=True)]
    return []


_RESIGNATION = re.compile(r"\b(?:resigned|resigns|stepped down|steps down|announced (?:his|her|"
                          r"their) resignation)\b")


def _statement_triggers(low: str) -> list[Trigger]:
    resigned = _RESIGNATION.search(low)
    if resigned and not _negated(low, resigned.start()) and \
            not _modal_before(low, resigned.start()):
        return [Trigger("statement", None, resigned.start(), resigned.end())]
    channel = _STATEMENT_CHANNEL.search(low)
    if channel and not _negated(low, channel.start()) and (
            _STATEMENT_CONTENT.search(low, channel.end())
            or channel.start() > 0 and _STATEMENT_CONTENT.search(low, 0, channel.start())):
        return [Trigger("statement", None, channel.start(), channel.end(), request_like=True)]
    announced = _ANNOUNCEMENT.search(low)
    if announced and not _negated(low, announced.start()):
        return [Trigger("statement", None, announced.start(), announced.end())]
    letter = _WROTE_TO.search(low)
    if letter and not _negated(low, letter.start()) and \
            _NON_PARTY.search(_subject_before(low, letter.start())[0]) and \
            not _PARTY.search(_subject_before(low, letter.start())[0]) and \
            _STATEMENT_CONTENT.search(low, letter.end()):
        return [Trigger("statement", None, letter.start(), letter.end(), request_like=True)]
    remedial = _REMEDIAL.search(low) or _REMEDIAL_OFFER.search(low)
    if remedial and (remedial.re is _REMEDIAL_OFFER or
                     regex(r"\b(?:says|said|announced|announces|told|confirmed)\b").search(low)) \
            and not _negated(low, remedial.start()) and not _modal_before(low, remedial.start()):
        return [Trigger("statement", None, remedial.start(), remedial.end(), request_like=True)]
    for m in _REQUEST_VERB.finditer(low):
        if _negated(low, m.start()) or regex(r"\w+ed\b").match(m.group(0)) and regex(
                r"\b(?:been|was|were|is|are|be)\s+$").search(low[max(0, m.start() - 6):m.start()]):
            continue                  # "has been asked to assist the court": asked, not asking
        subject, clause = _subject_before(low, m.start())
        if _PARTY.search(subject) or regex(rf"\b{COURT}\b").search(subject):
            continue
        pronoun = regex(r"\s*(?:\w+\s+)?(?:he|she|they|it|the group)\s+(?:\w+\s+)?").fullmatch(
                               subject)
        if _NON_PARTY.search(subject) or (pronoun and _NON_PARTY.search(clause)
                                          and not _PARTY.search(clause)):
            return [Trigger("statement", None, m.start(), m.end(), request_like=True)]
    return []


# -- verdicts, sentences, custody, charges, appeals filed -----------------------------------------

_VERDICT = re.compile(  # a new alternative needs one of _VERDICT_WORDS below
    r"(?<!grand )\b(?:jury|jurors)\b" + _GAP + r"{0,60}?\b(?:convicted|found|acquitted|returned|"
    r"reached|delivered|convicts|finds|acquits|returns)\b|"
    r"\b(?:found|finds|held|holds) (?:[\w.'-]+,?\s+){0,4}?(?:not\s+)?guilty\b|"
    r"\b(?:was|were|has been|have been|is|got)\s+(?:\w+\s+)?(?:convicted|acquitted)\b|"
    r"\b(?:pleaded|pleads|pled|has pleaded) guilty\b|"
    r"\b(?:entered|enters|entering|tendered|lodged|offered)\s+(?:an?|his|her|their)\s+"
    r"(?:[\w-]+\s+)?guilty pleas?\b|"
    r"\bsplit verdict\b|\bpartial verdict\b|\bconvicted\b|"
    r"\bacquitted\b|\bcleared\s+(?:[\w.'-]+\s+){0,4}?of (?:all |the |both )?(?:charges|"
    r"counts|murder|manslaughter|homicide|fraud)\b")
# a match of _VERDICT holds one of these (every alternative of it needs one)
_VERDICT_WORDS = ("jur", "guilty", "convicted", "acquitted", "verdict", "cleared")
_SENTENCE = re.compile(
    r"\b(?:was|were|has been|have been|is|got|been)\s+(?:then\s+|later\s+|also\s+|formally\s+)?"
    r"sentenced\b(?!\s+to\s+(?:face|appear))|"
    r"\bsentenced\s+(?:[A-Z]?[\w.'-]+\s+){1,4}?to\b|"
    r"\b(?:received|got|was given|were given|handed down|imposed)\s+(?:an?\s+|the\s+)?"
    r"(?:[\w-]+\s+){0,4}?(?:sentence|years? in (?:federal )?prison|"
    r"life (?:sentence|in prison))\b|"
    # a fine imposed by the court: "the judge convicted him and fined him $750"
    r"\bfined\s+(?:him|her|them|[\w.'-]+)\s+(?:\$|£|€|nz\$|a\$)?\d")
_PERSON_NEAR = re.compile(
    r"\b(?:he|she|they|him|her|them|defendant|suspect|man|woman|founder|executive|mayor|"
    r"official|officer|lawyer|developer|boss|leader|kingpin|trafficker|operator|member|"
    r"teenager|driver|inmate|detainee|prisoner|fugitive)\b")
# a custody verb's object when it is a thing, not a person: "released a statement"
THINGS = (r"statement|report|video|footage|documents?|records?|findings|results|data|details|"
          r"photos?|images?|list|letter|memo|audio|recording")
_CUSTODY = re.compile(
    r"\b(?:(?:was|were|has been|have been|had been|got|is being|are being)\s+)?"
    r"(?P<verb>arrested|detained|taken into (?:federal )?custody|extradited|released|freed|"
    r"transferred|moved|escaped|surrendered|turned (?:himself|herself) in|deported|jailed|"
    r"remanded|captured|recaptured|booked|handed over|returned to (?:prison|jail|custody)|"
    r"locked up|walked (?:out of|free)(?!\s+(?:from\s+)?(?:the\s+)?(?:court|courtroom|dock))|"
    r"flown|put on a plane|"
    r"left (?:the\s+)?(?:[\w.-]+\s+){0,4}?(?:jail|prison|centre|center|lockup|"
    r"penitentiary|detention|custody|facility)|"
    r"took (?:[\w.'-]+\s+){1,4}?into (?:\w+\s+)?custody|"
    # taken away from court: "led away in handcuffs", "taken to the county detention center"
    r"led (?:away|out|from (?:the\s+)?(?:court(?:room)?|dock))(?:\s+in handcuffs)?|"
    r"taken (?:away\s+)?to (?:the\s+)?(?:[\w.'-]+\s+){0,4}?(?:jail|prison|detention center|"
    r"detention centre|lockup|cells)|"
    r"posted (?:\$[\d.,]+\s+(?:million\s+)?)?(?:bond|bail))\b"
    r"(?!(?<=surrendered)\s+(?:his|her|their)\s+(?:passports?|licen[cs]es?|firearms|guns))"
    r"(?!(?<=remanded)\s+(?:the\s+)?(?:case|matter|it|for|back|in custody))"
    r"(?!\s+(?:an?|the|its|his|her|their)\s+(?:" + THINGS + r"))"
    r"(?!\s+to\s+(?:dismiss|suppress|disqualify|compel|strike|exclude|vacate|"
    r"reporters|the public|the media))(?!(?<=moved)\s+on\b)")
_CHARGE = re.compile(
    r"\b(?:was|were|has been|have been|is being|are being|been)\s+(?:\w+\s+)?"
    r"(?:charged|indicted)\b|"
    r"\b(?:prosecutors?|grand jury|government|authorities|police|the state|officials|"
    r"crown prosecution service|cps)\b(?!'s)"
    + _GAP + r"{0,100}?\b(?:charged|indicted|filed charges|brought charges|unsealed|added\s+"
    r"(?:\w+\s+){0,3}?(?:charges|counts))\b|"
    r"\b(?:has |have )?charged\s+(?:[\w.'-]+,?\s+){1,10}?with\b|"
    r"\b(?:authori[sz]ed|approved|laid)\s+(?:the\s+|\w+\s+){0,2}?charges?\b|"
    r"\b(?:indictment|criminal complaint)\s+(?:handed up|returned|unsealed)\b|"
    r"\b(?:new|additional|superseding) (?:charges|indictment|counts)\b|"
    r"\b(?:charges?|counts)\s+(?:of\s+[\w-]+\s+)?(?:were|was|have been|has been|had been)\s+"
    r"(?:formally\s+|also\s+|now\s+)?(?:laid|filed|brought|sworn|authori[sz]ed|approved)\b|"
    r"\b(?:unsealed|returned|handed up) (?:an?|the)\s+(?:[\w-]+\s+){0,2}?(?:true bill of\s+)?"
    r"indictment\b|"
    r"\b(?:indictment|criminal complaint)\b" + _GAP + r"{0,100}?\b(?:was|were|has been|"
    r"have been)\s+(?:\w+\s+)?(?:unsealed|returned|filed|handed up|made public)\b|"
    r"\bcharged in an? (?:[\w-]+\s+){0,2}?(?:complaint|indictment)\b|"
    r"\bfiled (?:an?|the) (?:[\w-]+\s+){0,2}?criminal complaint\b|"
    # "the FIR, registered at the police station on Thursday", "registered an FIR against"
    r"\b(?:fir|first information report)\b" + _GAP + r"{0,60}?\b(?:registered|lodged)\b|"
    r"\b(?:registered|lodged) (?:an?|the) (?:fir|first information report)\b|"
    # "initiated suo motu criminal contempt proceedings against"
    r"\b(?:initiated|initiates|instituted|institutes)\s+(?:[\w-]+\s+){0,3}?"
    r"(?:contempt|criminal|disciplinary) proceedings\b")
_APPEAL_FILED = re.compile(
    r"\b(?:appealed|filed (?:an?|a notice of|their|his|her|its) (?:notice of )?appeal|"
    r"notice of appeal|lodged an appeal|is appealing|are appealing|"
    r"(?:the|an|her|his|their|its) appeal,?\s+(?:which was\s+|was\s+)?filed|"
    r"(?:asked|petitioned|urged) (?:an?|the) (?:[\w.-]+\s+){0,2}?(?:appeals|appellate|supreme|"
    r"high(?:est)?) court)\b")


_CHARGING_AGENT = re.compile(r"(?:prosecutors?|grand jury|government|authorities|police|"
                             r"the state|officials|crown prosecution service|cps)\b")
_CHARGING_VERB = re.compile(r"\b(?:charged|indicted|filed|brought|unsealed|added)\b")


def person_subject(own: str, low: str, start: int, end: int) -> bool:
    """Someone, not something, is arrested, released or moved."""
    left = scope(low, start, end)[0]
    before = own[max(left, start - 70):start]
    after = own[end:end + 40]
    if _PERSON_NEAR.search(before.lower()) or _PERSON_NEAR.match(after.lower().lstrip()):
        return True
    if regex(r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)*").search(before.lstrip()[1:] if before.lstrip()
                 else "") or regex(r"\s+[A-Z][a-z]+").match(after):
        return True
    return bool(regex(r"\s*(?!(?:The|A|An|This|That|These|Those|Its|It|Their|Some|All|"
                      r"Any|Much|Most|Part)\b)[A-Z][a-z]+").match(before))   # not "The money"


_ON_CHARGE = re.compile(r"\bon (?:an? )?(?:[\w-]+\s+){0,2}?charges?\b")
_BOOKED = re.compile(r"\b(?:booked|arrested|jailed|detained|held|taken into custody)\b")


def _charge_on_arrest(low: str) -> list[Trigger]:
    """ "was booked into the county jail on a charge of murder": the charge, next to the
    arrest."""
    for m in _ON_CHARGE.finditer(low):
        if _BOOKED.search(low[max(0, m.start() - 90):m.start()]) and not _negated(low, m.start()):
            return [Trigger("charge", None, m.start(), m.end())]
    return []


def _simple_triggers(kind: str, pattern: re.Pattern, own: str, low: str) -> list[Trigger]:
    for m in pattern.finditer(low):
        if _modal_before(low, m.start()) or _negated(low, m.start()):
            continue
        detail = None
        if kind == "custody":
            verb = m.group("verb")
            if verb == "moved" and not regex(r"\s+(?:to|into|from|out of)\b").match(low[m.end():]):
                continue
            if regex(r"(?:\b(?:trial|case|hearing|proceedings?|venue|lawsuit|suit|matter)\s+"
                     r"(?:\w+\s+){0,2}|(?<!been )\bbe\s+)$").search(low[:m.start("verb")]):
                continue              # "asked that the trial be moved": a thing, or a wish
            if regex(r"\b(?:judgment|decision|ruling|opinion|reasons|order|report|findings|"
                     r"transcript|statement|video|footage|records?|documents?)\s+"
                     r"(?:(?:was|were|has been|have been|had been)\s+)?$").search(
                         low[:m.start("verb")]):
                continue              # "in a judgment released today": a document, no person
            if not person_subject(own, low, m.start("verb"), m.end("verb")):
                continue
            if verb in ("detained", "booked", "jailed", "locked up") and not regex(
                    r"(?:was|were|has been|have been|had been|got|is being|are being)\s").match(
                    m.group(0)):
                continue
            detail = _CUSTODY_DETAIL.get(verb.split()[0], verb.split()[0])
        if kind == "verdict":
            return _verdict_trigger(m, low, own.lower())
        start = m.start()
        if kind == "charge" and _CHARGING_AGENT.match(m.group(0)):
            # "police said Tuesday, a day after she was charged": the event is the verb
            start = m.start() + [v.start() for v in _CHARGING_VERB.finditer(m.group(0))][-1]
        return [Trigger(kind, None, start, m.end(), detail=detail)]
    return []


# "the coach who had pleaded guilty", "a co-defendant who was convicted last year"
_OTHERS_PAST_VERDICT = re.compile(
    r"\b(?:who|which|that)\s+(?:had|has|have|was|were)\s+(?:been\s+|already\s+|earlier\s+)?"
    r"(?:pleaded guilty|pled guilty|convicted|found guilty|acquitted)\b")


def _verdict_trigger(m: re.Match, low: str, whole: str) -> list[Trigger]:
    """The outcome is read from the whole sentence: "returned the verdict ..., finding him not
    guilty on both counts" tells it in what the jury found."""
    text = m.group(0)
    whole = _OTHERS_PAST_VERDICT.sub(lambda r: " " * len(r.group(0)), whole) \
        if not _OTHERS_PAST_VERDICT.search(whole, m.start(), m.end()) else whole
    acquitted = regex(r"\bnot guilty\b|\bacquitt\w*|\bcleared\b").search(whole)
    convicted = regex(r"(?<!not )\bguilty\b|\bconvict(?:ed|ion|ing)\b").search(whole)
    if regex(r"mistrial|hung jury|deadlock|could not (?:agree|reach)|failed to agree").search(low) \
            and not (acquitted or convicted):
        return []                 # a hung jury or a mistrial decides nothing: no verdict
    if regex(r"split|partial").search(low):
        outcome = "mixed"
    elif acquitted and convicted:
        outcome = "mixed"
    elif acquitted:
        outcome = "not_guilty"
    else:
        outcome = "guilty"
    if regex(r"(?:was|were|has been|have been|is|got)\s+(?:not|never)\b").match(text):
        return []                 # "was not acquitted of the gun charge"
    if text in ("convicted", "acquitted"):
        before = low[max(0, m.start() - 14):m.start()]
        if not regex(r"\b(?:who|and|he|she|they|jury|jurors|but|also)\s+$").search(before):
            return []             # "the convicted drug lord": an adjective, not an event
    if text.startswith("cleared") and not regex(r"\b(?:jury|jurors|judge|verdict)\b").search(low):
        return []                 # "cleared of wrongdoing" by an inquiry is no verdict
    if regex(r"\bpleaded|pleads|pled|plea\b").search(text) and regex(r"\bnot guilty\b").search(low):
        return []
    if outcome == "mixed":
        apart = _verdicts_apart(low)
        if apart:
            return apart
    return [Trigger("verdict", outcome, m.start(), m.end())]


_ACTIVE_VERDICT = re.compile(
    r"\b(?P<verb>found|finds|convicted|convicts|acquitted|acquits|cleared)\s+"
    r"(?!(?:of|on|in|by|at|after|guilty|not|him|her|them|it|both|all|each|the jury)\b)"
    r"(?P<obj>[\w.'-]+(?:\s+[\w.'-]+)?)")


def _verdicts_apart(low: str) -> list[Trigger]:
    """Co-defendants with opposite verdicts are a verdict each: "found the owner guilty but
    acquitted her manager", "convicted Smith and acquitted Jones", "acquitted one brother and
    convicted the other". One person convicted of one count and acquitted of another is one
    mixed verdict."""
    found: list[tuple[str, str, re.Match]] = []
    for m in _ACTIVE_VERDICT.finditer(low):
        verb = m.group("verb")
        if verb in ("found", "finds"):
            guilty = regex(r"\b(?:not\s+)?guilty\b").search(low[m.start():m.end() + 120])
            if not guilty:
                continue
            outcome = "not_guilty" if guilty.group(0).startswith("not") else "guilty"
        else:
            outcome = "guilty" if verb.startswith("convict") else "not_guilty"
        found.append((outcome, m.group("obj"), m))
    outcomes = {o for o, _, _ in found}
    objects = {obj for _, obj, _ in found}
    if len(found) < 2 or len(outcomes) < 2 or len(objects) < len(found):
        return []
    return [Trigger("verdict", o, m.start(), m.end(), detail="apart") for o, _, m in found]


_CUSTODY_DETAIL = {"arrested": "arrest", "detained": "arrest", "taken": "arrest",
                   "captured": "arrest", "recaptured": "arrest", "booked": "arrest",
                   "extradited": "extradition", "flown": "extradition", "put": "extradition",
                   "handed": "extradition", "released": "release", "freed": "release",
                   "walked": "release", "transferred": "transfer", "moved": "transfer",
                   "escaped": "escape", "surrendered": "surrender", "turned": "surrender",
                   "deported": "deportation", "jailed": "arrest", "remanded": "remand",
                   "returned": "return", "locked": "arrest", "left": "release",
                   "took": "arrest", "posted": "release", "led": "arrest"}


def _resolve_overlaps(triggers: list[Trigger]) -> list[Trigger]:
    """One reading per phrase: "will be sentenced" is a hearing, not a sentence."""
    kept: list[Trigger] = []
    priority = {"hearing": 0, "appeal": 1, "ruling": 2, "verdict": 3, "sentence": 4,
                "charge": 5, "filing": 6, "statement": 7, "custody": 8}
    for t in sorted(triggers, key=lambda t: (priority[t.type], t.start)):
        if any(k.start < t.end and t.start < k.end for k in kept):
            continue
        kept.append(t)
    types = {t.type for t in kept}
    if "sentence" in types:
        kept = [t for t in kept if not (t.type == "ruling" and t.outcome == "other")]
    if "ruling" in types or "appeal" in types:
        rulings = [t for t in kept if t.type in ("ruling", "appeal")]
        # "the judge ordered him released", "agreed to release him on bail": one ruling
        kept = [t for t in kept if not (t.type == "custody"
                                        and any(r.start < t.start for r in rulings))]
    if "appeal" in types:
        kept = [t for t in kept if t.type != "filing"]
    if "verdict" in types or "sentence" in types:
        kept = [t for t in kept if t.type != "charge"]  # "convicted of charges"
    charges = [t for t in kept if t.type == "charge"]
    if len(charges) > 1:          # "charged in a criminal complaint filed Monday": one charge
        kept = [t for t in kept if t.type != "charge" or t is charges[0]]
    return sorted(kept, key=lambda t: t.start)


# -- all of them ----------------------------------------------------------------------------------

def find_triggers(own: str, voice: str, ctx: ArticleContext,
                  previous: str | None = None) -> list[Trigger]:
    """The phrases of one sentence that tell of a development, one reading per phrase.
    `own` is the sentence without quotations (case kept), `voice` its lowercase reporter's
    voice (see `reporter_voice`)."""
    triggers: list[Trigger] = []
    triggers += _ruling_triggers(voice, ctx, previous)
    triggers += _hearing_triggers(voice)
    triggers += _filing_triggers(voice, ctx)
    if any(w in voice for w in _VERDICT_WORDS):
        triggers += _simple_triggers("verdict", _VERDICT, own, voice)
    triggers += _simple_triggers("sentence", _SENTENCE, own, voice)
    triggers += _simple_triggers("charge", _CHARGE, own, voice) or _charge_on_arrest(voice)
    triggers += _simple_triggers("custody", _CUSTODY, own, voice)
    triggers += _simple_triggers("appeal", _APPEAL_FILED, own, voice)
    if not any(t.type in ("filing", "statement") for t in triggers):
        triggers += _statement_triggers(voice)
    return _resolve_overlaps(triggers)
