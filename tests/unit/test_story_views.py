"""Pure parts of the story API: the view projection, cursors, ETags, change summaries."""

from datetime import UTC, date, datetime

import pytest

from services.story import paging
from services.story.projection import StoryView
from shared.eventstore import RecordedEvent

REF = {"id": "a1", "outlet": "Harbor Wire", "url": "https://x.example/a1", "title": "T",
       "published_at": "2017-05-04T20:00:00+00:00"}


def event(version: int, type_: str, data: dict) -> RecordedEvent:
    return RecordedEvent(position=version, stream_id="story:s", version=version,
                         event_id=f"e{version}", type=type_, schema_version=1, data=data,
                         metadata={}, recorded_at=datetime(2017, 5, 4, tzinfo=UTC))


def story_events() -> list[RecordedEvent]:
    second = dict(REF, id="a2", outlet="Metro Ledger")
    development = {"id": "d1", "type": "ruling", "outcome": "denied", "date": "2017-05-04",
                   "evidence": "A judge declined.", "summary": "Ruling denied"}
    return [
        event(1, "StoryDefined", {"slug": "s", "title": "S", "entities": ["X"],
                                  "status": "active"}),
        event(2, "ArticleAttached", {"article": {**REF, "body": "b"}}),
        event(3, "ArticleAnalyzed", {"analysis": {"article_id": "a1", "duplicate_of": None,
                                                  "sentences": [
            {"text": "One.", "index": 0, "known": False, "match": None},
            {"text": "Two.", "index": 1, "known": False, "match": None}]}}),
        event(4, "DevelopmentDetected", {"development": development, "article": REF}),
        event(5, "MatterStatusChanged", {"matter_id": "m", "title": "the request",
                                         "from_status": None, "to_status": "denied",
                                         "date": "2017-05-04", "article": REF}),
        event(6, "ArticleAttached", {"article": {**second, "body": "b"}}),
        event(7, "ArticleAnalyzed", {"analysis": {"article_id": "a2", "duplicate_of": "a1",
                                                  "sentences": [
            {"text": "One.", "index": 0, "known": True,
             "match": {"article_id": "a1", "sentence_index": 0, "score": 100.0}}]}}),
        event(8, "DevelopmentCorroborated", {"development_id": "d1", "article": second}),
        event(9, "ConflictFlagged", {"attribute": "jail", "values": [{"value": "A"},
                                                                     {"value": "B"}]}),
        event(10, "StoryArchived", {"story": "s"}),
    ]


def test_view_applies_every_event_kind():
    view = StoryView("s")
    for e in story_events():
        view.apply(e)
    summary = view.summary()
    assert summary["status"] == "archived" and summary["version"] == 10
    assert summary["counts"] == {"articles": 2, "copies": 1, "developments": 1, "facts": 2,
                                 "matters": 1, "conflicts": 1}
    assert summary["latest_developments"][0]["corroborations"][0]["outlet"] == "Metro Ledger"
    assert summary["facts"] == [{"id": "a1#0", "text": "One.", "sources": 2,
                                 "outlets": ["Harbor Wire", "Metro Ledger"]}]
    assert summary["open_matters"] == []  # denied is closed
    assert view.matters["m"]["history"][0]["status"] == "denied"


def test_view_round_trips_and_refuses_gaps():
    view = StoryView("s")
    for e in story_events()[:6]:
        view.apply(e)
    copy = StoryView.from_dict(view.to_dict())
    assert copy.summary() == view.summary()
    with pytest.raises(ValueError):
        copy.apply(story_events()[8])  # version 9 after 6


def test_memoized_renderings_follow_new_events():
    view = StoryView("s")
    events = story_events()
    for e in events[:4]:
        view.apply(e)
    before = view.summary()
    view.apply(events[4])
    assert view.summary() is not before and view.summary()["counts"]["matters"] == 1


