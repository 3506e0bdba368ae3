"""Developments: what happened, found sentence by sentence in the reporter's own words.

The phrases that tell of an event come from `triggers`; here each one becomes a finding with
its outcome, date, actors, matter and a background check: a development told as history (past
perfect, "twice", "years ago", "last year", a date well before publication) is not news.

Only the reporter's own statements are read: quotations are blanked (the ruling's own words,
"The motion is denied ...", corroborate the reporter's sentence about the ruling instead of
adding a second one), and so is what someone argues, says or finds ("..., arguing that the
judge wrongly allowed ...").
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache

from .context import ArticleContext, article_context, judges_named
from .dates import ResolvedDate, dates_in, is_well_before, resolve
from .matters import Matter, matter_for, status_for
from .names import GENERIC, proper_names
from .text import fold, own_words, plain, regex, without_quotes
from .triggers import (
    BACKGROUND,
    COURT,
    PAST_PERFECT,
    RELATIVE_OFFSET,
    Trigger,
    find_triggers,
    names_alternation,
    reporter_voice,
    scope,
)

TYPES = ("ruling", "hearing", "filing", "verdict", "sentence", "custody", "charge", "appeal",
         "statement")

# types whose events are reported with a date; undated, in the present perfect, they describe
# a state of affairs ("has pleaded not guilty", "has been held since") rather than news
ONE_SHOT = ("hearing", "custody", "charge", "verdict", "sentence")


@dataclass(frozen=True)
class Finding:
    """A development found in one sentence, before the story decides whether it is new."""
    type: str
    outcome: str | None
    date: str | None
    actors: tuple[str, ...]
    evidence: str
    sentence_index: int
    matter: Matter
    status: str | None
    summary: str
    background: bool = False
    from_quote: bool = False
    trigger: str = ""
    reasons: tuple[str, ...] = field(default=())
    position: int = 0


# -- the detector ---------------------------------------------------------------------------------

def find_developments(sentence: str, index: int, ctx: ArticleContext,
                     previous: str | None = None) -> list[Finding]:
    """Every development one sentence reports, background ones marked as such."""
    own = own_words(sentence)
    low = own.lower()
    if len(regex(r"[a-z]+").findall(low.replace("quote", ""))) < 3:
        return []
    voice = reporter_voice(low)
    triggers = find_triggers(own, voice, ctx, previous)
    if not triggers:
        return []
    dated = dates_in(own, ctx.published)
    names = _actors(sentence, ctx)
    bounds = [t.start for t in triggers] + [len(low)]
    findings = []
    for t in triggers:
        following = [b for b in bounds if b > t.start]
        # a date right after another event of the sentence is that event's ("scrapping the
        # terms a judge blocked last month"), and one inside a relative clause belongs to
        # the clause ("who pleaded guilty last August, was then sentenced")
        own_dates = [(sp, r) for sp, r in dated
                     if not any(t.end <= o.start and o.end <= sp.start
                                and _gap(o, sp) <= 2 < _gap(t, sp)
                                for o in triggers if o is not t)
                     and not _in_other_clause(low, sp, t)]
        findings.append(_finding(t, sentence, index, own, voice, own_dates, names, ctx,
                                 min(following) if following else len(low)))
    return _merge_rulings(findings)


def _gap(trigger: Trigger, span) -> int:
    if span.start >= trigger.end:
        return span.start - trigger.end
    return max(0, trigger.start - span.end)


_RELATIVE_CLAUSE = re.compile(r",\s+(?:who|which|whose)\b[^,;]*,")


def _in_other_clause(low: str, span, trigger: Trigger) -> bool:
    for m in _RELATIVE_CLAUSE.finditer(low):
        if trigger.date_rule == "set_date" and _HAD_BEEN_SET.search(m.group(0)):
            continue                  # "a hearing, which had been set for 13 June, was vacated"
        if m.start() <= span.start < m.end() and not (trigger.start < m.end()
                                                      and m.start() < trigger.end):
            return True
    return False


def _merge_rulings(findings: list[Finding]) -> list[Finding]:
    """Within one sentence, a grant and a denial of the same request are one mixed ruling;
    decisions on different requests stay separate."""
    merged: list[Finding] = []
    for f in findings:
        if f.type in ("ruling", "appeal"):
            # history in a relative clause ("overturned the decision that had kept her in
            # jail") does not change the outcome of the news
            twin = next((m for m in merged if m.type == f.type and m.background == f.background
                         and (m.matter.id == f.matter.id or m.matter.generic
                              or f.matter.generic)), None)
            if twin is not None:
                if twin.outcome != f.outcome:
                    if "other" in (twin.outcome, f.outcome):     # "ruled ..., rejecting ..."
                        outcome = f.outcome if twin.outcome == "other" else twin.outcome
                    else:
                        outcome = "mixed"
                    matter = twin.matter if not twin.matter.generic else f.matter
                    merged[merged.index(twin)] = _replace(twin, outcome=outcome, matter=matter,
                                                          date=twin.date or f.date)
                elif twin.matter.generic and not f.matter.generic:
                    # "granted in part and denied in part the motion to dismiss": the matter
                    # is named after the second verb
                    merged[merged.index(twin)] = _replace(twin, matter=f.matter,
                                                          date=twin.date or f.date)
                continue
        merged.append(f)
    return merged


def _replace(f: Finding, **changes) -> Finding:
    values = {k: getattr(f, k) for k in Finding.__dataclass_fields__}
    values.update(changes)
    if "outcome" in changes:
        values["status"] = status_for(f.type, values["outcome"])
    return Finding(**values)


def _pick_date(trigger: Trigger, dated: list, low: str,
               published: date) -> ResolvedDate | None:
    """The date of one event among the dates of its sentence: the nearest in its clause; for a
    scheduled hearing the one after the trigger, for a postponed one the new date, for a
    cancelled one the date it had been set for."""
    if not dated:
        return None
    scope_start, scope_end = scope(low, trigger.start, trigger.end)
    offset = RELATIVE_OFFSET.search(low[max(0, trigger.start - 90):trigger.start])
    if trigger.type != "statement" and not offset:
        # "was arrested at the airport, police said Tuesday": the day it was told, not the
        # day it happened (but "said Tuesday, a day after she was charged" anchors the offset)
        dated = [(s, r) for s, r in dated if not _told_on(low, s, trigger)]
        if not dated:
            return None
    candidates = dated
    if trigger.type == "hearing" and trigger.outcome in ("scheduled", "postponed"):
        # a hearing set or moved lies ahead: "set his trial to begin Oct. 6" in May is this
        # October, not last year's
        dated = [(s, resolve(s, published, "future") if s.kind in ("month_day", "weekday")
                  and not s.modifier and r.earliest < published else r) for s, r in dated]
        dated = [(s, r) for s, r in dated if r is not None]
        candidates = dated
    if trigger.date_rule in ("new_date", "set_date"):
        # the date a hearing is moved to, or was set for, lies ahead: "Thursday's hearing"
        candidates = dated = [(s, resolve(s, published, "future") if s.kind == "weekday"
                               and not s.modifier else r) for s, r in dated]
    if trigger.date_rule == "new_date":
        candidates = [(s, r) for s, r in dated
                      if regex(r"\b(?:until|till|to|for|now be (?:heard|held))\s+"
                               r"(?:on\s+)?(?:the\s+)?$").search(low[max(0, s.start - 24):s.start])
                      or regex(r"(?:until|till|to|for)\b").match(s.text.lower())]
        # "had been set for Tuesday, but an order moves it to October": the old date is not
        # the new one
        candidates = [(s, r) for s, r in candidates
                      if not _HAD_BEEN_SET.search(low[max(0, s.start - 40):s.start])] \
            or candidates
        if not candidates:
            return None
    elif trigger.date_rule == "set_date":
        candidates = [(s, r) for s, r in dated if r.earliest >= published] or dated

    elif trigger.date_rule == "nearest":
        # "set sentencing for Sept. 12 and revoked his bond": a target date dates the
        # scheduling, not the other events of the sentence; and what has happened cannot
        # take a date still ahead ("announced ... starting July 1", "has pleaded not guilty
        # and is due to stand trial on 13 January")
        candidates = [(s, r) for s, r in candidates
                      if not regex(r"(?:for|until|till|to)\b").match(s.text.lower())
                      and not regex(r"\b(?:for|until|till|to)\s+$").search(
                                        low[max(0, s.start - 8):s.start])
                      and r.earliest <= published]
        if not candidates:
            return None

    def distance(item):
        span, _ = item
        inside = scope_start <= span.start < scope_end
        gap = span.start - trigger.end if span.start >= trigger.end else trigger.start - span.end
        prefer_after = trigger.date_rule == "after" and span.start < trigger.start
        return (not inside, prefer_after, gap)
    span, resolved = min(candidates, key=distance)
    if offset and span.end <= trigger.start and resolved.granularity == "day":
        resolved = _shift(resolved, offset)
    return resolved


_ATTRIBUTED = re.compile(r"\b(?:said|says|told (?:[\w.'-]+\s+){0,2}?|announced|confirmed|"
                         r"reported|disclosed|revealed|stated)\s+(?:in an? (?:[\w-]+\s+)?"
                         r"(?:statement|interview|release|email|post)\s+)?(?:on\s+)?$")


def _told_on(low: str, span, trigger: Trigger) -> bool:
    """A date that belongs to an attribution ("police said Tuesday", "officials confirmed on
    Monday", "she told reporters Friday"), unless the attribution is the event itself."""
    m = _ATTRIBUTED.search(low, max(0, span.start - 60), span.start)
    return bool(m) and not (trigger.start <= m.start() < trigger.end)


def _shift(resolved: ResolvedDate, offset: re.Match) -> ResolvedDate:
    """ "pleaded not guilty Friday, a day after he was extradited": the day before."""
    n = offset.group("n").lower()
    amount = int(n) if n.isdigit() else {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3,
                                         "four": 4, "five": 5, "six": 6, "seven": 7,
                                         "several": 3, "a few": 3}.get(n, 1)
    unit = offset.group("unit").rstrip("s")
    days = {"hour": 0, "day": 1, "week": 7, "month": 30, "year": 365}[unit] * amount
    sign = -1 if offset.group("dir") in ("after", "since") else 1
    moved = resolved.earliest + timedelta(days=sign * days)
    if unit in ("hour", "day", "week"):
        return ResolvedDate(moved.isoformat(), moved, "day")
    return ResolvedDate(f"{moved.year:04d}-{moved.month:02d}", moved, "month")


_BY_ANCHOR = re.compile(r"\bby\s+(?:early\s+|late\s+|mid-?)?(?:monday|tuesday|wednesday|thursday|"
                        r"friday|saturday|sunday|today|tonight|this\s+(?:morning|afternoon|"
                        r"evening)|midday|noon|the end of the day)\b")
_HAD_BEEN_SET = re.compile(r"\b(?:had\s+(?:been\s+)?|(?:previously|originally)\s+)"
                           r"(?:set|scheduled|slated|calendared|planned|listed|"
                           r"expected|on (?:the|its) (?:calendar|docket|schedule))\b")


# an event that anchors another by an unstated gap: "arrested Friday, days after the court
# initiated proceedings against her"
_VAGUE_OFFSET = re.compile(r"(?<![\w-]\s)\b(?:days|weeks|months|years)\s+(?:after|since)\s+"
                           r"(?:[\w.'-]+\s+){0,6}$")


def _background(trigger: Trigger, low: str, own: str, when: ResolvedDate | None,
                published: date) -> tuple[str, ...]:
    reasons = []
    start, end = scope(low, trigger.start, trigger.end)
    said = regex(r"\b(?:said|says|told|wrote|argued|added)\b").search(low, trigger.end, end)
    if said:
        end = said.start()            # what the speaker then says is not this event's time
    text = low
    if trigger.type == "hearing" and trigger.outcome in ("postponed", "cancelled"):
        # "canceled a conference that had been set for May 28", "previously set for Friday":
        # the old date, not history
        text = _HAD_BEEN_SET.sub(lambda m: " " * len(m.group(0)), low)
    for m in BACKGROUND.finditer(text, start, end):
        if own[m.start():m.start() + 1].isupper() and m.start() > 0:
            continue                  # part of a name: "North Fraser Pretrial Centre"
        if m.start() >= trigger.end and when is not None and when.granularity == "day" \
                and not is_well_before(when, published):
            continue                  # "affirmed on Tuesday the conviction of the man found
                                      # guilty last year": the marker dates another event
        reasons.append(f"history: {m.group(0)}")
        break
    window = text[max(start, trigger.start - 20):min(end, trigger.end + 15)]
    if PAST_PERFECT.search(window) and not (
            _BY_ANCHOR.search(low) and when is not None and not is_well_before(when, published)):
        reasons.append("past perfect")    # but "by Thursday afternoon she had lodged": news
    if regex(r"\bsince\s+(?:[\w.'-]+\s+){0,3}$").search(low[max(start, trigger.start - 40):
                                                         trigger.start]):
        reasons.append("history: since")            # "since he was flown to New York"
    if when is None and regex(r"\bbefore (?:the |his |her |their )?trial\b").search(
                                  low[trigger.end:]):
        reasons.append("history: before trial")     # "dismissed a count, ..., before trial"
    for m in _RELATIVE_CLAUSE.finditer(low):
        if m.start() <= trigger.start and trigger.end <= m.end() and regex(
                r"\b(?:first|initially|originally|already|earlier)\b").search(m.group(0)):
            reasons.append("history: relative clause")  # "Smith, who was first charged
            break                                       # last week, still faces ..."
    offset = RELATIVE_OFFSET.search(low[max(0, trigger.start - 90):trigger.start])
    if offset and offset.group("unit").rstrip("s") in ("week", "month", "year"):
        reasons.append(f"history: {offset.group(0).strip()}")   # "a month after the judge ..."
    vague = _VAGUE_OFFSET.search(low[max(0, trigger.start - 90):trigger.start])
    if vague:
        reasons.append(f"history: {vague.group(0).strip()}")    # "days after the court ..."
    if when is not None and is_well_before(when, published):
        reasons.append(f"dated {when.value or when.earliest.isoformat()}")
    if when is None and trigger.type in ONE_SHOT and trigger.outcome in (None, "held") and \
            regex(r"\b(?:has|have)\b").search(low[max(0, trigger.start - 20):trigger.end]):
        reasons.append("present perfect, undated")     # "has pleaded not guilty"
    return tuple(dict.fromkeys(reasons))


_PLACE_WORD_BEFORE = re.compile(r"\b(?:in|from|to|at|inside|near|outside|across|of)\s+"
                                r"(?:the\s+|an?\s+)?\Z")


def _after_place_word(text: str, name: str) -> bool:
    """Whether `name` follows "in", "from", "near the" ... somewhere in `text`."""
    at = text.find(name)
    while at >= 0:
        if _PLACE_WORD_BEFORE.search(text, 0, at):
            return True
        at = text.find(name, at + 1)
    return False


@lru_cache(maxsize=4096)     # a sentence's triggers and cues name the same actors
def _actors(sentence: str, ctx: ArticleContext) -> tuple[str, ...]:
    actors: list[str] = []
    low = fold(without_quotes(sentence)).lower()
    titles = regex(r"^(?:.*\b(?:Judge|Justice|Magistrate|Attorney|Prosecutor|Agent|"
                   r"Director|Sen\.?|Rep\.?|Gov\.?|President|Officer|Sgt\.?|Det\.?|Mr\.?|"
                   r"Ms\.?|Mrs\.?|Dr\.?)\s+)")
    text = fold(plain(sentence))
    for name in proper_names(sentence, ctx.caps):
        cleaned = titles.sub("", name).strip()
        if not cleaned or cleaned.lower() in GENERIC:
            continue
        if _after_place_word(text, name):
            continue                      # a place: "in Manhattan", "from Mexico"
        if " " not in cleaned and cleaned.lower() not in ctx.name_parts \
                and not cleaned.isupper():
            continue                      # "Mexican drug lord": an adjective, not an actor
        if cleaned.split()[-1].lower() in ctx.judge_surnames:
            cleaned = next((j for j in ctx.judges
                            if j.split()[-1].lower() == cleaned.split()[-1].lower()), cleaned)
        actors.append(cleaned)
    if regex(r"\bjudge\b").search(low) and not any(a in ctx.judges for a in actors) \
            and len(ctx.judges) == 1:
        actors.insert(0, ctx.judges[0])
    for role, pattern in (("prosecutors", r"\bprosecutors?\b|\bthe government\b"),
                          ("defense", r"\bdefen[cs]e (?:lawyers?|attorneys?|team|counsel)\b|"
                                      r"\bpublic defenders?\b|\bhis (?:lawyers?|attorneys?)\b|"
                                      r"\bher (?:lawyers?|attorneys?)\b"),
                          ("jury", r"\bjury\b|\bjurors\b")):
        if regex(pattern).search(low):
            actors.append(role)
    return tuple(dict.fromkeys(actors))


_DEFAULT_SUBJECT = {"ruling": "The court", "appeal": "The appeals court"}


def _summary(type_: str, outcome: str | None, detail: str | None, matter: Matter,
             when: ResolvedDate | None, actors: tuple[str, ...], ctx: ArticleContext) -> str:
    judge = next((a for a in actors if a in ctx.judges), None)
    person = next((a for a in actors if a not in ctx.judges and a not in
                   ("prosecutors", "defense", "jury")), None)
    date_part = f" ({when.value})" if when and when.value else ""
    title = matter.title
    if type_ in ("ruling", "appeal") and outcome:
        subject = f"Judge {judge}" if judge and type_ == "ruling" else _DEFAULT_SUBJECT[type_]
        verb = {"denied": "denied", "granted": "granted", "mixed": "partly granted",
                "other": "ruled on"}[outcome]
        return f"{subject} {verb} {title}{date_part}"
    if type_ == "hearing":
        when_text = f" for {when.value}" if when and when.value and \
            outcome == "scheduled" else date_part
        return f"Hearing {outcome}{when_text} on {title}"
    if type_ == "filing":
        subject = "The defense" if "defense" in actors else \
            "Prosecutors" if "prosecutors" in actors else (person or "A party")
        return f"{subject} filed in court on {title}{date_part}"
    if type_ == "statement":
        return f"{person or 'A spokesperson'} made a public statement on {title}{date_part}"
    if type_ == "verdict":
        return f"Verdict: {(outcome or '').replace('_', ' ')}" + \
            (f" for {person}" if person else "") + date_part
    if type_ == "sentence":
        return f"{person or 'The defendant'} was sentenced{date_part}"
    if type_ == "charge":
        return f"{person or 'The defendant'} was charged{date_part}"
    if type_ == "custody":
        return f"{person or 'The defendant'}: {detail or 'custody'}{date_part}"
    if type_ == "appeal":
        return f"{person or 'A party'} appealed{date_part}"
    return f"{type_.capitalize()}{date_part}"


# "Carrow Bay Regional Police", "the Vessey County Board": an institution, not the person a
# verdict, sentence, charge or arrest happens to
_INSTITUTION = re.compile(r"\b(?:Police|Court|Department|Office|Service|Commission|Board|"
                          r"Agency|Ministry|Council|Bureau|Constabulary|Prosecution|Co|Inc|Ltd|"
                          r"LLC|LLP|Corp|Company|Group)\.?$")
_PERSONAL = {"verdict": ("verdict", "the verdict"), "sentence": ("sentencing", "the sentence"),
             "charge": ("charges", "the charges"), "custody": ("custody", "custody")}


def _finding(trigger: Trigger, sentence: str, index: int, own: str, low: str, dated: list,
             actors: tuple[str, ...], ctx: ArticleContext, end: int) -> Finding:
    when = _pick_date(trigger, dated, low, ctx.published)
    reasons = _background(trigger, low, own, when, ctx.published)
    detail = trigger.detail
    person = next((a for a in actors if a not in ctx.judges and a.lower() not in
                   ("prosecutors", "defense", "jury") and not _INSTITUTION.search(a)), None)
    if trigger.detail == "apart":
        # co-defendants' verdicts in one sentence: each is about the name after its verb
        person = next((a for a in actors if 0 <= own.find(a.split()[-1], trigger.start)
                       - trigger.start < 80 and a not in ctx.judges), None)
    if trigger.type in _PERSONAL:
        # what happens to a person: one verdict, one sentence, one arrest each
        base, title = _PERSONAL[trigger.type]
        if trigger.type == "custody":
            base, title = f"custody-{detail or 'change'}", f"custody: {detail or 'change'}"
        if person:
            surname = regex(r"[^a-z0-9]+").sub("-", fold(person).lower().split()[-1])
            matter = Matter(f"{base}-{surname}", f"{title} of {person}")
        else:
            matter = Matter(base, title, generic=True)
    else:
        matter = matter_for(low, trigger.start, trigger.type, detail, end=end)
    status = status_for(trigger.type, trigger.outcome, trigger.request_like)
    return Finding(
        type=trigger.type, outcome=trigger.outcome, date=when.value if when else None,
        actors=actors, evidence=sentence, sentence_index=index, matter=matter,
        status=status, summary=_summary(trigger.type, trigger.outcome, detail, matter, when,
                                        actors, ctx),
        background=bool(reasons), trigger=low[trigger.start:trigger.end], reasons=reasons,
        position=trigger.start)


# -- quotes from a ruling -------------------------------------------------------------------------

_RULING_WORDS_QUOTED = re.compile(r"\b(?:is|are|be|hereby)\s+(?:hereby\s+)?(?P<verb>denied|"
                                  r"granted|dismissed|rejected)\b")
_ATTRIBUTION = re.compile(r"\b(?:wrote|writes|ruled|said|says|continues|continued|stated|"
                          r"added|concluded|found)\b")


def quoted_ruling(sentence: str, index: int, ctx: ArticleContext) -> Finding | None:
    """A ruling read from the court's own words, used only when the article has no reporter's
    sentence about the same ruling."""
    text = fold(plain(sentence))
    quotes = regex(r'"([^"]*)"').findall(text)
    if not quotes:
        return None
    outside = fold(without_quotes(sentence)).lower()
    court = regex(rf"\b(?:{COURT}|opinion|order|ruling|decision"
                  + names_alternation(ctx.judge_surnames, outside) + r")\b").search(outside)
    pronoun = regex(r"\b(?:he|she)\b").search(outside) and ctx.judges
    if not (_ATTRIBUTION.search(outside) and (court or pronoun)):
        return None
    for quote in quotes:
        m = _RULING_WORDS_QUOTED.search(quote.lower())
        if m:
            outcome = "granted" if m.group("verb") == "granted" else "denied"
            matter = matter_for(quote.lower(), m.start(), "ruling")
            actors = _actors(sentence, ctx)
            dated = dates_in(outside, ctx.published)
            when = dated[0][1] if dated else None
            reasons = ("dated " + (when.value or ""),) if when and is_well_before(
                when, ctx.published) else ()
            return Finding(type="ruling", outcome=outcome, date=when.value if when else None,
                           actors=actors, evidence=sentence, sentence_index=index,
                           matter=matter, status=status_for("ruling", outcome),
                           summary=_summary("ruling", outcome, None, matter, when, actors, ctx),
                           background=bool(reasons), from_quote=True,
                           trigger=m.group(0), reasons=reasons)
    return None


__all__ = ["ArticleContext", "Finding", "TYPES", "ONE_SHOT", "article_context", "finding_at",
           "find_developments", "judges_named", "quoted_ruling"]


def finding_at(type_: str, outcome: str | None, start: int, end: int, sentence: str, index: int,
               ctx: ArticleContext, date_rule: str = "nearest") -> Finding:
    """A finding for a cue that the phrasings in `triggers` did not read: `start`/`end` are
    offsets into the sentence's folded, quote-blanked lowercase form. The date, actors, matter
    and background reasons are worked out as for any trigger."""
    own = own_words(sentence)
    low = own.lower()
    trigger = Trigger(type_, outcome, start, end, date_rule=date_rule)
    dated = [(sp, r) for sp, r in dates_in(own, ctx.published) if not _in_other_clause(low, sp,
                                                                                        trigger)]
    return _finding(trigger, sentence, index, own, low, dated, _actors(sentence, ctx), ctx,
                    len(low))
