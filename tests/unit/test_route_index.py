"""The routing index: stories added, edited and archived; nicknames; copies of an article a
story holds, whatever their headline; and parity with routing every article to every story
over all the labelled corpora at once."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.story.analysis import (
    Article,
    StoryDefinition,
    StoryIndex,
    StoryKnowledge,
    analyze,
    route,
    takes,
)
from services.story.analysis.corpus import load_corpus

TESTS = Path(__file__).resolve().parents[1]
WHEN = datetime(2021, 3, 11, 18, 0, tzinfo=UTC)

RUIZ = StoryDefinition(
    slug="ruiz-case", title="Ruiz detention fight",
    description="The court fight over Hector Ruiz's pretrial detention in a federal jail.",
    entities=("Hector Ruiz", "Dana Whitfield", "Central Detention Center"),
    keywords=("detention", "jail", "bail", "judge", "hearing"))
GUZMAN = StoryDefinition(
    slug="guzman", title="Guzman detention conditions",
    description='Joaquin "El Chapo" Guzman\'s fight over his solitary confinement.',
    entities=("Joaquin Guzman", "El Chapo", "Brian Cogan"),
    keywords=("solitary confinement", "detention", "conditions"))
OKAFOR = StoryDefinition(
    slug="okafor", title="Okafor fraud trial",
    description="The fraud trial of Adaeze Okafor.",
    entities=("Adaeze Okafor", "Lagos Growth Fund"), keywords=("fraud", "trial"))


def article(id_: str, title: str, body: str) -> Article:
    return Article(id=id_, outlet="Wire", url=f"https://example.org/{id_}", title=title,
                   published_at=WHEN, body=body)


RUIZ_DENIED = article(
    "a1", "Judge denies Ruiz bail",
    "A federal judge on Thursday denied bail for Hector Ruiz, who has been held at the Central "
    "Detention Center since March.\n\nRuiz's lawyer, Dana Whitfield, said she would appeal the "
    "detention order.\n\nThe judge said Ruiz posed a flight risk and set a hearing for May.")
ABOUT_NOBODY = article(
    "a2", "City council approves budget",
    "The city council approved next year's budget on Thursday after a long debate over "
    "road repairs.\n\nThe mayor said the vote was a relief.")
CHAPO_ONLY = article(
    "a3", "El Chapo's lawyers fight jail rules",
    "Lawyers for El Chapo asked a judge on Thursday to ease the solitary confinement of the "
    "drug lord.\n\nThe conditions of his detention are harsh, they wrote.")


def index_of(*stories: StoryDefinition) -> StoryIndex:
    index = StoryIndex()
    for story in stories:
        index.put(story)
    return index


def test_an_article_is_a_candidate_of_the_stories_whose_subject_it_names():
    index = index_of(RUIZ, GUZMAN, OKAFOR)
    assert len(index) == 3 and "ruiz-case" in index
    assert index.candidates(RUIZ_DENIED) == {"ruiz-case"}
    assert route(RUIZ, RUIZ_DENIED).on_story
    assert index.candidates(ABOUT_NOBODY) == set()
    # the judge or the jail alone is no subject: a story holding no articles cannot take it
    judge = article("a4", "Judge Cogan rules on jail", "Judge Brian Cogan ruled on Thursday "
                    "that the detention conditions at the jail were lawful in another case.")
    assert not route(GUZMAN, judge).on_story and index.candidates(judge) == set()


def test_a_nickname_makes_the_story_a_candidate():
    index = index_of(RUIZ, GUZMAN, OKAFOR)
    assert route(GUZMAN, CHAPO_ONLY).on_story
    assert index.candidates(CHAPO_ONLY) == {"guzman"}
    # every word of a variant is needed: "Chapo" alone in another sense is no "El Chapo"
    hat = article("a5", "Hat makers", "A chapo is a hat, the shop owner said of the Ruizes.")
    assert "guzman" not in index.candidates(hat)


def test_an_edited_story_is_found_by_its_new_subject_only():
    index = index_of(RUIZ, OKAFOR)
    renamed = StoryDefinition(slug="okafor", title="Mbeki fraud trial",
                              description="The fraud trial of Thandiwe Mbeki.",
                              entities=("Thandiwe Mbeki",), keywords=("fraud", "trial"))
    okafor_news = article("a6", "Okafor convicted of fraud",
                          "Adaeze Okafor was convicted of fraud on Thursday after a six-week "
                          "trial.\n\nOkafor will be sentenced in June.")
    mbeki_news = article("a7", "Mbeki convicted of fraud",
                         "Thandiwe Mbeki was convicted of fraud on Thursday after a six-week "
                         "trial.\n\nMbeki will be sentenced in June.")
    assert index.candidates(okafor_news) == {"okafor"}
    index.put(renamed)
    assert len(index) == 2
    assert index.candidates(okafor_news) == set() and not route(renamed, okafor_news).on_story
    assert index.candidates(mbeki_news) == {"okafor"} and route(renamed, mbeki_news).on_story


def test_an_archived_story_is_no_candidate_and_can_come_back():
    index = index_of(RUIZ, GUZMAN)
    index.add_articles("ruiz-case", [RUIZ_DENIED.content_hash])
    index.remove("ruiz-case")
    assert "ruiz-case" not in index and index.candidates(RUIZ_DENIED) == set()
    index.remove("ruiz-case")     # archiving twice changes nothing
    index.put(RUIZ)
    assert index.candidates(RUIZ_DENIED) == {"ruiz-case"}


def test_a_story_without_a_subject_is_always_a_candidate():
    topical = StoryDefinition(slug="budget", title="City budget", keywords=("budget", "council"))
    index = index_of(RUIZ, topical)
    assert index.candidates(ABOUT_NOBODY) == {"budget"} and route(topical, ABOUT_NOBODY).on_story
    assert "budget" in index.candidates(RUIZ_DENIED)


def _holding(story: StoryDefinition, *articles: Article) -> StoryKnowledge:
    knowledge = StoryKnowledge(story)
    for held in articles:
        analysis = analyze(knowledge, held)
        assert analysis.on_story
        knowledge.learn(held, analysis)
    return knowledge


def test_an_exact_copy_of_a_held_article_is_a_candidate_whatever_its_headline():
    # named in the headline only, so the copy under another headline names no subject
    original = article("b1", "Ruiz denied bail",
                       "A federal judge denied bail on Thursday at a detention hearing, "
                       "saying the jail could hold the defendant safely.\n\nThe judge said "
                       "the bail request came too late.")
    copy = article("b2", "Court roundup", original.body)
    knowledge = _holding(RUIZ, original)
    assert not route(RUIZ, copy).on_story and takes(knowledge, copy)
    index = index_of(RUIZ, GUZMAN)
    assert index.candidates(copy) == set()
    index.add_articles("ruiz-case", [original.content_hash])
    assert index.candidates(copy) == {"ruiz-case"}
    assert index.may_take("ruiz-case", copy, holds_articles=True, holds_copy=True)
    assert not index.may_take("ruiz-case", copy, holds_articles=False, holds_copy=False)


def test_a_re_edited_copy_of_a_held_article_is_a_candidate_through_the_story_topic():
    original = article("c1", "Ruiz denied bail",
                       "A federal judge denied bail on Thursday at a detention hearing in the "
                       "courthouse downtown.\n\nThe judge said the defendant posed a flight risk "
                       "and could flee abroad.\n\nProsecutors said the jail had room for him "
                       "until the trial.\n\nThe defense said it would appeal the ruling soon.")
    edited = article("c2", "Court roundup: no release",
                     original.body.replace("downtown", "in the city center")
                     + "\n\nThe next session is set for May.")
    knowledge = _holding(RUIZ, original)
    assert not route(RUIZ, edited).on_story and takes(knowledge, edited)
    index = index_of(RUIZ, GUZMAN)
    assert index.candidates(edited) == set()        # the story holds no article yet
    index.add_articles("ruiz-case", [original.content_hash])
    assert index.candidates(edited) == set()        # nor any of its sentences
    index.add_articles("ruiz-case", [], [fact.text for fact in knowledge.facts])
    assert index.candidates(edited) == {"ruiz-case"}
    assert index.may_take("ruiz-case", edited, holds_articles=True, holds_copy=False)


def _corpora() -> tuple[dict[str, StoryKnowledge], list[Article]]:
    """Every story of every corpus under tests/, at once, and all their articles by date."""
    stories: dict[str, StoryKnowledge] = {}
    articles: list[Article] = []
    roots = sorted({path.parent.parent for path in TESTS.glob("*/*/story.json")})
    for root in roots:
        for corpus_story in load_corpus(root):
            slug = corpus_story.slug
            if slug in stories:
                slug = f"{root.name}-{slug}"
            stories[slug] = StoryKnowledge(
                StoryDefinition.from_dict({"slug": slug, **corpus_story.story}))
            articles += [Article.from_dict(a) for a in corpus_story.articles]
    articles.sort(key=lambda a: (a.published_at, a.id))
    return stories, articles


@pytest.mark.timeout(3600)     # minutes: every article of every corpus against every story
def test_indexed_routing_gives_the_answers_of_routing_to_every_story_over_all_corpora():
    """Every corpus's stories active at once; each article in publish order is routed to
    every story and through the index, then learned by the stories that take it (so copies
    of held articles are routed as they are in service)."""
    stories, articles = _corpora()
    assert len(stories) >= 90 and len(articles) >= 1400
    index = index_of(*(k.story for k in stories.values()))
    pruned = routed = 0
    for item in articles:
        everywhere = {slug for slug, knowledge in stories.items() if takes(knowledge, item)}
        candidates = index.candidates(item)
        # routed through the index, an article reaches the stories among its candidates that
        # take it: the same stories as routing it everywhere, when no story that takes it is
        # left out of its candidates (`takes` reads nothing but the story and the article)
        assert everywhere <= candidates, (item.id, everywhere - candidates)
        for slug in everywhere:
            knowledge = stories[slug]
            assert index.may_take(slug, item, bool(knowledge.articles),
                                  knowledge.article_with_hash(item.content_hash) is not None)
            analysis = analyze(knowledge, item)
            knowledge.learn(item, analysis)
            index.add_articles(slug, [analysis.content_hash],
                               [v.text for v in analysis.sentences])
        pruned += len(stories) - len(candidates)
        routed += len(everywhere)
    assert routed >= len(articles) * 0.9      # nearly every corpus article is on its story
    assert pruned > len(stories) * len(articles) / 3  # and the index prunes a good share
