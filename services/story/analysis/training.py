"""Training the decision from the labelled corpora, and measuring how well it generalizes.

Examples come from running the engine over each labelled story in publish order with the
labeller as the decider (`GoldDecider`): every candidate is recorded with its features and
whether the labels mark it as a new development (and with what outcome), and the story learns
the labelled developments, so that features which ask what the story already knows see what a
correct engine would have known. A linear model (scikit-learn's logistic regression) is fit
on the examples of the train split and exported as plain weights (`decision_model.json`);
scoring needs no scikit-learn. The proposer (`proposer`), a third source of candidates, is fit
first, on the labelled sentences, and ships in the same file; each story's examples are
collected with proposals from a proposer fit on the other folds' stories (`collect_all`).
Training is deterministic: the same corpora give the same file.

    storywire train                 # rebuild decision_model.json from tests/splits.json
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from .corpus import CorpusStory, load_story
from .decision import OUTCOME_TYPES, Example, GoldDecider, LearnedDecider, evidence_in
from .engine import run_offline
from .evaluate import DEVELOPMENT_TYPES, score
from .model import Article, StoryDefinition
from .proposer import Proposer, compiled, sentence_features
from .routing import GATES as ROUTING_GATES
from .routing import eligible as routing_eligible
from .routing import evidence as routing_evidence
from .text import article_sentences

ROOT = Path(__file__).resolve().parents[3]
SPLITS_FILE = ROOT / "tests" / "splits.json"
MODEL_VERSION = 1
C_KEEP = 1.0           # inverse regularization of the keep model (chosen on the dev split)
C_OUTCOME = 1.0
RULE_FLOOR = 0.025     # P below which a phrasing's reading told as news is dropped (0.05 until
                       # round 22, 0.04 in round 23, 0.03 until round 30: see the corpus README)
FOLDS = 5              # `storywire eval --cv folds`: stories dealt into five folds
THRESHOLD = 0.4        # P(new development) at which a candidate is kept (chosen on dev)
C_PROPOSE = 1.0        # inverse regularization of the proposer (`proposer`)
PROPOSE_AT = 0.3       # P(the sentence tells of the type) at which the proposer proposes
PROPOSER_MIN_WEIGHT = 0.02     # lighter word weights are left out of the shipped model


@dataclass
class LabelledStory:
    split: str
    corpus: str                 # the folder the story sits under, e.g. "learn" or "blind5"
    story: CorpusStory

    @property
    def styles(self) -> dict[str, str]:
        return {a["id"]: a.get("style") or "unknown" for a in self.story.articles}


def load_splits(path: Path = SPLITS_FILE) -> list[LabelledStory]:
    """Every labelled story named by the splits file, with its split."""
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    base = Path(path).parent
    stories: list[LabelledStory] = []
    for split in ("train", "dev", "test"):
        for entry in data.get(split, []):
            folder = base / entry
            if (folder / "story.json").exists():
                folders = [folder]
            else:
                folders = sorted(p for p in folder.iterdir() if (p / "story.json").exists()) \
                    if folder.is_dir() else []
            for f in folders:
                stories.append(LabelledStory(split, entry.split("/")[0], load_story(f)))
    return stories


def definition_of(story: CorpusStory) -> StoryDefinition:
    return StoryDefinition.from_dict({"slug": story.slug, **story.story})


def articles_of(story: CorpusStory) -> list[Article]:
    return [Article.from_dict(a) for a in story.articles]


@dataclass
class StoryExamples:
    story: LabelledStory
    examples: list[Example]
    missed: list[tuple[str, dict]]


def collect(story: LabelledStory, proposer: Proposer | None = None) -> StoryExamples:
    """The candidates of one story, labelled (with `proposer` proposing as in use)."""
    gold = GoldDecider(story.story.labels, proposer)
    run_offline(definition_of(story.story), articles_of(story.story), gold)
    return StoryExamples(story, gold.examples, gold.missed)


def proposer_sentences(story: LabelledStory) -> list[tuple[str, set[str]]]:
    """Each sentence of the story's labelled articles on the story (copies left out), with
    the types of the developments whose evidence it holds."""
    rows = []
    for article in story.story.articles:
        label = story.story.labels.get(article["id"])
        if not label or not label.get("on_story") or label.get("duplicate_of"):
            continue
        gold = [g for g in label.get("developments") or [] if g.get("evidence")]
        for sentence in article_sentences(article["body"], article.get("title") or ""):
            rows.append((sentence, {g["type"] for g in gold
                                    if evidence_in(g["evidence"], sentence)}))
    return rows


def fit_proposer(stories: Iterable[LabelledStory], c: float = C_PROPOSE,
                 threshold: float = PROPOSE_AT) -> dict:
    """The proposer (`proposer`): a logistic regression per development type over the words
    of the stories' sentences, as plain weights."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    rows = [r for s in stories for r in proposer_sentences(s)]
    vectorizer = DictVectorizer(sort=True)
    x = _matrix(vectorizer, [sentence_features(sentence) for sentence, _ in rows])
    names = list(vectorizer.get_feature_names_out())
    types = {}
    for type_ in DEVELOPMENT_TYPES:
        y = [int(type_ in found) for _, found in rows]
        if len(set(y)) < 2:
            continue
        clf = LogisticRegression(C=c, solver="liblinear", max_iter=1000, random_state=0)
        clf.fit(x, y)
        types[type_] = {"bias": round(float(clf.intercept_[0]), 4),
                        "weights": {n: round(float(w), 3)
                                    for n, w in zip(names, clf.coef_[0], strict=True)
                                    if abs(w) >= PROPOSER_MIN_WEIGHT}}
    return {"threshold": threshold, "sentences": len(rows), "types": types}


