"""The desk's page logic, pure: timeline filters, copies under their originals, new and known
sentences, articles a story weighed and left, outside links."""

from datetime import UTC, datetime

from services.desk import views
from services.desk.web import href
from shared.eventstore import RecordedEvent


def article(id_, duplicate_of=None, outlet="Wire"):
    return {"id": id_, "duplicate_of": duplicate_of, "outlet": outlet, "title": f"T{id_}"}


def event(type_, data):
    return RecordedEvent(1, "unrouted", 1, "e", type_, 1, data, {}, datetime.now(UTC))


def test_timeline_filters_and_their_choices():
    items = [{"type": "ruling", "outcome": "denied"}, {"type": "hearing", "outcome": None},
             {"type": "ruling", "outcome": "granted"}]
    assert views.timeline_filters(items) == {"types": ["hearing", "ruling"],
                                             "outcomes": ["denied", "granted"]}
    assert views.filter_timeline(items, "ruling", "denied") == [items[0]]
    assert views.filter_timeline(items, None, None) == items
    assert views.filter_timeline(items, "hearing", "denied") == []


def test_copies_sit_under_the_first_article_of_their_chain():
    tree = views.article_tree([article("a"), article("b", "a"), article("c", "b"),
                               article("d"), article("e", "gone")])
    assert [(a["id"], [c["id"] for c in a["copies"]]) for a in tree] == \
        [("a", ["b", "c"]), ("d", []), ("e", [])]


def test_known_sentences_name_the_article_they_repeat():
    analysis = {"sentences": [
        {"text": "Old.", "index": 0, "known": True,
         "match": {"article_id": "a", "sentence_index": 3, "score": 97.0}},
        {"text": "New names.", "index": 1, "known": False, "match": None,
         "new_names": ["Rosa Kettering"]},
        {"text": "Known elsewhere.", "index": 2, "known": True,
         "match": {"article_id": "left-out", "sentence_index": 0, "score": 90.0}}]}
    shown = views.sentences(analysis, {"a": article("a", outlet="AP")})
    assert [(s["known"], s["repeats"] and s["repeats"]["outlet"]) for s in shown] == \
        [(True, "AP"), (False, None), (True, None)]
    assert shown[0]["repeats"]["sentence_index"] == 3
    assert shown[1]["new_names"] == ["Rosa Kettering"]


def test_unrouted_articles_this_story_weighed_newest_first():
    events = [event("ArticleUnrouted", {"article": {"id": "1"}, "scores": {"s": 0.1}}),
              event("ArticleUnrouted", {"article": {"id": "2"}, "scores": {"other": 0.2}}),
              event("ArticleUnrouted", {"article": {"id": "3"}, "scores": {"s": 0.3}})]
    assert [(a["id"], a["score"]) for a in views.considered_unrouted(events, "s")] == \
        [("3", 0.3), ("1", 0.1)]


def test_outside_links_are_http_only_and_lists_one_a_line():
    assert href("https://a.example/x") == "https://a.example/x"
    assert href("JavaScript:alert(1)") == "#" and href("seed:000.txt") == "#"
    assert href(None) == "#"
    assert views.lines(" Brian Cogan \n\nGuzman, Joaquin\n") == ["Brian Cogan",
                                                                "Guzman, Joaquin"]
    assert views.query({"as_of": "2017-05-04", "known_at": None}) == "?as_of=2017-05-04"
    assert views.query({}) == ""
