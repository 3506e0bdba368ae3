"""The corpus scorer on hand-made predictions, and the labelled corpus itself."""

import re
from collections import Counter
from datetime import UTC, date
from pathlib import Path

import pytest

from services.story.analysis.corpus import all_labels, load_corpus, parse_published, predict_corpus
from services.story.analysis.evaluate import (
    DEVELOPMENT_TYPES,
    OUTCOMES,
    format_report,
    match_developments,
    score,
)

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


def dev(type_, outcome=None, date_=None, evidence="..."):
    return {"type": type_, "outcome": outcome, "date": date_, "evidence": evidence}


def gold(type_, outcome=None, date_=None):
    return {"type": type_, "outcome": outcome, "date": date_}


def pred(id_, on_story=True, duplicate_of=None, developments=()):
    return {"id": id_, "on_story": on_story, "duplicate_of": duplicate_of, "new_sentences": [],
            "developments": list(developments), "conflicts": []}


LABELS = {
    "a1": {"on_story": True, "duplicate_of": None, "notes": "",
           "developments": [gold("ruling", "denied", "2023-04-27"),
                            gold("hearing", "scheduled", "2023-05-04")]},
    "a2": {"on_story": True, "duplicate_of": "a1", "notes": "", "developments": []},
    "a3": {"on_story": False, "duplicate_of": None, "notes": "", "developments": []},
    "a4": {"on_story": True, "duplicate_of": None, "notes": "",
           "developments": [gold("filing", None, None)]},
}


def perfect():
    return [
        pred("a1", developments=[dev("ruling", "denied", "2023-04-27"),
                                 dev("hearing", "scheduled", "2023-05-04")]),
        pred("a2", duplicate_of="a1"),
        pred("a3", on_story=False),
        pred("a4", developments=[dev("filing")]),
    ]


def by_id(predictions, id_):
    return next(p for p in predictions if p["id"] == id_)


# --- scorer -------------------------------------------------------------------------------


def test_perfect_predictions_score_one_everywhere():
    s = score(perfect(), LABELS)
    for key in ("routing", "copies"):
        assert (s[key]["precision"], s[key]["recall"], s[key]["f1"]) == (1.0, 1.0, 1.0)
    overall = s["developments"]["overall"]
    assert (overall["tp"], overall["fp"], overall["fn"]) == (3, 0, 0)
    assert overall["f1"] == 1.0
    for type_ in DEVELOPMENT_TYPES:
        assert s["developments"]["by_type"][type_]["f1"] == 1.0
    assert s["dates"] == {"evaluated": 2, "correct": 2, "accuracy": 1.0}
    assert s["type_only"]["f1"] == 1.0 and s["type_only"]["outcome_accuracy"] == 1.0
    assert all(not errors for errors in s["errors"].values())


def test_one_missed_development():
    predictions = perfect()
    by_id(predictions, "a1")["developments"].pop(1)
    s = score(predictions, LABELS)
    hearing = s["developments"]["by_type"]["hearing"]
    assert (hearing["tp"], hearing["fp"], hearing["fn"]) == (0, 0, 1)
    assert hearing["recall"] == 0.0 and hearing["precision"] == 0.0
    overall = s["developments"]["overall"]
    assert (overall["tp"], overall["fp"], overall["fn"]) == (2, 0, 1)
    assert overall["precision"] == 1.0
    assert overall["recall"] == pytest.approx(2 / 3)
    assert overall["f1"] == pytest.approx(0.8)
    assert s["errors"]["missed"] == [{"id": "a1",
                                      "label": gold("hearing", "scheduled", "2023-05-04")}]


def test_one_false_positive():
    predictions = perfect()
    by_id(predictions, "a4")["developments"].append(dev("custody", None, "2023-01-01"))
    s = score(predictions, LABELS)
    custody = s["developments"]["by_type"]["custody"]
    assert (custody["tp"], custody["fp"], custody["fn"]) == (0, 1, 0)
    overall = s["developments"]["overall"]
    assert overall["precision"] == pytest.approx(3 / 4) and overall["recall"] == 1.0
    assert s["errors"]["spurious"][0]["id"] == "a4"


def test_developments_on_an_off_story_article_are_false_positives():
    predictions = perfect()
    by_id(predictions, "a3")["developments"].append(dev("ruling", "granted", "2023-04-04"))
    s = score(predictions, LABELS)
    ruling = s["developments"]["by_type"]["ruling"]
    assert (ruling["tp"], ruling["fp"], ruling["fn"]) == (1, 1, 0)