def fold_proposers(stories: list[LabelledStory], folds: int = FOLDS) -> list[dict]:
    """Fold k's proposer: fit on the stories of every fold but k."""
    fold_of = folds_of((s.story.slug for s in stories), folds)
    return [fit_proposer([s for s in stories if fold_of[s.story.slug] != k])
            for k in range(folds)]


def collect_all(stories: list[LabelledStory], proposers: list[dict]) -> list[StoryExamples]:
    """Every story's candidates, labelled, each proposed by the proposer of its fold
    (`fold_proposers`): the decision learns from proposals made as in use, on text the
    proposer never read (one fit on the very sentences it proposes from would propose only
    what the labels hold)."""
    fold_of = folds_of((s.story.slug for s in stories), len(proposers))
    ready = [compiled(p) for p in proposers]
    return [collect(s, ready[fold_of[s.story.slug]]) for s in stories]


def _matrix(vectorizer, features: list[dict[str, float]], fit: bool = True):
    """A CSR matrix with 32-bit indices (liblinear takes no others)."""
    import numpy as np

    x = (vectorizer.fit_transform(features) if fit else vectorizer.transform(features)).tocsr()
    x.indices = x.indices.astype(np.int32)
    x.indptr = x.indptr.astype(np.int32)
    return x


def _weights(names: list[str], coef) -> dict[str, float]:
    return {n: round(float(w), 4) for n, w in zip(names, coef, strict=True) if abs(w) >= 1e-4}


# Features the keep model leaves out: where a candidate came from. On text whose phrasings
# nobody wrote every candidate comes from the broad cues, and a model that has learned "a
# phrasing fired" refuses them all.
KEEP_IGNORES = re.compile(r"(?:^|\|)src=")


def keep_features(features: dict[str, float]) -> dict[str, float]:
    return {k: v for k, v in features.items() if not KEEP_IGNORES.search(k)}


