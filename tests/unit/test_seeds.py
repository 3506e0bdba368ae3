"""The three seed articles of the "Guzman detention conditions" story, read from the shared
seeds folder next to the repository (never copied into it)."""

from pathlib import Path

import pytest

from services.story.analysis import Article, StoryDefinition, StoryKnowledge, run_offline

SEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "seeds"

pytestmark = pytest.mark.skipif(
    not SEEDS.is_dir(), reason=f"seed articles not found at {SEEDS} (they live outside the repo)")

STORY = StoryDefinition(
    slug="guzman-detention",
    title="Guzman detention conditions",
    description=("The 2017 court fight over Joaquin \"El Chapo\" Guzman's solitary confinement "
                 "in a Manhattan federal jail."),
    entities=("Joaquin Guzman", "El Chapo", "Brian Cogan", "Metropolitan Correctional Center",
              "Amnesty International"),
    keywords=("solitary confinement", "jail", "detention", "conditions", "Amnesty", "visit"),
)

# publish dates and outlets from the seeds README
SEED_ARTICLES = {
    "000": ("Newsday", "2017-04-05T22:00:00Z"),
    "001": ("Associated Press", "2017-04-06T01:00:00Z"),
    "002": ("Courthouse News Service", "2017-05-04T20:00:00Z"),
}


def _articles() -> list[Article]:
    articles = []
    for prefix, (outlet, published) in SEED_ARTICLES.items():
        (path,) = SEEDS.glob(f"{prefix}_*.txt")
        articles.append(Article(id=prefix, outlet=outlet, url=f"seed:{path.name}", title="",
                                published_at=published, body=path.read_text(encoding="utf-8")))
    return articles


@pytest.fixture(scope="module")
def analyses():
    return {a.article_id: a for a in run_offline(STORY, _articles())}


def test_all_three_are_on_the_story(analyses):
    assert all(a.on_story for a in analyses.values())


def test_first_article_is_new_with_a_filing_and_a_statement(analyses):
    first = analyses["000"]
    assert first.duplicate_of is None
    assert all(not s.known for s in first.sentences)
    assert sorted(d.type for d in first.developments) == ["filing", "statement"]
    filing = next(d for d in first.developments if d.type == "filing")
    assert "letter" in filing.evidence and "Cogan" in filing.evidence
    statement = next(d for d in first.developments if d.type == "statement")
    assert statement.evidence.startswith("Amnesty International has asked")


def test_boilerplate_is_not_analysed(analyses):
    texts = [s.text for s in analyses["000"].sentences]
    assert not any("Credit:" in t or t == "Latest video" or t.endswith('"El Chapo"...')
                   for t in texts)


def test_second_article_copies_the_first_and_adds_the_lawyers_and_the_request(analyses):
    second = analyses["001"]
    assert second.duplicate_of == "000" and not second.exact_repeat
    assert second.aligned_fraction >= 0.5
    new = second.new_sentences
    assert any("Gelernt" in s and "Schneider" in s for s in new)
    assert any(s.startswith("They asked Cogan") for s in new)
    assert len(new) < len(second.sentences) / 2
    (filing,) = second.developments
    assert filing.type == "filing" and "general population" in filing.evidence
    lawyers = next(s for s in second.sentences if "Gelernt" in s.text)
    assert {"Michelle Gelernt", "Michael Schneider"} <= set(lawyers.new_names)
    # the defense letter and Amnesty's request were reported again: corroborated, not new
    first_ids = {d.id for d in analyses["000"].developments}
    assert {c.development_id for c in second.corroborations} == first_ids


def test_third_article_has_two_denials_and_a_scheduled_hearing(analyses):
    third = analyses["002"]
    assert third.duplicate_of is None
    found = sorted((d.type, d.outcome, d.date) for d in third.developments)
    assert found == [("hearing", "scheduled", "2017-05-05"),
                     ("ruling", "denied", "2017-05-04"),
                     ("ruling", "denied", "2017-05-04")]
    rulings = [d for d in third.developments if d.type == "ruling"]
    assert {d.matter_id for d in rulings} == {"general-population-request", "visit-request"}
    assert all("Brian Cogan" in d.actors for d in rulings)
    hearing = next(d for d in third.developments if d.type == "hearing")
    assert hearing.matter_id == "disqualification-motion"
    assert "disqualify" in hearing.evidence


def test_background_in_the_third_article_is_not_news(analyses):
    for dev in analyses["002"].developments:
        text = dev.evidence.lower()
        assert "tunnel" not in text and "escape" not in text.replace("escapes from", "")
        assert "melendez" not in text
    assert not any("jailbreak" in d.evidence or "vowed" in d.evidence
                   for d in analyses["002"].developments)


def test_jail_name_conflict(analyses):
    (conflict,) = analyses["002"].conflicts
    values = {(v.value, v.article_id) for v in conflict.values}
    assert ("Metropolitan Detention Center", "002") in values
    assert any(v == "Metropolitan Correctional Center" and a in ("000", "001")
               for v, a in values)


def test_matter_history_across_the_seeds():
    knowledge = StoryKnowledge(STORY)
    from services.story.analysis import analyze
    for article in sorted(_articles(), key=lambda a: a.published_at):
        knowledge.learn(article, analyze(knowledge, article))
    matters = {m.id: m for m in knowledge.matters}
    general_population = matters["general-population-request"]
    assert [h.status for h in general_population.history] == ["requested", "denied"]
    assert general_population.history[-1].date == "2017-05-04"
    visit = matters["visit-request"]
    assert [h.status for h in visit.history] == ["requested", "denied"]
    disqualification = matters["disqualification-motion"]
    assert (disqualification.status, disqualification.history[-1].date) == \
        ("hearing scheduled", "2017-05-05")


def test_development_ids_are_each_story_own(analyses):
    """Two stories taking the same articles record the same developments under ids of their
    own; within a story a re-report keeps pointing at the first id."""
    from dataclasses import replace
    other = {a.article_id: a for a in run_offline(replace(STORY, slug="guzman-jail"),
                                                  _articles())}
    for article_id, analysis in analyses.items():
        ours = [(d.type, d.outcome, d.date) for d in analysis.developments]
        assert ours == [(d.type, d.outcome, d.date) for d in other[article_id].developments]
        assert not {d.id for d in analysis.developments} & \
            {d.id for d in other[article_id].developments}
    first_ids = {d.id for d in other["000"].developments}
    assert {c.development_id for c in other["001"].corroborations} == first_ids
    changes = [c.development_id for c in other["002"].matter_changes]
    assert set(changes) <= {d.id for d in other["002"].developments}