def test_labelled_developments_of_an_off_story_article_are_ignored():
    labels = {"x": {"on_story": False, "duplicate_of": None, "notes": "",
                    "developments": [gold("ruling", "denied", "2023-01-02")]}}
    s = score([pred("x", on_story=False)], labels)
    assert s["developments"]["overall"]["fn"] == 0


def test_wrong_date_still_matches_but_lowers_date_accuracy():
    predictions = perfect()
    by_id(predictions, "a1")["developments"][0]["date"] = "2023-04-28"
    s = score(predictions, LABELS)
    assert s["developments"]["overall"]["f1"] == 1.0
    assert s["dates"] == {"evaluated": 2, "correct": 1, "accuracy": 0.5}
    assert s["errors"]["wrong_dates"][0]["predicted"]["date"] == "2023-04-28"


def test_undated_label_is_not_counted_for_date_accuracy():
    predictions = perfect()
    by_id(predictions, "a4")["developments"][0]["date"] = "2023-02-02"
    s = score(predictions, LABELS)
    assert s["dates"]["evaluated"] == 2 and s["dates"]["accuracy"] == 1.0


def test_wrong_outcome_is_a_miss_and_a_false_positive():
    predictions = perfect()
    by_id(predictions, "a1")["developments"][0]["outcome"] = "granted"
    s = score(predictions, LABELS)
    ruling = s["developments"]["by_type"]["ruling"]
    assert (ruling["tp"], ruling["fp"], ruling["fn"]) == (0, 1, 1)
    assert s["dates"]["evaluated"] == 1
    assert s["type_only"]["tp"] == 3 and s["type_only"]["fp"] == 0
    assert s["type_only"]["outcome_accuracy"] == pytest.approx(2 / 3)


def test_matching_is_one_to_one_and_prefers_equal_dates():
    labels = {"x": {"on_story": True, "duplicate_of": None, "notes": "",
                    "developments": [gold("sentence", None, "2023-06-15"),
                                     gold("sentence", None, "2023-06-16")]}}
    predictions = [pred("x", developments=[dev("sentence", None, "2023-06-16"),
                                           dev("sentence", None, "2023-06-15"),
                                           dev("sentence", None, "2023-06-15")])]
    s = score(predictions, labels)
    sentence = s["developments"]["by_type"]["sentence"]
    assert (sentence["tp"], sentence["fp"], sentence["fn"]) == (2, 1, 0)
    assert s["dates"]["accuracy"] == 1.0


def test_match_developments_pairs_dates_first():
    predicted = [gold("hearing", "held", "2023-01-02"), gold("hearing", "held", "2023-01-01")]
    labelled = [gold("hearing", "held", "2023-01-01"), gold("hearing", "held", "2023-01-09")]
    pairs, extra, lost = match_developments(predicted, labelled)
    assert pairs == [(1, 0), (0, 1)] and extra == [] and lost == []


def test_outcome_and_type_comparison_ignores_case_and_blank_outcome():
    labels = {"x": {"on_story": True, "duplicate_of": None, "notes": "",
                    "developments": [gold("filing", None, "2023-03-08")]}}
    s = score([pred("x", developments=[dev("Filing", "", "2023-03-08")])], labels)
    assert s["developments"]["overall"]["f1"] == 1.0


def test_copies():
    labels = {
        "o": {"on_story": True, "duplicate_of": None, "notes": "", "developments": []},
        "c1": {"on_story": True, "duplicate_of": "o", "notes": "", "developments": []},
        "c2": {"on_story": True, "duplicate_of": "o", "notes": "", "developments": []},
        "c3": {"on_story": True, "duplicate_of": "c1", "notes": "", "developments": []},
        "n": {"on_story": True, "duplicate_of": None, "notes": "", "developments": []},
    }
    predictions = [
        pred("o"),
        pred("c1", duplicate_of="o"),   # right
        pred("c2"),                     # missed
        pred("c3", duplicate_of="o"),   # wrong target: a false positive and a miss
        pred("n", duplicate_of="o"),    # not a copy
    ]
    copies = score(predictions, labels)["copies"]
    assert (copies["tp"], copies["fp"], copies["fn"]) == (1, 2, 2)
    assert copies["precision"] == pytest.approx(1 / 3)
    assert copies["recall"] == pytest.approx(1 / 3)


def test_routing_and_missing_predictions():
    predictions = [pred("a1"), pred("a3", on_story=True), pred("zz")]
    s = score(predictions, LABELS)
    routing = s["routing"]
    # a1 right, a3 wrongly on story, a2 and a4 have no prediction (treated as off-story).
    assert (routing["tp"], routing["fp"], routing["fn"]) == (1, 1, 2)
    assert s["predicted"] == 2 and s["unlabelled"] == ["zz"]
    assert s["copies"]["fn"] == 1