def test_cursor_round_trip_and_rejects_garbage():
    cursor = paging.encode_cursor(12, 50)
    assert paging.decode_cursor(cursor) == (12, 50)
    for bad in ("garbage", paging.encode_cursor(0, 1), "eyJ2IjoxfQ"):
        with pytest.raises(paging.BadCursor):
            paging.decode_cursor(bad)


def test_page_slices_and_links_the_next_page():
    items = list(range(5))
    first = paging.page(items, 7, 0, 2)
    assert first["items"] == [0, 1] and first["total"] == 5
    assert paging.decode_cursor(first["next_cursor"]) == (7, 2)
    last = paging.page(items, 7, 4, 2)
    assert last["items"] == [4] and last["next_cursor"] is None


def test_etags_differ_by_version_and_variant_and_match_lists():
    tag = paging.etag("s", 3, "/v1/stories/s")
    assert tag != paging.etag("s", 4, "/v1/stories/s")
    assert tag != paging.etag("s", 3, "/v1/stories/s/timeline")
    assert paging.etag_matches(f'"x", {tag}', tag)
    assert paging.etag_matches("*", tag) and not paging.etag_matches(None, tag)


def test_changes_summarize_events():
    raw = [e.to_dict() for e in story_events()[1:]]
    changes = paging.changes(raw, 1, 10)
    summary = changes["summary"]
    assert [a["id"] for a in summary["articles"]] == ["a1", "a2"]
    assert [d["id"] for d in summary["new_developments"]] == ["d1"]
    assert [f["text"] for f in summary["new_facts"]] == ["One.", "Two."]
    assert summary["matter_changes"][0]["to_status"] == "denied"
    assert summary["corroborations"] == 1 and summary["definition_changed"]
    assert changes["text"][0] == ("2 new article(s), 1 new development(s), 2 new fact(s), "
                                  "1 corroboration(s).")
    assert any("Sources disagree on jail" in line for line in changes["text"])


def test_a_news_date_leaves_out_later_articles_and_later_dated_developments():
    from services.story.projection import news_view
    events = story_events()
    # the second article was published a day later; the ruling is dated the day after that
    later = dict(REF, id="a2", outlet="Metro Ledger", published_at="2017-05-05T20:00:00+00:00")
    events[5] = event(6, "ArticleAttached", {"article": {**later, "body": "b"}})
    events[3].data["development"]["date"] = "2017-05-06"

    def counts(news_date):
        view = news_view("s", events, news_date)
        assert view.version == 10
        return view.summary()["counts"]

    assert counts(datetime(2017, 5, 4, 19, tzinfo=UTC))["articles"] == 0
    on_the_4th = counts(datetime(2017, 5, 4, 20, tzinfo=UTC))
    assert (on_the_4th["articles"], on_the_4th["developments"], on_the_4th["matters"]) == \
        (1, 0, 1)
    assert counts(date(2017, 5, 5))["articles"] == 2
    assert counts(date(2017, 5, 6))["developments"] == 1
    assert news_view("s", events, date(2017, 5, 4)).facts() == []
    assert news_view("s", events, date(2017, 5, 5)).corroborations == {}   # of a later ruling
    assert news_view("s", events, date(2017, 5, 6)).corroborations["d1"]


def test_a_news_date_leaves_out_what_a_later_article_reported_and_its_corroborations():
    from services.story.projection import news_view
    events = story_events()
    # the first article to arrive was published after the second, which corroborates it
    later = dict(REF, published_at="2017-05-06T20:00:00+00:00")
    events[1] = event(2, "ArticleAttached", {"article": {**later, "body": "b"}})
    view = news_view("s", events, date(2017, 5, 5))
    assert list(view.articles) == ["a2"]
    assert (view.developments, view.corroborations, view.matters) == ([], {}, {})
    assert view.facts() == []                  # one outlet has told it by then
    assert news_view("s", events, date(2017, 5, 6)).corroborations["d1"]
