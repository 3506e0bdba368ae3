"""The story service routes through its index of the active stories, on SQLite and
PostgreSQL: stories defined, edited and archived through the service; a copy of an article
a story holds; a new service (its index built from the store) answering the same."""

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from services.story import events as ev
from services.story.analysis import Article
from services.story.service import StoryService
from shared.db import get_engine
from shared.eventstore import EventStore
from shared.migrate import upgrade

RUIZ = {"slug": "ruiz-case", "title": "Ruiz detention fight",
        "description": "The court fight over Hector Ruiz's pretrial detention.",
        "entities": ["Hector Ruiz", "Dana Whitfield", "Central Detention Center"],
        "keywords": ["detention", "jail", "bail", "judge", "hearing"]}
OKAFOR = {"slug": "okafor", "title": "Okafor fraud trial",
          "description": "The fraud trial of Adaeze Okafor.", "entities": ["Adaeze Okafor"],
          "keywords": ["fraud", "trial"]}


def article(id_: str, title: str, body: str) -> Article:
    return Article(id=id_, outlet="Wire", url=f"https://example.org/{id_}", title=title,
                   published_at=datetime(2021, 3, 11, 18, tzinfo=UTC), body=body)


@pytest.fixture
def store(db_url):
    engine = get_engine(db_url)
    upgrade("story", engine)
    return EventStore(engine)


OKAFOR_NEWS = article("n1", "Okafor convicted of fraud",
                      "Adaeze Okafor was convicted of fraud on Thursday after a six-week "
                      "trial.\n\nOkafor will be sentenced in June, prosecutors said.")
MBEKI_NEWS = article("n2", "Mbeki convicted of fraud",
                     "Thandiwe Mbeki was convicted of fraud on Thursday after a six-week "
                     "trial.\n\nMbeki will be sentenced in June, prosecutors said.")
RUIZ_NEWS = article("n3", "Ruiz denied bail",
                    "A federal judge denied bail on Thursday at a detention hearing, saying "
                    "the jail could hold the defendant safely.\n\nThe judge said the bail "
                    "request came too late.")
RUIZ_COPY = replace(RUIZ_NEWS, id="n4", title="Court roundup")
ABOUT_NOBODY = article("n0", "City council approves budget",
                       "The city council approved next year's budget on Thursday.")
RUIZ_LATER = article("n5", "Ruiz moved to another jail",
                     "Hector Ruiz was moved on Friday from the Central Detention Center to a "
                     "jail upstate, his lawyer Dana Whitfield said.\n\nThe judge had denied "
                     "his bail request.")


def test_the_service_routes_through_its_index_as_stories_change(store):
    service = StoryService(store)
    for story in (RUIZ, OKAFOR):
        service.define_story(story)
    first = service.attach_articles([(RUIZ_NEWS, None), (RUIZ_COPY, None),
                                     (OKAFOR_NEWS, None), (ABOUT_NOBODY, None)])
    # the copy names no one, and is on the story that holds its original (the batch before it)
    assert [r.stories for r in first] == [["ruiz-case"], ["ruiz-case"], ["okafor"], []]
    unrouted = store.read_stream(ev.UNROUTED_STREAM)
    assert [e.data["article"]["id"] for e in unrouted] == [ABOUT_NOBODY.id]
    assert unrouted[0].data["scores"] == {}   # no story could take it: none was scored

    service.define_story({**OKAFOR, "title": "Mbeki fraud trial",
                          "description": "The fraud trial of Thandiwe Mbeki.",
                          "entities": ["Thandiwe Mbeki"]})
    service.archive_story("ruiz-case")
    okafor_appeal = article("n6", "Okafor appeals", "Adaeze Okafor appealed her fraud "
                            "conviction on Monday, her lawyers said in a filing.")
    later = [okafor_appeal, MBEKI_NEWS, RUIZ_LATER]
    expected = [[], ["okafor"], []]
    assert [r.stories for r in service.attach_articles([(a, None) for a in later])] == expected

    again = StoryService(store)      # its index built from the stored events
    copy = replace(RUIZ_COPY, id="n7")
    assert [r.stories for r in again.attach_articles(
        [(replace(MBEKI_NEWS, id="n8"), None), (copy, None)])] == [["okafor"], []]