def fit(examples: Iterable[Example], c_keep: float = C_KEEP,
        c_outcome: float = C_OUTCOME, threshold: float = THRESHOLD,
        rule_floor: float = RULE_FLOOR, tune_threshold: bool = True) -> dict:
    """A decision model from labelled examples, as plain weights."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    rows = [e for e in examples if e.weight > 0]
    vectorizer = DictVectorizer(sort=True)
    x = _matrix(vectorizer, [keep_features(e.features) for e in rows])
    y = [int(e.keep) for e in rows]
    names = list(vectorizer.get_feature_names_out())
    keep = LogisticRegression(C=c_keep, solver="liblinear", max_iter=1000,
                              random_state=0)
    keep.fit(x, y)
    model: dict = {
        "version": MODEL_VERSION, "threshold": threshold, "rule_floor": rule_floor,
        "examples": {"candidates": len(rows), "developments": sum(y)},
        "keep": {"bias": round(float(keep.intercept_[0]), 4),
                 "weights": _weights(names, keep.coef_[0])},
        "outcome": {},
    }
    if tune_threshold:
        model["threshold"] = _threshold(rows, c_keep, threshold)
    for type_ in OUTCOME_TYPES:
        typed = [e for e in rows if e.keep and e.type == type_]
        if not typed:
            continue
        labels = [e.outcome or "none" for e in typed]
        classes = sorted(set(labels))
        if len(classes) == 1:
            model["outcome"][type_] = {"classes": classes, "bias": {classes[0]: 0.0},
                                       "weights": {classes[0]: {}}}
            continue
        vec = DictVectorizer(sort=True)
        xo = _matrix(vec, [e.features for e in typed])
        onames = list(vec.get_feature_names_out())
        clf = LogisticRegression(C=c_outcome, solver="lbfgs", max_iter=2000)
        clf.fit(xo, labels)
        if len(classes) == 2:
            bias = {classes[0]: 0.0, classes[1]: round(float(clf.intercept_[0]), 4)}
            weights = {classes[0]: {}, classes[1]: _weights(onames, clf.coef_[0])}
        else:
            bias = {c: round(float(b), 4) for c, b in zip(clf.classes_, clf.intercept_,
                                                          strict=True)}
            weights = {c: _weights(onames, w) for c, w in zip(clf.classes_, clf.coef_,
                                                              strict=True)}
        model["outcome"][type_] = {"classes": [str(c) for c in clf.classes_], "bias": bias,
                                   "weights": weights}
    return model


def _story_of(article_id: str) -> str:
    return article_id.rsplit("-", 1)[0]


def folds_of(stories: Iterable[str], folds: int = FOLDS) -> dict[str, int]:
    """Stories dealt into folds: in name order, round the folds."""
    return {story: i % folds for i, story in enumerate(sorted(set(stories)))}


def _threshold(rows: list[Example], c_keep: float, default: float, folds: int = FOLDS) -> float:
    """The keep threshold that maximizes F1 on out-of-fold probabilities (folds by story, so no
    story helps to judge itself), one for every type: chosen per type, thresholds swung from
    fold to fold (a verdict's from 0.25 to 0.7) and scored lower in nested cross-validation."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.linear_model import LogisticRegression

    fold_of = folds_of((_story_of(e.article_id) for e in rows), folds)
    probability = [0.0] * len(rows)
    for k in range(folds):
        train_idx = [i for i, e in enumerate(rows) if fold_of[_story_of(e.article_id)] != k]
        test_idx = [i for i, e in enumerate(rows) if fold_of[_story_of(e.article_id)] == k]
        if not test_idx or len({rows[i].keep for i in train_idx}) < 2:
            continue
        vec = DictVectorizer(sort=True)
        x = _matrix(vec, [keep_features(rows[i].features) for i in train_idx])
        clf = LogisticRegression(C=c_keep, solver="liblinear", max_iter=1000,
                                 random_state=0)
        clf.fit(x, [int(rows[i].keep) for i in train_idx])
        p = clf.predict_proba(_matrix(vec, [keep_features(rows[i].features) for i in test_idx],
                                      fit=False))
        for i, value in zip(test_idx, p[:, 1], strict=True):
            probability[i] = float(value)
    positives = sum(e.keep for e in rows)
    best = (-1.0, default)
    for step in range(2, 15):
        cut = step / 20
        tp = sum(1 for e, q in zip(rows, probability, strict=True) if e.keep and q >= cut)
        fp = sum(1 for e, q in zip(rows, probability, strict=True) if not e.keep and q >= cut)
        f1 = 2 * tp / (2 * tp + fp + (positives - tp)) if tp else 0.0
        if f1 > best[0] + 1e-9:
            best = (f1, cut)
    return best[1]


@contextmanager
def one_thread():
    """Every numeric library held to one thread: sums split over threads end in other last
    digits, and a model is rebuilt to the last digit on any number of cores. The libraries
    are loaded first, as the limit holds only those already loaded (scikit-learn loads
    SciPy's OpenBLAS and OpenMP inside `fit`)."""
    import numpy  # noqa: F401
    import scipy.optimize  # noqa: F401
    import sklearn.linear_model  # noqa: F401
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        yield


def train(stories: list[LabelledStory], splits: tuple[str, ...] = ("train",), **params) -> dict:
    chosen = [s for s in stories if s.split in splits]
    with one_thread():
        model = fit([e for c in collect_all(chosen, fold_proposers(chosen)) for e in c.examples],
                    **params)
        model["proposer"] = fit_proposer(chosen)
    return model


# A definition as a newsroom might write it in a hurry: its first entities (None: all of them)
# and keywords, with or without the description. Routing learns from each story told with its
# full definition and with these, so that a short definition routes as well as a long one.
THIN_DEFINITIONS = ((3, 3, True), (1, 1, True), (3, 3, False), (2, 0, False), (None, 0, False))
C_ROUTE = 1.0


def without_gates(features: dict[str, float]) -> dict[str, float]:
    """Routing's features with its gates closed (`routing.GATES`): routing learns from the
    articles that name the subject prominently, and weighs one that names it once among the
    story's other entities by what those teach (learning from them too taught the model to
    discount every article without a prominent subject, a headline's description included)."""
    return {**features, **dict.fromkeys(ROUTING_GATES, 0.0)}


def thinned(story: StoryDefinition, entities: int | None, keywords: int,
            description: bool) -> StoryDefinition:
    return replace(story, entities=story.entities[:entities], keywords=story.keywords[:keywords],
                   description=story.description if description else "")


def routing_examples(story: CorpusStory) -> list[tuple[dict[str, float], bool]]:
    """(features, on the story) for each labelled article that routing weighs at all (one that
    names the story's subject prominently and shares some of its topic; not one only
    `routing.GATES` let in), under the full definition and each thinned one."""
    full = definition_of(story)
    rows = []
    for definition in (full, *(thinned(full, *t) for t in THIN_DEFINITIONS)):
        for article in articles_of(story):
            label = story.labels.get(article.id)
            found = routing_evidence(definition, article)
            if label is not None and routing_eligible(without_gates(found.features)):
                rows.append((found.features, bool(label.get("on_story"))))
    return rows


def train_routing(stories: list[LabelledStory], splits: tuple[str, ...] = ("train",)) -> dict:
    """The routing model: a logistic regression over routing's features, as plain weights.
    Every weight is kept at zero or above: more of the story's topic never sends an article
    away (the corpora's hard negatives share the judge and the court, which an unconstrained
    fit learns as a reason to refuse)."""
    import numpy as np
    from scipy.optimize import minimize

    rows = [r for s in stories if s.split in splits for r in routing_examples(s.story)]
    names = sorted(n for n in rows[0][0] if n not in ROUTING_GATES)
    x = np.array([[f[n] for n in names] for f, _ in rows])
    y = np.array([float(on) for _, on in rows])

    def loss(w):
        z = w[0] + x @ w[1:]
        p = 1.0 / (1.0 + np.exp(-z))
        # mean log loss with an L2 penalty (C_ROUTE as in a logistic regression)
        value = np.logaddexp(0.0, z).sum() - y @ z + 0.5 / C_ROUTE * (w[1:] @ w[1:])
        grad = np.concatenate(([(p - y).sum()], x.T @ (p - y) + w[1:] / C_ROUTE))
        return value, grad

    bounds = [(None, None)] + [(0.0, None)] * len(names)
    with one_thread():
        fitted = minimize(loss, np.zeros(len(names) + 1), jac=True, method="L-BFGS-B",
                          bounds=bounds).x
    return {"version": MODEL_VERSION, "threshold": 0.5,
            "examples": {"pairs": len(rows), "on_story": int(y.sum())},
            "bias": round(float(fitted[0]), 4),
            "weights": {n: round(float(w), 4) for n, w in zip(names, fitted[1:], strict=True)}}


def short_definition_routing(stories: list[LabelledStory]) -> dict[str, dict[str, float]]:
    """Routing precision, recall and F1 of the stories' articles under the full definition and
    each thinned one ("3e 3k": the first three entities and keywords; "-d": no description)."""
    from .routing import route

    out = {}
    for shape in (None, *THIN_DEFINITIONS):
        name = "full" if shape is None else \
            f"{'all ' if shape[0] is None else shape[0]}e {shape[1]}k{'' if shape[2] else ' -d'}"
        tp = fp = fn = 0
        for story in stories:
            full = definition_of(story.story)
            definition = full if shape is None else thinned(full, *shape)
            for article in articles_of(story.story):
                label = story.story.labels.get(article.id)
                if label is None:
                    continue
                predicted, gold = route(definition, article).on_story, bool(label["on_story"])
                tp, fp, fn = tp + (predicted and gold), fp + (predicted and not gold), \
                    fn + (gold and not predicted)
        precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
        out[name] = {"precision": precision, "recall": recall,
                     "f1": 2 * precision * recall / (precision + recall) if tp else 0.0}
    return out


def write_model(model: dict, path: Path) -> None:
    path.write_text(json.dumps(model, sort_keys=True, separators=(",", ":")) + "\n",
                    encoding="utf-8")


# -- measuring ------------------------------------------------------------------------------------

def predict(story: LabelledStory, decider: LearnedDecider | None) -> list[dict]:
    """The engine's contract object per article, with `decider` deciding (None: the packaged
    model, or the phrasings alone when none is packaged)."""
    analyses = run_offline(definition_of(story.story), articles_of(story.story), decider)
    return [a.contract() for a in analyses]


def score_stories(stories: list[LabelledStory], predictor: Callable[[LabelledStory], list[dict]],
                  keep: Callable[[str, LabelledStory], bool] = lambda _id, _s: True) -> dict:
    """Scores over `stories`; `keep(article_id, story)` limits which articles count."""
    predictions: list[dict] = []
    labels: dict[str, dict] = {}
    for story in stories:
        for p in predictor(story):
            if keep(p["id"], story):
                predictions.append(p)
        for aid, label in story.story.labels.items():
            if keep(aid, story):
                labels[aid] = label
    result = score(predictions, labels)
    result["copy_alerts"] = copy_alerts(predictions, labels)
    return result


def copy_alerts(predictions: list[dict], labels: dict[str, dict]) -> int:
    """Developments predicted on articles labelled as copies beyond what the labels give
    them: each would be an alert a wire copy caused."""
    count = 0
    for p in predictions:
        label = labels.get(p["id"])
        if label and label.get("duplicate_of"):
            count += max(0, len(p.get("developments") or []) - len(label.get("developments")
                                                                     or []))
    return count


def _without_style(stories: list[LabelledStory], style: str) -> list[LabelledStory]:
    """The stories with the articles of one style taken out."""
    out = []
    for s in stories:
        kept = [a for a in s.story.articles if (a.get("style") or "unknown") != style]
        out.append(replace(s, story=replace(s.story, articles=kept)))
    return out


def leave_one_out(stories: list[LabelledStory], by: str,
                  log: Callable[[str], None] = lambda _m: None, **params) -> dict[str, dict]:
    """Train on everything but one story (`by="story"`), one style (`by="style"`) or one of
    five folds of stories (`by="folds"`: the stories in name order dealt round), score the
    part left out. Returns the scores per part left out, and "all" pooled."""
    proposers = fold_proposers(stories)
    collected = collect_all(stories, proposers)
    parts: dict[str, dict] = {}
    pooled_predictions: list[dict] = []
    pooled_labels: dict[str, dict] = {}
    if by == "story":
        for story in stories:
            name = story.story.slug
            model = fit([e for c in collected if c.story.story.slug != name
                         for e in c.examples], **params)
            model["proposer"] = fit_proposer(s for s in stories if s.story.slug != name)
            output = predict(story, LearnedDecider(model))   # once: scored, then pooled
            result = score_stories([story], lambda _s, o=output: o)
            parts[name] = result
            pooled_predictions.extend(output)
            pooled_labels.update(story.story.labels)
            log(f"{name}: F1 {result['developments']['overall']['f1']:.3f}")
    elif by == "style":
        style_of = {aid: st for s in stories for aid, st in s.styles.items()}
        styles = sorted({st for s in stories for st in s.styles.values()} - {"unknown"})
        for style in styles:
            model = fit([e for c in collected for e in c.examples
                         if style_of.get(e.article_id) != style], **params)
            model["proposer"] = fit_proposer(_without_style(stories, style))
            decider = LearnedDecider(model)

            def of_style(aid: str, _s: LabelledStory, style=style) -> bool:
                return style_of.get(aid) == style

            with_style = [s for s in stories if style in s.styles.values()]
            outputs = {s.story.slug: predict(s, decider) for s in with_style}
            result = score_stories(with_style, lambda s, o=outputs: o[s.story.slug], of_style)
            parts[style] = result
            for s in with_style:
                pooled_predictions.extend(p for p in outputs[s.story.slug]
                                          if of_style(p["id"], s))
                pooled_labels.update({a: lab for a, lab in s.story.labels.items()
                                      if of_style(a, s)})
            log(f"{style}: F1 {result['developments']['overall']['f1']:.3f}")
    elif by == "folds":
        fold_of = folds_of(s.story.slug for s in stories)
        for k in range(FOLDS):
            held = [s for s in stories if fold_of[s.story.slug] == k]
            model = fit([e for c in collected if fold_of[c.story.story.slug] != k
                         for e in c.examples], **params)
            model["proposer"] = proposers[k]        # fit on the other folds' stories
            decider = LearnedDecider(model)
            outputs = {s.story.slug: predict(s, decider) for s in held}
            result = score_stories(held, lambda s, o=outputs: o[s.story.slug])
            parts[f"fold {k + 1}"] = result
            for s in held:
                pooled_predictions.extend(outputs[s.story.slug])
                pooled_labels.update(s.story.labels)
            log(f"fold {k + 1}, {len(held)} of {len(stories)} stories: "
                f"F1 {result['developments']['overall']['f1']:.3f}")
    else:
        raise ValueError(f"leave one {by!r} out: by story, style or folds")
    parts["all"] = score(pooled_predictions, pooled_labels)
    parts["all"]["copy_alerts"] = copy_alerts(pooled_predictions, pooled_labels)
    return parts