def test_empty_inputs():
    s = score([], {})
    assert s["routing"]["f1"] == 1.0 and s["developments"]["overall"]["f1"] == 1.0
    assert s["dates"]["accuracy"] is None
    s = score([], LABELS)
    assert s["routing"]["precision"] == 0.0 and s["developments"]["overall"]["recall"] == 0.0


def test_format_report_lists_every_type_and_errors():
    predictions = perfect()
    by_id(predictions, "a1")["developments"].pop(1)
    report = format_report(score(predictions, LABELS), max_errors=5)
    for name in ("routing", "copies", "overall", "date accuracy", *DEVELOPMENT_TYPES):
        assert name in report
    assert "missed (1)" in report and "a1: hearing/scheduled @ 2023-05-04" in report
    assert "missed" not in format_report(score(predictions, LABELS))


# --- corpus -------------------------------------------------------------------------------

STORIES = load_corpus(CORPUS)
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_FORMS = {1: ("January", "Jan."), 2: ("February", "Feb."), 3: ("March",), 4: ("April",),
               5: ("May",), 6: ("June",), 7: ("July",), 8: ("August", "Aug."),
               9: ("September", "Sept."), 10: ("October", "Oct."), 11: ("November", "Nov."),
               12: ("December", "Dec.")}
DATE_RE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")
FUTURE_OUTCOMES = {("hearing", "scheduled"), ("hearing", "postponed"), ("hearing", "cancelled")}


def all_articles():
    return [(story, article) for story in STORIES for article in story.articles]


def test_corpus_size():
    assert len(STORIES) >= 3
    assert all(len(story.articles) >= 10 for story in STORIES)
    assert sum(len(story.articles) for story in STORIES) >= 36


def test_every_story_folder_loads_with_its_metadata():
    folders = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
    assert [story.slug for story in STORIES] == folders
    for story in STORIES:
        assert {"title", "description", "entities", "keywords"} <= set(story.story)
        assert story.story["title"] and story.story["entities"] and story.story["keywords"]


def test_articles_are_well_formed():
    ids = Counter()
    for story, article in all_articles():
        assert set(article) - {"style"} == {"id", "outlet", "url", "title", "published_at",
                                            "body"}
        path = CORPUS / story.slug / "articles" / f"{article['id']}.json"
        assert path.exists(), f"{article['id']} is not stored as {path.name}"
        assert article["url"].startswith("https://")
        paragraphs = article["body"].split("\n\n")
        assert 4 <= len(paragraphs) <= 10, article["id"]
        assert all(p.strip() == p and p for p in paragraphs), article["id"]
        ids[article["id"]] += 1
    assert all(n == 1 for n in ids.values()), "article ids must be unique across the corpus"


def test_published_at_is_utc():
    for _, article in all_articles():
        assert article["published_at"].endswith("Z"), article["id"]
        moment = parse_published(article["published_at"])
        assert moment.utcoffset().total_seconds() == 0 and moment.tzinfo == UTC


def test_articles_are_sorted_by_publish_time():
    for story in STORIES:
        moments = [parse_published(a["published_at"]) for a in story.articles]
        assert moments == sorted(moments)


def test_labels_and_articles_correspond():
    for story in STORIES:
        assert set(story.labels) == set(story.article_ids), story.slug
    all_labels(STORIES)  # raises if an id were labelled twice


def test_label_schema():
    for story in STORIES:
        for article_id, label in story.labels.items():
            assert set(label) == {"on_story", "duplicate_of", "developments", "notes"}
            assert isinstance(label["on_story"], bool)
            assert label["notes"].strip(), article_id
            for development in label["developments"]:
                assert set(development) - {"evidence"} == {"type", "outcome", "date"}, article_id
                assert development["type"] in DEVELOPMENT_TYPES, article_id
                assert development["outcome"] in OUTCOMES[development["type"]], article_id
                date_ = development["date"]
                assert date_ is None or DATE_RE.match(date_), article_id
                if date_ and len(date_) == 10:
                    date.fromisoformat(date_)
            if not label["on_story"]:
                assert label["developments"] == [] and label["duplicate_of"] is None


def test_copies_point_to_earlier_articles_of_the_same_story():
    for story in STORIES:
        position = {article_id: i for i, article_id in enumerate(story.article_ids)}
        for article_id, label in story.labels.items():
            original = label["duplicate_of"]
            if original is None:
                continue
            assert original in position, article_id
            assert position[original] < position[article_id], article_id
            assert story.labels[original]["duplicate_of"] is None


