"""Legal matters: the request or motion a development is about, under a stable key.

A matter id comes from the object of the request, motion or ruling, so "the request to move him
to general population" and "declined to let him out of solitary confinement" share one id. Known
kinds of matters have canonical keys; anything else falls back to the words after "motion to",
"request for"... and then to the development type.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from .text import STOPWORDS, regex


@dataclass(frozen=True)
class MatterKind:
    id: str
    title: str
    strong: re.Pattern
    weak: re.Pattern | None = None


def _kind(id_: str, title: str, strong: str, weak: str | None = None) -> MatterKind:
    return MatterKind(id_, title, re.compile(strong), re.compile(weak) if weak else None)


# Order matters only for ties at the same position.
MATTER_KINDS: tuple[MatterKind, ...] = (
    _kind("disqualification-motion", "the motion to disqualify defense counsel",
          r"\bdisqualif\w*|\bremove (?:his|her|their|the) (?:lawyer|attorney|counsel)|"
          r"\bconflicts? of interest"),
    _kind("general-population-request", "the request to leave solitary confinement for general "
          "population",
          r"\bsolitary\b|\bgeneral (?:prison(?:er)? )?population\b|\bisolation\b|"
          r"\bspecial housing unit\b|\bspecial administrative measures\b|\bsams\b|"
          r"\bconditions of (?:his |her |their )?confinement\b|\bconfinement\b|"
          r"\b23-hour",
          r"\brestrictions?\b|\bconditions\b"),
    _kind("visit-request", "the request for a visit",
          r"\bvisit\w*|\bvisitors?\b|\bobservers?\b|\binspect\w*|\bmeet with\b|"
          r"\bsee (?:him|her|the defendant)\b"),
    _kind("bail-request", "the request for bail",
          r"\bbail\b|\bbond\b|\bpretrial release\b|\bhouse arrest\b|"
          r"\breleased? (?:him |her )?(?:pending|before|ahead of) (?:his |her )?trial\b"),
    _kind("dismissal-motion", "the motion to dismiss the case",
          r"\bdismiss\b|\bdismissal\b|\b(?:throw|toss)(?:ing)? out\b|\bthrown out\b|"
          r"\b(?:dismissed|dismisses|threw out|throws out|tossed(?: out)?|tosses)\s+"
          r"(?:[\w.'-]+\s+){0,5}?(?:charges?|counts?|indictment|case|lawsuit|suit|complaint|"
          r"claims?)\b"),
    _kind("suppression-motion", "the motion to suppress evidence",
          r"\bsuppress\w*|\bfrom using (?:[\w.'-]+\s+){0,6}?(?:evidence|emails?|statements?|"
          r"recordings?|testimony|records|messages|texts|videos?|footage|results)\b"),
    _kind("venue-change", "the request to move the trial",
          r"\bvenue\b|\bmove the trial\b|\btransfer the case\b"),
    _kind("trial-delay", "the request for a delay",
          r"\b(?:delay|postpone|push back|adjourn)\w* (?:the |his |her )?trial\b|"
          r"\bcontinuance\b|\badjournment\b|\bpostponement\b|\bthe delay\b|"
          r"\bmore time\b"),
    _kind("fee-award", "the lawyers' fees", r"\bfees\b"),
    _kind("settlement", "the settlement", r"\bsettlement\b|\bsettle\b|\bthe deal\b"),
    _kind("consolidation", "consolidating the cases",
          r"\bconsolidat\w*|\bcombine\b|\blead (?:counsel|plaintiff)\b"),
    _kind("class-certification", "class certification", r"\bcertif\w* (?:a |the )?class\b"),
    _kind("severance", "the request for a separate trial", r"\bsever\w*|\bseparate trial\b"),
    _kind("committal", "the extradition request", r"\bcommit\w* (?:\w+ )?for extradition\b|"
          r"\bcommittal\b"),
    _kind("stay-application", "the application to stay the proceedings",
          r"\bstay (?:the |of )?proceedings\b|\babuse of process\b"),
    _kind("gag-order", "the gag order", r"\bgag order\b"),
    _kind("anonymous-jury", "the request for an anonymous jury", r"\banonymous jury\b"),
    _kind("new-trial-motion", "the motion for a new trial", r"\bnew trial\b"),
    _kind("discovery", "discovery of evidence", r"\bdiscovery\b|\bturn over (?:the )?evidence\b"),
    _kind("plea-agreement", "the plea agreement", r"\bplea (?:deal|agreement|bargain)\b"),
    _kind("extradition", "extradition", r"\bextradit\w*"),
    _kind("injunction", "the request for an injunction",
          r"\binjunction\b|\brestraining order\b|"
          r"\bordered\s+(?:[\w.'-]+\s+){1,6}?to\s+(?:immediately\s+)?(?:stop|halt|cease|"
          r"suspend|shut|refrain)\b"),
    _kind("sentencing", "sentencing", r"\bsentenc\w*"),
    _kind("trial", "the trial", r"\btrial\b|\bjury selection\b"),
    _kind("charges", "the charges", r"\bcharge[sd]?\b|\bindict\w*|\bcounts?\b"),
)

_BY_ID = {k.id: k for k in MATTER_KINDS}

_OBJECT = re.compile(r"\b(?:motion|request|bid|petition|application|effort|efforts|push|"
                     r"attempt|plea|demand)\s+(?:to|for)\s+((?:[a-z'\-]+\s*){1,6})")

# what each type is about when the sentence names no matter
# the ids a development gets when its sentence names no matter: only its type is known
GENERIC_MATTERS = frozenset({"ruling", "hearing", "filing", "statement", "verdict",
                             "sentencing", "charges", "custody", "appeal"})

_TYPE_MATTERS = {"custody": "custody", "verdict": "verdict", "sentence": "sentencing",
                 "charge": "charges", "appeal": "appeal"}


@dataclass(frozen=True)
class Matter:
    id: str
    title: str
    generic: bool = False       # no object named: only the development type is known


def _slug(words: list[str]) -> str:
    return "-".join(words)


@lru_cache(maxsize=4096)     # a trigger and a cue at one place read the same matter
def matter_for(text: str, trigger: int, dev_type: str, detail: str | None = None,
               end: int | None = None) -> Matter:
    """The matter a development in `text` (lowercase, quotes removed) is about: the known kind
    named nearest after the trigger (up to `end`, else nearest before it), strong cues before
    weak ones."""
    end = len(text) if end is None else end
    for strength in ("strong", "weak"):
        best: tuple[tuple[int, int], MatterKind] | None = None
        for order, kind in enumerate(MATTER_KINDS):
            pattern = kind.strong if strength == "strong" else kind.weak
            if pattern is None or kind.id in _EXCLUDED.get(dev_type, ()):
                continue
            after = pattern.search(text, trigger, end)
            if after:
                key = (after.start() - trigger, order)
            else:
                before = [m.start() for m in pattern.finditer(text, 0, trigger)]
                if not before:
                    continue
                key = (10_000 + trigger - before[-1], order)
            if best is None or key < best[0]:
                best = (key, kind)
        if best is not None:
            return Matter(best[1].id, best[1].title)
    if dev_type in ("ruling", "filing", "statement", "hearing", "appeal"):
        m = _OBJECT.search(text, trigger, end) or _OBJECT.search(text, 0, end)
        if m:
            content = [w for w in regex(r"[a-z]+").findall(m.group(1)) if w not in STOPWORDS][:2]
            if content:
                noun = m.group(0).split()[0]
                return Matter(_slug([noun, "to", *content]), f"the {noun} to {' '.join(content)}")
    base = _TYPE_MATTERS.get(dev_type, dev_type)
    if detail:
        return Matter(f"{base}-{detail}", f"{base.replace('-', ' ')}: {detail}")
    return Matter(base, base.replace("-", " "), generic=True)


_EXCLUDED = {
    # "a fair trial", "the charges against him" are rarely what a request or ruling is about
    "filing": ("trial", "charges", "sentencing"),
    "ruling": ("trial", "charges", "sentencing"),
    "statement": ("trial", "charges", "sentencing"),
    "hearing": ("charges",),
    "custody": ("trial", "charges", "sentencing"),
    "verdict": ("sentencing",),
    "charge": ("trial", "sentencing"),
}


def matter_title(matter_id: str) -> str:
    kind = _BY_ID.get(matter_id)
    return kind.title if kind else matter_id.replace("-", " ")


def status_for(dev_type: str, outcome: str | None, request_like: bool = True) -> str | None:
    """The status a matter moves to when a development of this kind happens."""
    if dev_type == "filing":
        return "requested"
    if dev_type == "statement":
        return "requested" if request_like else None
    if dev_type == "ruling":
        return outcome if outcome in ("granted", "denied", "mixed") else "ruled"
    if dev_type == "hearing":
        return f"hearing {outcome}" if outcome else "hearing"
    if dev_type == "appeal":
        return f"appeal {outcome}" if outcome else "appealed"
    if dev_type == "verdict":
        return f"verdict: {outcome}" if outcome else "verdict"
    return {"sentence": "sentenced", "charge": "charged", "custody": "custody"}.get(dev_type)
