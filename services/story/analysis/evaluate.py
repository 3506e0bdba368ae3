"""Scoring of per-article predictions against the labelled corpus. Pure: no I/O.

A prediction is the per-article contract object
``{"id", "on_story", "duplicate_of", "new_sentences", "developments", "conflicts"}`` where each
development is ``{"type", "outcome", "date", "evidence"}``. Labels map an article id to
``{"on_story", "duplicate_of", "developments": [{"type", "outcome", "date"}], "notes"}``.

Scores:

- routing: precision / recall / F1 with ``on_story = true`` as the positive class;
- copies: a true positive is a predicted ``duplicate_of`` equal to the labelled non-null one;
  a prediction pointing at the wrong article is both a false positive and a false negative;
- developments: within each article, predicted and labelled developments are paired one to one,
  greedily, on equal (type, outcome), preferring pairs whose dates are equal too. Unpaired
  predictions are false positives (every prediction on an article labelled off-story is one),
  unpaired labels are false negatives. Reported per type and micro-averaged;
- dates: over the paired labelled developments that have a labelled date, the fraction whose
  predicted date is the same string;
- type_only: the same pairing on type alone, with the fraction of those pairs whose outcome
  also agrees, to tell a wrong outcome from a missed development.

Articles without a prediction count as predicted off-story with no copy and no developments.
Predictions for ids that are not labelled are ignored and listed under ``unlabelled``.
When a ratio has a zero denominator it is 1.0 if there was nothing to find and nothing was
predicted, else 0.0.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

DEVELOPMENT_TYPES = ("ruling", "hearing", "filing", "verdict", "sentence", "custody", "charge",
                     "appeal", "statement")

OUTCOMES: dict[str, tuple[str | None, ...]] = {
    "ruling": ("granted", "denied", "mixed", "other"),
    "hearing": ("scheduled", "held", "postponed", "cancelled"),
    "appeal": (None, "granted", "denied", "mixed", "other"),
    "verdict": ("guilty", "not_guilty", "mixed"),
    "filing": (None,),
    "sentence": (None,),
    "custody": (None,),
    "charge": (None,),
    "statement": (None,),
}


DECIDED_TYPES = ("ruling", "hearing", "verdict", "appeal")


def _norm_text(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip().lower()
    return text or None


def _norm_date(value) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _development(raw: Mapping) -> dict:
    return {"type": _norm_text(raw.get("type")) or "",
            "outcome": _norm_text(raw.get("outcome")),
            "date": _norm_date(raw.get("date"))}


def _ratio(num: int, den: int, nothing_at_all: bool) -> float:
    if den:
        return num / den
    return 1.0 if nothing_at_all else 0.0


def prf(tp: int, fp: int, fn: int) -> dict:
    """Counts with precision, recall and F1 (see the module docstring for empty cases)."""
    empty = tp + fp + fn == 0
    precision = _ratio(tp, tp + fp, empty)
    recall = _ratio(tp, tp + fn, empty)
    if precision + recall:
        f1 = 2 * precision * recall / (precision + recall)
    else:
        f1 = 1.0 if empty else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "support": tp + fn,
            "precision": precision, "recall": recall, "f1": f1}


def match_developments(predicted: list[dict], gold: list[dict],
                       keys: tuple[str, ...] = ("type", "outcome")
                       ) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """Pair predicted with labelled developments of one article, one to one.

    A pair needs equal values for `keys`. Pairs that also agree on the date are taken first,
    then the remaining ones in order. Returns (pairs as (predicted index, gold index),
    unpaired predicted indexes, unpaired gold indexes).
    """
    used_pred: set[int] = set()
    used_gold: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for want_date in (True, False):
        for gi, g in enumerate(gold):
            if gi in used_gold:
                continue
            for pi, p in enumerate(predicted):
                if pi in used_pred:
                    continue
                if any(p[k] != g[k] for k in keys):
                    continue
                if want_date and p["date"] != g["date"]:
                    continue
                pairs.append((pi, gi))
                used_pred.add(pi)
                used_gold.add(gi)
                break
    pairs.sort(key=lambda pair: pair[1])
    return (pairs,
            [i for i in range(len(predicted)) if i not in used_pred],
            [i for i in range(len(gold)) if i not in used_gold])


def _by_id(predictions: Iterable[Mapping]) -> dict[str, Mapping]:
    index: dict[str, Mapping] = {}
    for prediction in predictions:
        index[str(prediction["id"])] = prediction
    return index


def score(predictions: list[dict], labels: dict[str, dict]) -> dict:
    """Score predictions against labels. See the module docstring for the definitions."""
    predicted_by_id = _by_id(predictions)

    routing = {"tp": 0, "fp": 0, "fn": 0}
    copies = {"tp": 0, "fp": 0, "fn": 0}
    per_type = {t: {"tp": 0, "fp": 0, "fn": 0} for t in DEVELOPMENT_TYPES}
    loose = {"tp": 0, "fp": 0, "fn": 0, "outcome_agree": 0, "decided": 0, "decided_agree": 0}
    dates_evaluated = 0
    dates_correct = 0
    missed: list[dict] = []
    spurious: list[dict] = []
    wrong_dates: list[dict] = []
    copy_errors: list[dict] = []
    routing_errors: list[dict] = []

    def bucket(type_: str) -> dict:
        # Unknown predicted types are still counted, under their own name.
        return per_type.setdefault(type_, {"tp": 0, "fp": 0, "fn": 0})

    for article_id in sorted(labels):
        label = labels[article_id]
        prediction = predicted_by_id.get(article_id) or {}

        gold_on = bool(label.get("on_story"))
        pred_on = bool(prediction.get("on_story", False))
        if gold_on and pred_on:
            routing["tp"] += 1
        elif pred_on:
            routing["fp"] += 1
        elif gold_on:
            routing["fn"] += 1
        if gold_on != pred_on:
            routing_errors.append({"id": article_id, "label": gold_on, "predicted": pred_on})

        gold_dup = label.get("duplicate_of")
        pred_dup = prediction.get("duplicate_of")
        gold_dup = str(gold_dup) if gold_dup else None
        pred_dup = str(pred_dup) if pred_dup else None
        if gold_dup and pred_dup == gold_dup:
            copies["tp"] += 1
        else:
            if pred_dup:
                copies["fp"] += 1
            if gold_dup:
                copies["fn"] += 1
            if pred_dup or gold_dup:
                copy_errors.append({"id": article_id, "label": gold_dup, "predicted": pred_dup})

        gold = [_development(d) for d in (label.get("developments") or [])] if gold_on else []
        predicted = [_development(d) for d in (prediction.get("developments") or [])]

        pairs, extra, lost = match_developments(predicted, gold)
        for pi, gi in pairs:
            bucket(gold[gi]["type"])["tp"] += 1
            if gold[gi]["date"] is not None:
                dates_evaluated += 1
                if predicted[pi]["date"] == gold[gi]["date"]:
                    dates_correct += 1
                else:
                    wrong_dates.append({"id": article_id, "label": gold[gi],
                                        "predicted": predicted[pi]})
        for pi in extra:
            bucket(predicted[pi]["type"])["fp"] += 1
            spurious.append({"id": article_id, "predicted": predicted[pi]})
        for gi in lost:
            bucket(gold[gi]["type"])["fn"] += 1
            missed.append({"id": article_id, "label": gold[gi]})

        loose_pairs, loose_extra, loose_lost = match_developments(predicted, gold, keys=("type",))
        loose["tp"] += len(loose_pairs)
        loose["fp"] += len(loose_extra)
        loose["fn"] += len(loose_lost)
        loose["outcome_agree"] += sum(1 for pi, gi in loose_pairs
                                      if predicted[pi]["outcome"] == gold[gi]["outcome"])
        decided = [(pi, gi) for pi, gi in loose_pairs if gold[gi]["type"] in DECIDED_TYPES]
        loose["decided"] += len(decided)
        loose["decided_agree"] += sum(1 for pi, gi in decided
                                      if predicted[pi]["outcome"] == gold[gi]["outcome"])

    totals = {k: sum(counts[k] for counts in per_type.values()) for k in ("tp", "fp", "fn")}
    type_only = prf(loose["tp"], loose["fp"], loose["fn"])
    type_only["outcome_accuracy"] = (loose["outcome_agree"] / loose["tp"]) if loose["tp"] else None
    # over the types whose outcome is decided: rulings, hearings, verdicts and appeals
    type_only["decided_outcome_accuracy"] = (loose["decided_agree"] / loose["decided"]
                                             if loose["decided"] else None)

    return {
        "articles": len(labels),
        "predicted": sum(1 for article_id in labels if article_id in predicted_by_id),
        "unlabelled": sorted(set(predicted_by_id) - set(labels)),
        "routing": prf(**routing),
        "copies": prf(**copies),
        "developments": {
            "by_type": {t: prf(**counts) for t, counts in per_type.items()},
            "overall": prf(**totals),
        },
        "dates": {
            "evaluated": dates_evaluated,
            "correct": dates_correct,
            "accuracy": (dates_correct / dates_evaluated) if dates_evaluated else None,
        },
        "type_only": type_only,
        "errors": {
            "missed": missed,
            "spurious": spurious,
            "wrong_dates": wrong_dates,
            "copies": copy_errors,
            "routing": routing_errors,
        },
    }


def _row(name: str, m: Mapping) -> str:
    return (f"{name:<12} {m['precision']:>6.3f} {m['recall']:>6.3f} {m['f1']:>6.3f} "
            f"{m['tp']:>5} {m['fp']:>5} {m['fn']:>5}")


def _dev_text(d: Mapping) -> str:
    outcome = f"/{d['outcome']}" if d.get("outcome") else ""
    return f"{d['type']}{outcome} @ {d.get('date') or '-'}"


def format_report(scores: Mapping, max_errors: int = 0) -> str:
    """A plain-text table of the scores; with `max_errors`, also that many errors per kind."""
    header = f"{'':<12} {'prec':>6} {'rec':>6} {'f1':>6} {'tp':>5} {'fp':>5} {'fn':>5}"
    rule = "-" * len(header)
    lines = [f"articles: {scores['articles']} labelled, {scores['predicted']} predicted"]
    if scores.get("unlabelled"):
        lines.append(f"ignored predictions for unlabelled ids: {len(scores['unlabelled'])}")
    lines += ["", header, rule,
              _row("routing", scores["routing"]),
              _row("copies", scores["copies"]),
              "", "developments (type + outcome)", header, rule]
    for type_, metrics in scores["developments"]["by_type"].items():
        lines.append(_row(type_, metrics))
    lines.append(rule)
    lines.append(_row("overall", scores["developments"]["overall"]))
    loose = scores["type_only"]
    lines.append(_row("type only", loose))
    if loose.get("outcome_accuracy") is not None:
        lines.append(f"outcome accuracy on type-only pairs: {loose['outcome_accuracy']:.3f}")
    if loose.get("decided_outcome_accuracy") is not None:
        lines.append("outcome accuracy of rulings, hearings, verdicts and appeals: "
                     f"{loose['decided_outcome_accuracy']:.3f}")
    dates = scores["dates"]
    if dates["accuracy"] is None:
        lines.append("date accuracy: n/a (no matched development with a labelled date)")
    else:
        lines.append(f"date accuracy: {dates['accuracy']:.3f} "
                     f"({dates['correct']}/{dates['evaluated']})")
    if max_errors > 0:
        errors = scores["errors"]
        sections = [
            ("missed", [f"{e['id']}: {_dev_text(e['label'])}" for e in errors["missed"]]),
            ("spurious", [f"{e['id']}: {_dev_text(e['predicted'])}" for e in errors["spurious"]]),
            ("wrong dates", [f"{e['id']}: {_dev_text(e['label'])} predicted "
                             f"{e['predicted'].get('date') or '-'}"
                             for e in errors["wrong_dates"]]),
            ("copies", [f"{e['id']}: label {e['label']} predicted {e['predicted']}"
                        for e in errors["copies"]]),
            ("routing", [f"{e['id']}: label {e['label']} predicted {e['predicted']}"
                         for e in errors["routing"]]),
        ]
        for title, items in sections:
            if not items:
                continue
            lines += ["", f"{title} ({len(items)})"]
            lines += [f"  {item}" for item in items[:max_errors]]
            if len(items) > max_errors:
                lines.append(f"  ... {len(items) - max_errors} more")
    return "\n".join(lines)