def test_exact_repeats_are_labelled_copies():
    for story in STORIES:
        first_with_body = {}
        for article in story.articles:
            body = article["body"]
            if body in first_with_body:
                assert story.labels[article["id"]]["duplicate_of"] == first_with_body[body]
                assert story.labels[article["id"]]["developments"] == []
            else:
                first_with_body[body] = article["id"]


def _date_supported(value: str, body: str, published: date) -> bool:
    """The labelled date can be read from the text: an absolute date, a month name for a
    month-only date, or a weekday name when the date lies within a week of publication."""
    if len(value) == 4:
        return value in body
    if len(value) == 7:
        return MONTH_FORMS[int(value[5:])][0] in body
    day = date.fromisoformat(value)
    absolute = any(re.search(rf"\b{re.escape(form)} {day.day}\b", body)
                   for form in MONTH_FORMS[day.month])
    offset = (day - published).days
    weekday = WEEKDAYS[day.weekday()] in body and -6 <= offset <= 7
    return absolute or weekday


def test_labelled_dates_are_supported_by_the_text_and_consistent_with_tense():
    for story, article in all_articles():
        published = parse_published(article["published_at"]).date()
        for development in story.labels[article["id"]]["developments"]:
            value = development["date"]
            if value is None:
                continue
            where = f"{article['id']} {development}"
            assert _date_supported(value, article["body"], published), where
            key = (development["type"], development["outcome"])
            cut = published.isoformat()[:len(value)]
            if key in FUTURE_OUTCOMES:
                assert value >= cut, where
                if len(value) == 10:
                    assert value > cut, where
            else:
                assert value <= cut, where


def test_past_weekday_dates_resolve_to_the_most_recent_such_day():
    """Spot checks of the weekday rule against the labels, including a publish time just
    after midnight UTC."""
    labels = all_labels(STORIES)
    articles = {a["id"]: a for _, a in all_articles()}
    cases = [("varela-04", "filing", "Friday"), ("halvorsen-09", "statement", "Friday"),
             ("wrenfield-05", "custody", "Friday"), ("wrenfield-01", "custody", "Saturday")]
    for article_id, type_, weekday in cases:
        assert weekday in articles[article_id]["body"]
        published = parse_published(articles[article_id]["published_at"]).date()
        back = (published.weekday() - WEEKDAYS.index(weekday)) % 7
        expected = date.fromordinal(published.toordinal() - back)
        dated = [d["date"] for d in labels[article_id]["developments"] if d["type"] == type_]
        assert dated == [expected.isoformat()], article_id


def test_corpus_covers_every_kind_of_case():
    labels = all_labels(STORIES)
    developments = [d for label in labels.values() for d in label["developments"]]
    by_type = Counter(d["type"] for d in developments)
    assert len(developments) >= 50
    assert all(by_type[t] >= 3 for t in DEVELOPMENT_TYPES), by_type
    assert by_type["ruling"] >= 8 and by_type["hearing"] >= 8
    outcomes = {(d["type"], d["outcome"]) for d in developments}
    for outcome in OUTCOMES["hearing"]:
        assert ("hearing", outcome) in outcomes
    assert {("ruling", "granted"), ("ruling", "denied"), ("ruling", "mixed"),
            ("appeal", None), ("appeal", "denied")} <= outcomes
    dates = [d["date"] for d in developments]
    assert any(d is None for d in dates)
    assert any(d and len(d) == 7 for d in dates)
    assert sum(1 for label in labels.values() if not label["on_story"]) >= 4
    assert sum(1 for label in labels.values() if label["duplicate_of"]) >= 6
    background = [i for i, label in labels.items()
                  if label["on_story"] and not label["duplicate_of"] and not label["developments"]]
    assert len(background) >= 3


def test_labels_scored_as_predictions_are_perfect():
    labels = all_labels(STORIES)

    def oracle(slug, story, articles):
        return [pred(a["id"], labels[a["id"]]["on_story"], labels[a["id"]]["duplicate_of"],
                     [dev(d["type"], d["outcome"], d["date"])
                      for d in labels[a["id"]]["developments"]]) for a in articles]

    s = score(predict_corpus(STORIES, oracle), labels)
    assert s["routing"]["f1"] == 1.0 and s["copies"]["f1"] == 1.0
    assert s["developments"]["overall"]["f1"] == 1.0 and s["dates"]["accuracy"] == 1.0
