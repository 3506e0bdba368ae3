"""Unit tests of the pure analysis engine: dates, sentences, routing, developments, matters,
conflicts, serialisation and rebuilding knowledge from stored analyses.

The engine runs here with the phrasings deciding (`RuleDecider`), so that these tests pin the
candidates and the logic around the decision; the learned decision is measured on the corpora
(`storywire eval`) and its plumbing is tested in test_judgment.py."""

import json
from datetime import UTC, date, datetime
from functools import partial

import pytest

from services.story.analysis import (
    Analysis,
    Article,
    StoryDefinition,
    StoryKnowledge,
    analyze,
    content_hash,
    route,
    run_offline,
    split_sentences,
)
from services.story.analysis.dates import dates_in, find_date_spans, tense_at
from services.story.analysis.decision import RuleDecider
from services.story.analysis.developments import article_context, find_developments
from services.story.analysis.text import article_sentences, strip_dateline

STORY = StoryDefinition(
    slug="ruiz-case", title="Ruiz detention fight",
    description="The court fight over Hector Ruiz's pretrial detention in a federal jail.",
    entities=("Hector Ruiz", "Dana Whitfield", "Central Detention Center"),
    keywords=("detention", "jail", "bail", "judge", "hearing"))

THURSDAY = datetime(2021, 3, 11, 18, 0, tzinfo=UTC)     # a Thursday

analyze = partial(analyze, decider=RuleDecider())
run_offline = partial(run_offline, decider=RuleDecider())


def article(id_, body, outlet="Daily Ledger", published=THURSDAY, title=""):
    return Article(id=id_, outlet=outlet, url=f"https://example.test/{id_}", title=title,
                   published_at=published, body=body)


def developments_of(sentence, published=None, context=()):
    published = published or THURSDAY.date()
    ctx = article_context([*context, sentence], published)
    previous = context[-1] if context else None
    return [f for f in find_developments(sentence, len(context), ctx, previous)
            if not f.background]


# -- dates ----------------------------------------------------------------------------------------

def resolved(sentence, published=None):
    published = published or THURSDAY.date()
    return [(span.text, value.value) for span, value in dates_in(sentence, published)]


def test_last_night_and_last_evening_are_the_day_before():
    assert resolved("Police arrested her last evening at her flat.") == \
        [("last evening", "2021-03-10")]
    assert resolved("He was detained last night.") == [("last night", "2021-03-10")]


def test_date_spans_ignore_durations_and_the_verb_may():
    sentence = ("He is held 23 hours a day under 24-hour watch, and guards may search him "
                "at any time.")
    assert find_date_spans(sentence) == []


def test_weekday_in_past_tense_is_the_latest_such_day_on_or_before_publication():
    assert resolved("A judge declined Thursday to release him.") == [("Thursday", "2021-03-11")]
    assert resolved("The judge ruled Monday.") == [("Monday", "2021-03-08")]


def test_weekday_in_future_tense_is_the_next_such_day():
    assert resolved("On Friday, the court will hold a hearing.") == [("Friday", "2021-03-12")]
    assert resolved("The judge said she would rule Tuesday.") == [("Tuesday", "2021-03-16")]


def test_absolute_dates_take_their_year_from_the_publish_date():
    assert resolved("He wrote in a March 2 letter to prosecutors.") == [("March 2", "2021-03-02")]
    assert resolved("The trial is set for May 5, 2022.") == [("May 5, 2022", "2022-05-05")]
    assert resolved("He was arrested on Dec. 20.",
                    date(2021, 1, 6)) == [("Dec. 20", "2020-12-20")]
    assert resolved("Sentencing is scheduled for Jan. 10.",
                    date(2020, 12, 20)) == [("Jan. 10", "2021-01-10")]


def test_month_only_keeps_month_granularity_and_relative_spans_resolve():
    assert resolved("He was extradited in January.") == [("in January", "2021-01")]
    assert resolved("Sentencing is scheduled for June.") == [("for June", "2021-06")]
    assert resolved("The hearing was moved to next week.") == [("next week", None)]
    assert resolved("He escaped two years ago.") == [("two years ago", "2019")]
    assert resolved("He was convicted last year.") == [("last year", "2020")]


def test_a_day_of_the_month_alone_resolves_in_the_publish_month_or_beside_it():
    # translated copy dates by the day alone: "on the 4th", told on the 5th
    assert resolved("Prosecutors on the 4th arrested the former president.",
                    date(2025, 2, 5)) == [("on the 4th", "2025-02-04")]
    assert resolved("The court on the 28th extended his detention.",
                    date(2025, 3, 2)) == [("on the 28th", "2025-02-28")]
    assert resolved("His detention now runs until the 25th.",
                    date(2025, 2, 16)) == [("until the 25th", "2025-02-25")]
    assert resolved("It will come up for hearing on the 3rd of next month.",
                    date(2025, 2, 16)) == [("on the 3rd of next month", "2025-03-03")]
    for sentence in ("He was arrested on the 4th floor.", "By the 20th century it was a jail.",
                     "The case went to the 22nd Criminal Division."):
        assert resolved(sentence, date(2025, 2, 5)) == []


def test_tense_comes_from_the_nearest_verb():
    sentence = "The judge said he would rule Friday."
    assert tense_at(sentence, sentence.index("Friday")) == "future"
    sentence = "The judge declined Friday to rule."
    assert tense_at(sentence, sentence.index("Friday")) == "past"


# -- text -----------------------------------------------------------------------------------------

def test_split_sentences_keeps_abbreviations_and_spaced_ellipses_together():
    body = ("He was brought to the U.S. in January. He is held in N.Y. now.\n\n"
            "\"There is evidence . . . that isolation harms,\" she wrote. The end.")
    assert split_sentences(body) == [
        "He was brought to the U.S. in January.", "He is held in N.Y. now.",
        "\"There is evidence . . . that isolation harms,\" she wrote.", "The end."]


def test_datelines_are_stripped():
    assert strip_dateline("date 2021-03-11 BROOKLYN, N.Y. (CN) \u2014 A judge ruled.") \
        == "A judge ruled."
    assert strip_dateline("WASHINGTON (AP) \u2014 The court agreed.") == "The court agreed."
    assert strip_dateline("MEXICO CITY \u2014 Officials said.") == "Officials said."
    assert strip_dateline("Hector Ruiz \u2014 who denies it \u2014 spoke.") \
        == "Hector Ruiz \u2014 who denies it \u2014 spoke."


def test_page_furniture_is_not_reporting():
    body = ("Judge keeps Ruiz in jail...\n\n"
            "Judge keeps Ruiz in jail while he awaits trial. Credit: AP / Jane Doe\n\n"
            "A federal judge on Thursday refused to release Hector Ruiz.\n\n"
            "Latest video")
    assert article_sentences(body) == ["A federal judge on Thursday refused to release "
                                       "Hector Ruiz."]


def test_content_hash_ignores_quotes_dashes_case_and_spacing():
    assert content_hash("\u201cHe said\u201d \u2014 no.\n\n Done") == \
        content_hash('"he said" - NO. done')


# -- routing --------------------------------------------------------------------------------------

def test_routes_on_anchor_entity_with_name_variants():
    body = ("Héctor Ruíz Ortega, held at the Central Detention Center, asked a judge for bail. "
            "Ruiz says the jail is unsafe. His hearing is next week.")
    decision = route(STORY, article("a", body))
    assert decision.on_story
    assert "Hector Ruiz" in decision.matched


def test_shared_city_court_and_judge_do_not_route():
    body = ("A man held at the Central Detention Center asked Judge Dana Whitfield for bail "
            "on Thursday. The judge set a hearing on his detention. The jail has been "
            "criticized for its conditions.")
    decision = route(STORY, article("b", body))
    assert not decision.on_story


def test_unrelated_article_does_not_route():
    body = "The city council approved a new budget for parks and libraries on Tuesday."
    assert not route(STORY, article("c", body)).on_story


# -- developments ---------------------------------------------------------------------------------

@pytest.mark.parametrize("sentence, outcome", [
    ("Judge Dana Whitfield denied the request for bail on Thursday.", "denied"),
    ("A federal judge shot down the bid for bail on Thursday.", "denied"),
    ("The judge rejected Ruiz's request to be released on bail.", "denied"),
    ("The judge turned down the defense's request for bail.", "denied"),
    ("A judge refused to release Ruiz on bail Thursday.", "denied"),
    ("The judge threw out the defense motion for bail.", "denied"),
    ("The judge dismissed the request for bail as premature.", "denied"),
    ("Judge Whitfield agreed to release Ruiz on bail.", "granted"),
    ("The judge allowed Ruiz to post bail on Thursday.", "granted"),
    ("The judge sided with the defense and set bail at $1 million.", "granted"),
    ("The judge granted the request for bail in part and denied it in part.", "mixed"),
])
def test_ruling_phrasings(sentence, outcome):
    found = developments_of(sentence)
    rulings = [f for f in found if f.type == "ruling"]
    assert rulings, found
    assert rulings[0].outcome == outcome
    assert rulings[0].matter.id == "bail-request"


def test_ruling_date_and_summary():
    (ruling,) = developments_of("Judge Dana Whitfield shot down the bid for bail on Thursday.")
    assert ruling.date == "2021-03-11"
    assert ruling.summary.startswith("Judge Dana Whitfield denied the request for bail")
    assert "Dana Whitfield" in ruling.actors


def test_declining_to_comment_is_not_a_ruling():
    assert developments_of("A court spokesman declined to comment on Thursday.") == []
    assert developments_of("Ruiz denied the allegations in court on Thursday.") == []


def test_hearing_scheduled_held_postponed():
    (hearing,) = developments_of("On Friday, the court will hold a hearing on the motion to "
                                 "disqualify his lawyer.")
    assert (hearing.type, hearing.outcome, hearing.date) == ("hearing", "scheduled", "2021-03-12")
    assert hearing.matter.id == "disqualification-motion"
    (held,) = developments_of("The judge held a hearing on the bail request on Tuesday.")
    assert (held.outcome, held.date) == ("held", "2021-03-09")
    (postponed,) = developments_of("The bail hearing was postponed until next week.")
    assert postponed.outcome == "postponed"


def test_filing_verdict_sentence_charge_custody():
    assert [f.type for f in developments_of(
        "His lawyers asked Judge Dana Whitfield to release him on bail.")] == ["filing"]
    assert [f.type for f in developments_of(
        "Prosecutors filed a motion on Wednesday to disqualify his attorney.")] == ["filing"]
    verdict = developments_of("A jury found Ruiz guilty on Wednesday of all counts.")
    assert [(f.type, f.outcome) for f in verdict] == [("verdict", "guilty")]
    acquitted = developments_of("Jurors acquitted Ruiz of the weapons charge on Wednesday.")
    assert [(f.type, f.outcome) for f in acquitted] == [("verdict", "not_guilty")]
    assert [f.type for f in developments_of(
        "Ruiz was sentenced to 12 years in prison on Wednesday.")] == ["sentence"]
    assert [f.type for f in developments_of(
        "Ruiz was indicted on Wednesday on new money laundering charges.")] == ["charge"]
    assert [f.type for f in developments_of(
        "Ruiz was transferred to a jail in Virginia on Wednesday.")] == ["custody"]


@pytest.mark.parametrize("sentence", [
    "The judge had denied a similar request for bail in 2019.",
    "Ruiz, who twice escaped from prison, is held in isolation.",
    "He was convicted in 2015 of fraud.",
    "A judge denied him bail last year.",
    "Ruiz was extradited two years ago.",
    "He was arrested on Jan. 4 in Miami.",
])
def test_background_is_not_a_development(sentence):
    assert developments_of(sentence) == []


def test_quotes_are_not_read_as_events():
    assert developments_of("\"The motion is denied,\" Whitfield said, adding a note.") == []


def test_modals_are_not_events():
    assert developments_of("The judge could deny the request for bail on Friday.") == []


@pytest.mark.parametrize("sentence", [
    "Ruiz's lawyers said they would appeal.",
    "Ruiz has not filed an appeal, according to court records.",
    "No hearing date has been set.",
    "The company said in a statement Thursday that it was pleased with the decision.",
    "Ruiz's lawyer said he was disappointed by the ruling.",
    "The trial is expected to begin in June.",
])
def test_intentions_reactions_and_negations_are_not_developments(sentence):
    assert developments_of(sentence) == []


@pytest.mark.parametrize("sentence, outcome", [
    ("A state judge on Thursday struck down the planning board's approval of the tower.",
     "granted"),
    ("The judge dismissed the lawsuit on Thursday.", "granted"),
    ("The judge dismissed the request for bail on Thursday.", "denied"),
    ("A judge on Thursday threw out two of the counts but refused to dismiss the rest of the "
     "indictment.", "mixed"),
    ("The judge awarded the lawyers $2 million in fees on Thursday, less than the $3 million "
     "they had requested.", "mixed"),
])
def test_a_rulings_outcome_follows_its_object(sentence, outcome):
    (ruling,) = [f for f in developments_of(sentence) if f.type == "ruling"]
    assert ruling.outcome == outcome


def test_separate_requests_decided_together_are_separate_rulings():
    found = developments_of("The judge on Thursday turned down the request to end his solitary "
                            "confinement but agreed to let monitors visit the jail.")
    assert sorted((f.outcome, f.matter.id) for f in found) == [
        ("denied", "general-population-request"), ("granted", "visit-request")]


def test_a_pronoun_continues_the_judge_of_the_previous_sentence():
    context = ("U.S. District Judge Dana Whitfield heard arguments on Thursday.",)
    (ruling,) = developments_of("But she rejected a defense request to move him to another "
                                "jail.", context=context)
    assert (ruling.type, ruling.outcome) == ("ruling", "denied")


def test_ruling_at_a_hearing_is_a_held_hearing_and_a_ruling():
    found = developments_of("At a hearing Tuesday, Judge Dana Whitfield denied the request for "
                            "bail.")
    assert sorted((f.type, f.outcome, f.date) for f in found) == [
        ("hearing", "held", "2021-03-09"), ("ruling", "denied", "2021-03-09")]


def test_hearing_dates_postponed_to_the_new_date_cancelled_by_the_set_date():
    (moved,) = developments_of("The sentencing, which had been set for Friday, was postponed "
                               "to April 20.")
    assert (moved.outcome, moved.date) == ("postponed", "2021-04-20")
    (cancelled,) = developments_of("The judge on Wednesday canceled Friday's hearing.")
    assert (cancelled.outcome, cancelled.date) == ("cancelled", "2021-03-12")
    (scheduled,) = developments_of("Judge Whitfield set sentencing for June 4.")
    assert (scheduled.outcome, scheduled.date) == ("scheduled", "2021-06-04")


@pytest.mark.parametrize("sentence", [
    "City Council President Ana Birch called on Ruiz to resign on Wednesday.",
    "The Prisoners' Rights Coalition has asked to visit Ruiz in jail.",
    "In a statement Wednesday, the company said it would offer free credit monitoring to "
    "every customer.",
    "Ruiz resigned as chairman on Wednesday, the company said.",
])
def test_public_statements_and_requests_by_outsiders(sentence):
    assert [f.type for f in developments_of(sentence)] == ["statement"]


@pytest.mark.parametrize("sentence", [
    "Ruiz has pleaded not guilty.",
    "The ruling came a month after the appeals court rejected a similar challenge.",
    "The family has not heard from him since he was flown to New York.",
    "He had been due to be sentenced on March 4.",
])
def test_more_background(sentence):
    assert developments_of(sentence) == []


def test_arrest_on_a_charge_is_an_arrest_and_a_charge():
    found = developments_of("Hector Ruiz was booked into the county jail on Wednesday on a "
                            "charge of murder.")
    assert sorted(f.type for f in found) == ["charge", "custody"]


def test_a_participle_tells_the_outcome_of_ruled():
    (ruling,) = developments_of("Judge Dana Whitfield ruled Wednesday that the recordings can "
                                "be played at trial, rejecting a defense motion to exclude "
                                "them.")
    assert (ruling.type, ruling.outcome, ruling.date) == ("ruling", "denied", "2021-03-10")


def test_appeals_court_decisions_and_appeals_filed():
    (upheld,) = developments_of("A federal appeals court on Thursday upheld Ruiz's conviction.")
    assert (upheld.type, upheld.outcome) == ("appeal", "denied")
    (filed,) = developments_of("Ruiz's lawyers filed a notice of appeal on Wednesday.")
    assert (filed.type, filed.outcome, filed.date) == ("appeal", None, "2021-03-10")


# -- the engine over several articles -------------------------------------------------------------

FIRST = article("a1", (
    "Hector Ruiz's lawyers asked Judge Dana Whitfield on Wednesday to release him on bail. "
    "Ruiz is held at the Central Detention Center in Newark. "
    "He has been held there since his arrest, his lawyers said."),
    outlet="Daily Ledger", published=datetime(2021, 3, 4, 15, tzinfo=UTC))
SECOND = article("a2", (
    "A federal judge on Thursday refused to release Hector Ruiz on bail. "
    "Judge Dana Whitfield wrote that Ruiz poses a risk of flight. "
    "Ruiz, 41, is held at the Central Correctional Center in Newark. "
    "On Friday, the court will hold a hearing on the motion to disqualify his lawyer."),
    outlet="Metro Courier", published=THURSDAY)
THIRD = article("a3", (
    "Judge Dana Whitfield denied bail for Hector Ruiz on Thursday. "
    "Ruiz, 44, is held at the Central Detention Center. "
    "Prosecutors had argued that Ruiz twice fled the country."),
    outlet="Evening Post", published=datetime(2021, 3, 12, 9, tzinfo=UTC))


def test_development_reported_again_is_a_corroboration():
    first, second, third = run_offline(STORY, [THIRD, SECOND, FIRST])
    assert [d.type for d in first.developments] == ["filing"]
    assert [(d.type, d.outcome, d.date) for d in second.developments] == [
        ("ruling", "denied", "2021-03-11"), ("hearing", "scheduled", "2021-03-12")]
    assert third.developments == ()
    ruling = second.developments[0]
    assert [c.development_id for c in third.corroborations] == [ruling.id]
    assert third.corroborations[0].outlet == "Evening Post"


def test_matters_keep_a_status_history():
    knowledge = StoryKnowledge(STORY)
    for item in (FIRST, SECOND):
        knowledge.learn(item, analyze(knowledge, item))
    matters = {m.id: m for m in knowledge.matters}
    bail = matters["bail-request"]
    assert [h.status for h in bail.history] == ["requested", "denied"]
    assert bail.status == "denied"
    assert bail.history[1].date == "2021-03-11"
    hearing = matters["disqualification-motion"]
    assert (hearing.status, hearing.history[0].date) == ("hearing scheduled", "2021-03-12")


def test_conflicts_on_institution_names_and_ages():
    first, second, third = run_offline(STORY, [FIRST, SECOND, THIRD])
    assert first.conflicts == ()
    (jail,) = second.conflicts
    assert jail.attribute == "detention facility"
    assert [(v.value, v.article_id, v.outlet) for v in jail.values] == [
        ("Central Detention Center", "a1", "Daily Ledger"),
        ("Central Correctional Center", "a2", "Metro Courier")]
    (age,) = third.conflicts       # the jail name conflict is not flagged twice
    assert age.attribute == "age of Ruiz"
    assert [v.value for v in age.values] == ["41", "44"]


def test_a_longer_form_of_the_same_name_is_no_conflict():
    longer = article("a4", "Hector Ruiz is held in the Central Detention Center Special "
                           "Housing Unit, where the judge visited him on Thursday.",
                     published=THURSDAY)
    _, analysis = run_offline(STORY, [FIRST, longer])
    assert analysis.conflicts == ()


def test_copies_new_sentences_and_new_names():
    edit = article("a5", FIRST.body.replace(
        "He has been held there since his arrest, his lawyers said.",
        "Defense lawyer Marta Quiroga said Ruiz has been held there since his arrest. "
        "She asked the court to order a medical exam."),
        outlet="Wire Service", published=datetime(2021, 3, 4, 18, tzinfo=UTC))
    first, second = run_offline(STORY, [FIRST, edit])
    assert second.duplicate_of == "a1" and not second.exact_repeat
    assert second.aligned_fraction >= 0.5
    new = second.new_sentences
    assert any("Marta Quiroga" in s for s in new)
    assert not any(s.startswith("Ruiz is held") for s in new)
    quiroga = next(s for s in second.sentences if "Quiroga" in s.text)
    assert "Marta Quiroga" in quiroga.new_names
    known = next(s for s in second.sentences if s.text.startswith("Ruiz is held"))
    assert known.known and known.match.article_id == "a1"


def test_exact_repeat():
    repeat = article("a6", FIRST.body.upper(), outlet="Other Paper",
                     published=datetime(2021, 3, 5, tzinfo=UTC))
    _, analysis = run_offline(STORY, [FIRST, repeat])
    assert (analysis.duplicate_of, analysis.exact_repeat, analysis.aligned_fraction) == \
        ("a1", True, 1.0)
    assert analysis.new_sentences == () and analysis.developments == ()


def test_fact_sources_count_outlets():
    repeat = article("a7", FIRST.body, outlet="Other Paper",
                     published=datetime(2021, 3, 5, tzinfo=UTC))
    knowledge = StoryKnowledge(STORY)
    for item in (FIRST, repeat):
        knowledge.learn(item, analyze(knowledge, item))
    counts = knowledge.fact_counts()
    assert set(counts.values()) == {2}
    assert len(knowledge.facts) == len(article_sentences(FIRST.body))


def test_undated_events_take_the_day_of_the_articles_news():
    item = article("d1", (
        "A federal judge on Wednesday refused to release Hector Ruiz on bail. "
        "The judge also rejected his request to be moved to another jail."),
        published=THURSDAY)
    (analysis,) = run_offline(STORY, [item])
    assert [(d.type, d.outcome, d.date) for d in analysis.developments] == [
        ("ruling", "denied", "2021-03-10"), ("ruling", "denied", "2021-03-10")]


def test_an_explainer_without_dated_news_adds_nothing():
    explainer = article("d2", (
        "Hector Ruiz has spent months in the Central Detention Center. "
        "A judge denied his request for bail, and he has pleaded not guilty. "
        "His lawyers say the jail is unsafe."), published=THURSDAY)
    (analysis,) = run_offline(STORY, [explainer])
    assert analysis.on_story and analysis.developments == ()


def test_a_verdict_told_in_two_sentences_is_one_mixed_verdict():
    item = article("d3", (
        "A federal jury on Wednesday convicted Hector Ruiz of fraud, ending a case that began "
        "with a fight over his detention at the Central Detention Center. "
        "Jurors acquitted him of a single count of obstruction."), published=THURSDAY)
    (analysis,) = run_offline(STORY, [item])
    assert [(d.type, d.outcome, d.date) for d in analysis.developments] == [
        ("verdict", "mixed", "2021-03-10")]


def test_the_story_remembers_its_judges():
    later = article("d4", (
        "Whitfield on Wednesday revoked Hector Ruiz's bond at the detention hearing, citing "
        "his calls to a witness from jail."), published=THURSDAY)
    first = article("d0", "Judge Dana Whitfield will hear Hector Ruiz's bail request at the "
                          "detention center case hearing on Friday. Ruiz is held in jail.",
                    published=datetime(2021, 3, 1, tzinfo=UTC))
    _, analysis = run_offline(STORY, [first, later])
    assert ("ruling", "granted") in [(d.type, d.outcome) for d in analysis.developments]


def test_a_passing_mention_or_another_topic_does_not_route():
    passing = article("r1", (
        "A man held at the Central Detention Center was denied bail by Judge Dana Whitfield on "
        "Thursday at a detention hearing. The case is unrelated to that of Hector Ruiz, "
        "prosecutors said."))
    assert not route(STORY, passing).on_story
    other_topic = article("r2", (
        "Hector Ruiz, the restaurateur, opened a new cafe in Newark on Thursday. "
        "Ruiz said the menu would feature his grandmother's recipes."),
        title="Hector Ruiz opens a cafe")
    assert not route(STORY, other_topic).on_story


def test_an_age_may_grow_with_the_years_between_reports():
    young = article("g1", "Hector Ruiz, 41, is held at the Central Detention Center in a "
                          "dispute over his bail.",
                    published=datetime(2021, 3, 1, tzinfo=UTC))
    older = article("g2", "Hector Ruiz, 43, is held at the Central Detention Center in a "
                          "dispute over his bail.",
                    published=datetime(2023, 3, 1, tzinfo=UTC))
    _, analysis = run_offline(STORY, [young, older])
    assert analysis.conflicts == ()


def test_conflicting_sentence_lengths():
    first = article("s1", "Hector Ruiz was sentenced on Wednesday to 12 years in prison in the "
                          "detention case, and the judge denied bail pending appeal.",
                    published=THURSDAY)
    second = article("s2", "Hector Ruiz was sentenced on Wednesday to 15 years in prison, the "
                           "judge said, and will stay in jail pending his appeal.",
                     outlet="Other Paper", published=THURSDAY)
    _, analysis = run_offline(STORY, [first, second])
    (conflict,) = analysis.conflicts
    assert conflict.attribute == "prison sentence of Ruiz"
    assert [v.value for v in conflict.values] == ["12 years", "15 years"]


def test_common_shingles_stop_being_indexed():
    from services.story.analysis.index import ShingleIndex
    index = ShingleIndex(max_postings=5)
    for i in range(20):
        index.add(i, f"the judge said on monday {i}", ["the", "judge", "said", "on", "monday",
                                                       f"x{i}"])
    stats = index.stats()
    assert stats["longest_posting"] <= 5 and stats["common_shingles"] >= 3
    assert index.lookup(["the", "judge", "said", "on", "monday", "x7"]) == [7]


def test_a_reordered_rewrite_is_still_a_copy():
    sentences = FIRST.body.split(". ")
    reordered = article("c1", ". ".join(reversed(sentences)).replace("..", ".") + ".",
                        outlet="Wire Service",
                        published=datetime(2021, 3, 4, 20, tzinfo=UTC))
    _, analysis = run_offline(STORY, [FIRST, reordered])
    assert analysis.duplicate_of == "a1"


def test_off_story_articles_are_empty_and_not_learnt():
    other = article("x", "The city council approved a new budget for parks on Tuesday.")
    analyses = run_offline(STORY, [FIRST, other])
    off = analyses[1]
    assert not off.on_story
    assert (off.sentences, off.developments, off.duplicate_of) == ((), (), None)
    assert off.contract()["new_sentences"] == []


def test_analyze_does_not_change_knowledge():
    knowledge = StoryKnowledge(STORY)
    knowledge.learn(FIRST, analyze(knowledge, FIRST))
    before = (len(knowledge.facts), knowledge.developments, knowledge.matters)
    analyze(knowledge, SECOND)
    assert (len(knowledge.facts), knowledge.developments, knowledge.matters) == before


# -- serialisation and rebuilding -----------------------------------------------------------------

def test_analysis_round_trips_through_json():
    for analysis in run_offline(STORY, [FIRST, SECOND, THIRD]):
        data = json.loads(json.dumps(analysis.to_dict()))
        assert Analysis.from_dict(data) == analysis
        assert Analysis.from_dict(data).to_dict() == analysis.to_dict()


def test_contract_shape():
    contract = run_offline(STORY, [FIRST, SECOND])[1].contract()
    assert set(contract) == {"id", "on_story", "duplicate_of", "new_sentences", "developments",
                             "conflicts"}
    assert set(contract["developments"][0]) == {"type", "outcome", "date", "evidence"}
    assert set(contract["conflicts"][0]) == {"attribute", "values"}
    assert set(contract["conflicts"][0]["values"][0]) == {"value", "article_id", "outlet"}


def test_definitions_and_articles_round_trip():
    assert StoryDefinition.from_dict(STORY.to_dict()) == STORY
    assert Article.from_dict(json.loads(json.dumps(FIRST.to_dict()))) == FIRST
    naive = Article.from_dict({**FIRST.to_dict(), "published_at": "2021-03-04T15:00:00Z"})
    assert naive.published_at == FIRST.published_at


def test_rebuilt_knowledge_gives_identical_results():
    original = StoryKnowledge(STORY)
    stored = []
    for item in (FIRST, SECOND):
        analysis = analyze(original, item)
        original.learn(item, analysis)
        stored.append((item, json.dumps(analysis.to_dict())))

    rebuilt = StoryKnowledge(STORY)
    for item, data in stored:
        rebuilt.learn(Article.from_dict(item.to_dict()), Analysis.from_dict(json.loads(data)))

    assert analyze(rebuilt, THIRD) == analyze(original, THIRD)
    assert rebuilt.matters == original.matters
    assert rebuilt.developments == original.developments
    assert [f.text for f in rebuilt.facts] == [f.text for f in original.facts]


def test_learning_twice_is_a_no_op():
    knowledge = StoryKnowledge(STORY)
    analysis = analyze(knowledge, FIRST)
    knowledge.learn(FIRST, analysis)
    knowledge.learn(FIRST, analysis)
    assert len(knowledge.articles) == 1
    assert all(f.source_count == 1 for f in knowledge.facts)


def test_the_subjects_are_whom_the_title_names_wherever_they_are_listed():
    from services.story.analysis.routing import _subject_indexes

    listed_late = StoryDefinition(slug="g", title="Guzman detention conditions",
                                  entities=("Brian Cogan", "Metropolitan Correctional Center",
                                            "Joaquin Guzman"))
    assert _subject_indexes(listed_late) == (2,)
    untitled = StoryDefinition(slug="g", title="A detention fight",
                               entities=("Joaquin Guzman", "Brian Cogan"))
    assert _subject_indexes(untitled) == (0,)
    two = StoryDefinition(slug="t", title="Harbor Trust fraud case: Ann Lyle and Bo Reyes",
                          entities=("Judge Ward", "Ann Lyle", "Bo Reyes", "Harbor Trust"))
    assert _subject_indexes(two) == (1, 2)  # the people, not the trust
    article = Article(id="a", outlet="o", url="u", title="Judge keeps Guzman in solitary",
                      published_at=datetime(2017, 5, 4, 20, tzinfo=UTC),
                      body="A federal judge on Thursday refused to let Joaquin Guzman out of "
                           "solitary confinement at the Metropolitan Correctional Center, "
                           "Judge Brian Cogan wrote.")
    assert route(listed_late, article).on_story


# -- general classes of court-reporting phrasing --------------------------------------------------

def kinds(sentence, published=None, context=()):
    return sorted((f.type, f.outcome, f.date)
                  for f in developments_of(sentence, published, context))


@pytest.mark.parametrize("sentence, day", [
    ("At a hearing Tuesday, the magistrate questioned both sides about the delay.", "2021-03-09"),
    ("After a contested hearing on Wednesday, the judge left the bond unchanged.", "2021-03-10"),
    ("The hearing on Tuesday lasted nearly two hours.", "2021-03-09"),
    ("Judge Ana Pike heard argument on the motion Wednesday.", "2021-03-10"),
    ("At Wednesday's bail hearing, prosecutors played a recording of the call.", "2021-03-10"),
    ("The judge spoke at the close of a four-hour hearing Tuesday.", "2021-03-09"),
    ("Ruiz entered a plea of not guilty Wednesday to all five counts.", "2021-03-10"),
    ("Ruiz stood before a judge on Wednesday for the first time.", "2021-03-10"),
])
def test_a_hearing_held_in_its_many_phrasings(sentence, day):
    assert ("hearing", "held", day) in kinds(sentence)


@pytest.mark.parametrize("sentence", [
    "The judge will decide the motion after a hearing next month.",
    "The jury heard closing arguments Wednesday.",
    "The judge continued the hearing Wednesday, taking testimony from two experts.",
])
def test_what_is_not_a_hearing_held(sentence):
    assert not any(f.outcome == "held" for f in developments_of(sentence))


@pytest.mark.parametrize("sentence, day", [
    ("Judge Ana Pike on Wednesday continued the sentencing hearing to May 3.", "2021-05-03"),
    ("The status conference was pushed back to April 20.", "2021-04-20"),
    ("The sentencing has been adjourned until June 1.", "2021-06-01"),
    ("The magistrate reset the detention hearing to Monday.", "2021-03-15"),
    ("In a brief order Wednesday, the judge postponed the hearing indefinitely.", None),
])
def test_a_hearing_continued_or_pushed_back_is_postponed_to_its_new_date(sentence, day):
    assert ("hearing", "postponed", day) in kinds(sentence)


@pytest.mark.parametrize("sentence, day", [
    ("The judge canceled a scheduling conference that had been set for April 2.", "2021-04-02"),
    ("The March 30 hearing was taken off the calendar.", "2021-03-30"),
    ("Judge Pike vacated the hearing set for Friday.", "2021-03-12"),
    ("A status conference scheduled for April 6 was canceled.", "2021-04-06"),
    ("With the motion decided, a hearing that had been on the calendar for Oct. 15 was "
     "called off.", "2021-10-15"),
])
def test_a_cancelled_hearing_is_dated_by_the_day_it_had_been_set_for(sentence, day):
    assert kinds(sentence) == [("hearing", "cancelled", day)]


@pytest.mark.parametrize("sentence, kind", [
    ("A panel of the Ninth Circuit on Wednesday affirmed Ruiz's conviction.",
     ("appeal", "denied")),
    ("The Fifth Circuit upheld the injunction on Wednesday.", ("appeal", "denied")),
    ("The 2nd Circuit on Wednesday vacated the sentence and remanded the case.",
     ("appeal", "granted")),
    ("A state appeals court on Wednesday reversed the conviction.", ("appeal", "granted")),
    ("Ruiz filed a notice of appeal on Wednesday.", ("appeal", None)),
])
def test_appeals_courts_decide_appeals_from_the_appellants_side(sentence, kind):
    assert [(f.type, f.outcome) for f in developments_of(sentence)] == [kind]


@pytest.mark.parametrize("sentence, outcome", [
    ("A jury on Wednesday found Ruiz not guilty on all counts.", "not_guilty"),
    ("Jurors returned their verdict Wednesday, finding Ruiz not guilty on both counts.",
     "not_guilty"),
    ("The jury on Wednesday cleared Ruiz of all charges.", "not_guilty"),
    ("The jury convicted Ruiz of fraud on Wednesday but acquitted him of conspiracy.", "mixed"),
])
def test_verdict_outcomes_are_read_from_the_whole_sentence(sentence, outcome):
    assert [(f.type, f.outcome) for f in developments_of(sentence)] == [("verdict", outcome)]


def test_a_verdict_and_an_acquittal_in_the_next_sentence_are_one_mixed_verdict():
    story = StoryDefinition(slug="v", title="Ruiz trial", description="",
                            entities=("Hector Ruiz",), keywords=("fraud", "verdict"))
    body = ("Jurors returned a verdict Wednesday convicting Hector Ruiz on four counts of "
            "fraud.\n\nThey acquitted him on a fifth count tied to a 2019 loan.")
    (analysis,) = run_offline(story, [article("v1", body)])
    assert [(d.type, d.outcome, d.date) for d in analysis.developments] == [
        ("verdict", "mixed", "2021-03-10")]


@pytest.mark.parametrize("sentence", [
    "A 12-count indictment was unsealed Wednesday in federal court in Newark.",
    "Ruiz was charged in a criminal complaint filed Wednesday.",
    "Prosecutors on Wednesday filed a complaint charging Ruiz with arson.",
    "A grand jury returned an indictment against Ruiz on Wednesday.",
    "The district attorney's office filed the complaint on Wednesday.",
])
def test_charging_documents_are_charges_not_filings(sentence):
    assert [f.type for f in developments_of(sentence)] == ["charge"]


def test_a_noun_charged_with_is_no_new_charge():
    assert [f.type for f in developments_of(
        "A judge on Wednesday declined the government's request to detain Ruiz, the "
        "landlord charged with arson, pending trial.")] == ["ruling"]


@pytest.mark.parametrize("sentence", [
    "Police took Ruiz into custody Wednesday at his home.",
    "Ruiz surrendered to federal agents on Wednesday.",
    "Ruiz posted bond Wednesday and was released.",
    "Ruiz was booked into the county jail on Wednesday.",
])
def test_custody_changes(sentence):
    assert [f.type for f in developments_of(sentence)] == ["custody"]


@pytest.mark.parametrize("sentence", [
    "Ruiz remains free on bond.",
    "Ruiz was advised of his rights before questioning.",
    "Ruiz surrendered his passport on Wednesday as a condition of release.",
    "His lawyer added an oral request that the trial be moved out of the county.",
])
def test_no_custody_change(sentence):
    assert "custody" not in [f.type for f in developments_of(sentence)]


@pytest.mark.parametrize("sentence", [
    "The tenants' group moved on Wednesday for a temporary restraining order.",
    "The motion, which his lawyers filed on Monday, argues the search was illegal.",
    "Defense attorneys asked on Wednesday for the charges to be dismissed.",
])
def test_motions_in_the_forms_reporters_write_them(sentence):
    assert [f.type for f in developments_of(sentence)] == ["filing"]


@pytest.mark.parametrize("sentence", [
    "At a news conference Wednesday, the victim's parents handed a letter to the prosecutor.",
    "The family of the victim is asking the county's prosecutor not to drop the case.",
    "The company said Wednesday it has halted production at the plant and will pay for "
    "medical testing.",
])
def test_public_requests_by_families_and_remedial_steps_are_statements(sentence):
    assert [f.type for f in developments_of(sentence)] == ["statement"]


@pytest.mark.parametrize("sentence, kind", [
    ("Judge Ana Pike suppressed the gun found in the car but rejected the rest of the motion "
     "on Wednesday.", ("ruling", "mixed")),
    ("The judge on Wednesday denied the request to move the trial to another county.",
     ("ruling", "denied")),
    ("A judge on Wednesday issued a preliminary injunction barring the city from enforcing "
     "the ordinance.", ("ruling", "granted")),
    ("The judge on Wednesday approved the $12 million settlement.", ("ruling", "granted")),
])
def test_more_ruling_phrasings(sentence, kind):
    assert [(f.type, f.outcome) for f in developments_of(sentence)] == [kind]


def test_one_motion_partly_granted_across_sentences_is_one_mixed_ruling():
    story = StoryDefinition(slug="m", title="Ruiz fraud case", description="",
                            entities=("Hector Ruiz",), keywords=("judge", "counts"))
    body = ("Judge Ana Pike ruled from the bench on Wednesday in the case against Hector Ruiz."
            "\n\nPike dismissed the two tax counts as time-barred. But she refused to dismiss "
            "the four fraud counts.\n\nSeparately, the judge denied the request to move the "
            "trial to another county.")
    (analysis,) = run_offline(story, [article("m1", body)])
    assert sorted((d.type, d.outcome, d.date) for d in analysis.developments) == [
        ("ruling", "denied", "2021-03-10"), ("ruling", "mixed", "2021-03-10")]


def test_a_month_named_in_the_past_tense_is_the_last_such_month():
    june = date(2021, 6, 18)
    assert resolved("He filed his notice of appeal in September.", june) == [
        ("in September", "2020-09")]
    assert resolved("The trial is expected to start in March.", june) == [
        ("in March", "2022-03")]


RECAP_STORY = StoryDefinition(slug="r", title="Ruiz fraud case", description="",
                              entities=("Hector Ruiz",), keywords=("judge", "fraud"))


def test_an_event_told_late_is_new_but_a_recap_of_a_known_one_is_not():
    first = article("r1", "Hector Ruiz was arrested on Wednesday on federal fraud charges.\n\n"
                          "Ruiz was booked into the federal jail in Newark.",
                    published=datetime(2021, 3, 11, 12, tzinfo=UTC))
    later = article("r2", "A judge on Tuesday refused to dismiss the fraud case against "
                          "Hector Ruiz.\n\nRuiz's lawyers asked in April for the charges to be "
                          "thrown out. Ruiz was arrested in March.",
                    published=datetime(2021, 6, 23, 12, tzinfo=UTC))
    _, second = run_offline(RECAP_STORY, [first, later])
    assert sorted((d.type, d.date) for d in second.developments) == [
        ("filing", "2021-04"), ("ruling", "2021-06-22")]


def test_background_from_before_the_story_stays_background():
    first = article("b1", "Hector Ruiz was arrested on Wednesday on federal fraud charges.",
                    published=datetime(2021, 3, 11, 12, tzinfo=UTC))
    later = article("b2", "Hector Ruiz pleaded not guilty on Tuesday to fraud charges.\n\n"
                          "Ruiz's former partner pleaded guilty in January 2020 to fraud.",
                    published=datetime(2021, 6, 23, 12, tzinfo=UTC))
    _, second = run_offline(RECAP_STORY, [first, later])
    assert [(d.type, d.outcome) for d in second.developments] == [("hearing", "held")]


def test_a_wire_rewrite_of_yesterdays_story_is_a_copy():
    story = StoryDefinition(slug="w", title="Ruiz arson case", description="",
                            entities=("Hector Ruiz",), keywords=("arson", "judge", "jail"))
    original = article("w1", (
        "Hector Ruiz, 44, is now charged with arson in the fire that destroyed a warehouse in "
        "Newark.\n\n"
        "The county prosecutor's office filed the complaint on Wednesday.\n\n"
        "Investigators say Ruiz was seen leaving the building minutes before the blaze.\n\n"
        "Police officers took Ruiz into custody late Tuesday at his apartment.\n\n"
        "His first court appearance is scheduled for Friday.\n\n"
        "His attorney, Lena Ostrow, said her client is innocent and will fight the charges."),
        published=datetime(2021, 3, 10, 23, tzinfo=UTC))
    rewrite = article("w2", (
        "NEWARK, N.J. (AP) — A Newark man has been charged with arson in the fire that "
        "destroyed a warehouse, prosecutors said.\n\n"
        "Hector Ruiz, 44, faces charges in a complaint the county prosecutor's office filed "
        "Wednesday.\n\n"
        "Investigators say Ruiz was spotted leaving the building minutes before the fire.\n\n"
        "Officers arrested Ruiz late Tuesday at his apartment.\n\n"
        "His first court appearance is set for Friday. Attorney Lena Ostrow said her client "
        "is innocent and would fight the charges."),
        outlet="Wire", published=datetime(2021, 3, 11, 11, tzinfo=UTC))
    _, second = run_offline(story, [original, rewrite])
    assert second.duplicate_of == "w1"


# -- phrasing classes: court-reporting styles -----------------------------------------------------

@pytest.mark.parametrize("sentence, date_", [
    ("Ruiz appeared at Newark Magistrates' Court on Wednesday accused of theft.", "2021-03-10"),
    ("Ruiz, 51, appeared in the county courthouse on Tuesday.", "2021-03-09"),
    ("On Wednesday Ruiz made his first appearance by video from the jail.", "2021-03-10"),
    ("Ruiz made an initial court appearance on Tuesday afternoon.", "2021-03-09"),
    ("The case was back in front of Judge Whitfield on Tuesday for a status conference.",
     "2021-03-09"),
    ("Ruiz was back in court on Wednesday.", "2021-03-10"),
])
def test_appearances_are_held_hearings(sentence, date_):
    found = developments_of(sentence)
    assert [(f.type, f.outcome, f.date) for f in found] == [("hearing", "held", date_)]


@pytest.mark.parametrize("sentence", [
    "The matter was sent to the Crown Court, where Ruiz will next appear on 2 April.",
    "He is due to again appear before magistrates on 2 April.",
    "The judge left the order in place until a bail hearing, which she set for April 2.",
    "Arguments are expected at a status conference that the court scheduled for April 2.",
])
def test_next_appearances_and_relative_clauses_schedule_hearings(sentence):
    found = developments_of(sentence)
    assert [(f.type, f.outcome, f.date) for f in found] == [
        ("hearing", "scheduled", "2021-04-02")]


@pytest.mark.parametrize("sentence", [
    "Ruiz pleaded guilty on Wednesday to one count of theft.",
    "Ruiz has today (10 March 2021) entered a guilty plea to theft.",
    "On Wednesday Ruiz entered a guilty plea to the theft count.",
])
def test_a_guilty_plea_is_a_conviction_and_no_second_development(sentence):
    found = developments_of(sentence)
    assert sorted((f.type, f.outcome) for f in found) == [("verdict", "guilty")]


def test_a_guilty_plea_mentioned_as_a_noun_is_no_event():
    assert developments_of("The judge said she had given Ruiz credit for his guilty plea.") == []


def test_a_sentence_handed_down_is_one_development_not_also_a_held_hearing():
    for sentence in ("Judge Whitfield handed down the sentence on Wednesday.",
                     "Ruiz was then sentenced on Wednesday to four years."):
        found = developments_of(sentence)
        assert sorted((f.type, f.outcome) for f in found) == [("sentence", None)]


@pytest.mark.parametrize("sentence", [
    "The district attorney on Wednesday charged Hector Ruiz, 51, a former bank teller, with "
    "embezzlement.",
    "The Crown Prosecution Service authorised the charges on Wednesday.",
    "State prosecutors approved charges against Ruiz on Wednesday.",
    "The indictment handed up on Wednesday adds two counts.",
])
def test_charging_phrasings(sentence):
    assert [f.type for f in developments_of(sentence)] == ["charge"]


def test_remanded_in_custody_is_no_custody_change_but_remanded_to_custody_is():
    assert developments_of("Ruiz was remanded in custody on Wednesday.") == []
    assert [f.type for f in developments_of(
        "Ruiz was remanded to custody on Wednesday.")] == ["custody"]


def test_things_moved_are_not_people_moved():
    assert developments_of("The money was then moved into offshore accounts on Wednesday.") == []
    assert developments_of("The cash was transferred to a shell company on Wednesday.") == []


def test_walking_free_from_court_is_no_release_from_custody():
    found = developments_of("Ruiz walked free from court on Wednesday after jurors acquitted "
                            "him of theft.")
    assert [(f.type, f.outcome) for f in found] == [("verdict", "not_guilty")]


@pytest.mark.parametrize("sentence", [
    "Kestrel on Wednesday lodged a petition asking the 8th Circuit for permission to appeal.",
    "The company on Wednesday filed a petition for leave to appeal the certification order.",
    "The bank filed papers with the state Court of Appeals on Wednesday.",
])
def test_a_petition_to_an_appeals_court_is_an_appeal(sentence):
    assert [(f.type, f.outcome) for f in developments_of(sentence)] == [("appeal", None)]


@pytest.mark.parametrize("sentence", [
    "A courier filed a proposed class action against the bank on Wednesday.",
    "On Wednesday the plaintiffs followed up with an emergency motion for an injunction.",
    "Ruiz's lawyers countered on Wednesday with a motion to dismiss.",
])
def test_filing_phrasings(sentence):
    assert [f.type for f in developments_of(sentence)] == ["filing"]


def test_a_split_ruling_is_mixed():
    found = developments_of("Judge Dana Whitfield split the difference on Wednesday.")
    assert [(f.type, f.outcome) for f in found] == [("ruling", "mixed")]


def test_detention_order_grants_the_prosecution_request_only_when_it_was_made():
    asked = ("Prosecutors asked that Ruiz be held without bail as a flight risk.",)
    (granted,) = [f for f in developments_of("Judge Whitfield ordered him held without bail.",
                                             context=asked) if f.type == "ruling"]
    assert granted.outcome == "granted"
    (denied,) = [f for f in developments_of("Judge Whitfield ordered him held without bail.")
                 if f.type == "ruling"]
    assert denied.outcome == "denied"


def test_a_modal_in_the_reported_clause_does_not_stop_the_ruling():
    found = developments_of("The claims will proceed to trial, a judge ruled on Wednesday.")
    assert [(f.type, f.date) for f in found] == [("ruling", "2021-03-10")]


def test_claims_as_a_noun_and_what_a_suit_claims_do_not_hide_the_reporter():
    found = developments_of("The fraud claims can go ahead, Judge Whitfield ruled on Wednesday.")
    assert [f.type for f in found] == ["ruling"]
    found = developments_of("The bank will pay $2 million to end a suit claiming it cheated "
                            "savers, under a deal a judge approved on Wednesday.")
    assert [(f.type, f.outcome) for f in found] == [("ruling", "granted")]


def test_a_remedial_announcement_is_a_statement_dated_when_made():
    found = developments_of("On Wednesday the company announced it would guarantee couriers "
                            "a minimum rate starting May 1.")
    assert [(f.type, f.date) for f in found] == [("statement", "2021-03-10")]


def test_a_past_event_does_not_take_a_date_still_ahead():
    found = developments_of("Ruiz has pleaded not guilty and is due to stand trial on 6 June.")
    assert [f for f in found if f.outcome == "held"] == []


def test_a_date_inside_a_relative_clause_belongs_to_the_clause():
    found = developments_of("Ruiz, who pleaded guilty last August, was then sentenced to four "
                            "years.")
    sentence = next(f for f in found if f.type == "sentence")
    assert sentence.date is None


def test_had_done_by_a_time_today_is_news():
    found = developments_of("By Thursday afternoon, his lawyer had filed a notice of appeal.")
    assert [(f.type, f.date) for f in found] == [("appeal", "2021-03-11")]


def test_undated_ruling_takes_the_date_of_the_hearing_it_followed():
    story = StoryDefinition(slug="u", title="Hector Ruiz fraud case", description="",
                            entities=("Hector Ruiz",), keywords=("fraud", "bail"))
    piece = article("u1", "Hector Ruiz was flown back from Spain on Wednesday.\n\n"
                          "Ruiz appeared at Newark Magistrates' Court on Thursday charged with "
                          "fraud.\n\nHis lawyer applied for bail. District Judge Ann Pike "
                          "refused, citing his time abroad.")
    (analysis,) = run_offline(story, [piece])
    assert sorted((d.type, d.outcome, d.date) for d in analysis.developments) == [
        ("custody", None, "2021-03-10"), ("hearing", "held", "2021-03-11"),
        ("ruling", "denied", "2021-03-11")]


def test_undated_future_hearing_is_no_development():
    story = StoryDefinition(slug="s", title="Hector Ruiz fraud case", description="",
                            entities=("Hector Ruiz",), keywords=("fraud",))
    piece = article("s1", "Hector Ruiz pleaded guilty to fraud on Thursday.\n\n"
                          "Ruiz will be sentenced at a later date.")
    (analysis,) = run_offline(story, [piece])
    assert ("hearing", "scheduled") not in {(d.type, d.outcome) for d in analysis.developments}


def test_press_release_notes_to_editors_are_not_reporting():
    sentences = article_sentences("Ruiz pleaded guilty today.\n\nNotes to editors\n\n"
                                  "Ruiz was charged in 2019.")
    assert sentences == ["Ruiz pleaded guilty today."]


def test_a_case_caption_makes_both_parties_subjects():
    story = StoryDefinition(slug="c", title="Ruiz v. Osprey Logistics: courier pay suit",
                            description="", entities=("Hector Ruiz", "Osprey Logistics"),
                            keywords=("couriers", "wage", "class action"))
    piece = article("c1", "What couriers should know about the wage fight at Osprey.\n\n"
                          "Osprey couriers are paid per stop. The class action says Osprey "
                          "owes them overtime.", title="Explainer: courier pay")
    assert route(story, piece).on_story


def test_two_parties_each_named_once_in_passing_do_not_route():
    story = StoryDefinition(slug="c", title="Ruiz v. Osprey Logistics", description="",
                            entities=("Hector Ruiz", "Osprey Logistics"),
                            keywords=("couriers", "wage", "class action"))
    piece = article("c2", "A judge dismissed a wage class action against a bakery on "
                          "Wednesday.\n\nThe ruling does not affect a separate suit by Hector "
                          "Ruiz against Osprey Logistics over couriers' pay.",
                    title="Bakery wage suit dismissed")
    assert not route(story, piece).on_story


def test_an_institution_in_the_title_hands_the_subject_to_the_described_people():
    story = StoryDefinition(slug="h", title="Harrowgate fire crew chief charged over depot blaze",
                            description="The prosecution of Harrowgate fire captain Dario Venn "
                                        "over a depot blaze before Judge Ines Coll.",
                            entities=("Harrowgate Fire Department", "Ines Coll", "Dario Venn"),
                            keywords=("arson", "depot blaze"))
    piece = article("h1", "Dario Venn pleaded not guilty to arson on Tuesday.\n\nVenn's "
                          "lawyer said the depot blaze was an accident. Judge Ines Coll set a "
                          "trial date.", title="Venn denies arson")
    assert route(story, piece).on_story
    judge_only = article("h2", "Judge Ines Coll sentenced a burglar on Tuesday.\n\nColl said "
                               "the depot blaze case would be heard next month.",
                         title="Burglar sentenced")
    assert not route(story, judge_only).on_story


def test_a_party_named_once_and_described_in_the_headline_routes():
    story = StoryDefinition(slug="w", title="Tern Marsh Defenders v. Port Authority of Ledham",
                            description="", entities=("Tern Marsh Defenders",
                                                      "Port Authority of Ledham", "Ola Brandt"),
                            keywords=("dredging permit", "marsh", "wetland"))
    piece = article("w1", "A judge on Tuesday refused to halt the dredging at Ledham harbor."
                          "\n\nJudge Ola Brandt said Tern Marsh Defenders had not shown the "
                          "wetland would suffer lasting harm. The marsh group may still press "
                          "its dredging permit claim.",
                    title="Judge rebuffs marsh group over harbor dredging")
    assert route(story, piece).on_story
    plain_headline = article("w2", piece.body, title="Judge rebuffs neighbors over dredging")
    assert not route(story, plain_headline).on_story


def test_a_definition_without_a_description_is_read_by_its_title_and_keywords():
    """A definition's words beyond its names (title, description, keywords) are one share, so
    a story written in a hurry, with no description, still has a topic an article can share."""
    from services.story.analysis.routing import evidence

    story = StoryDefinition(slug="v", title="Ruiz trial", description="",
                            entities=("Hector Ruiz",), keywords=("fraud", "verdict"))
    body = "Jurors returned a verdict Wednesday convicting Hector Ruiz on four counts of fraud."
    assert evidence(story, article("v1", body)).features["topic_words"] == pytest.approx(2 / 3)
    elsewhere = "Hector Ruiz opened a cafe on Main Street on Wednesday."
    assert evidence(story, article("v2", elsewhere)).features["topic_words"] == 0.0
    assert route(story, article("v1", body)).on_story
    # sharing no word of the definition, an article is weighed by how it names the subject
    apart = evidence(story, article("v2", elsewhere)).features
    assert apart["mentions_without_topic"] == apart["mentions"] > 0
    assert evidence(story, article("v1", body)).features["mentions_without_topic"] == 0.0


@pytest.mark.parametrize("sentence", [
    "The judge declared a mistrial on Wednesday.",
    "The jury deadlocked on Wednesday and was discharged.",
    "The trial ended with a hung jury on Wednesday.",
    "Jurors told the judge on Wednesday they could not reach a verdict.",
])
def test_a_hung_jury_or_mistrial_is_no_verdict(sentence):
    assert [f for f in developments_of(sentence) if f.type == "verdict"] == []


# -- general phrasing classes ---------------------------------------------------------------------

def _kinds(sentence, **kwargs):
    return [(f.type, f.outcome, f.date) for f in developments_of(sentence, **kwargs)]


@pytest.mark.parametrize("sentence, value", [
    ("The hearing is now set for Monday, March 22, 2021, at 2 p.m.", "2021-03-22"),
    ("The conference was moved to Wed., March 17.", "2021-03-17"),
    ("The appearance was adjourned to Tuesday 30 March.", "2021-03-30"),
])
def test_a_weekday_written_with_its_date_is_one_date(sentence, value):
    assert [v for _, v in resolved(sentence)] == [value]


def test_a_postponed_hearing_takes_the_full_new_date_not_its_weekday():
    assert _kinds("The status conference previously set for Friday, March 26, 2021, has been "
                  "reset to Tuesday, April 6, 2021.") == [("hearing", "postponed", "2021-04-06")]


@pytest.mark.parametrize("sentence", [
    "Ruiz was detained at a border crossing, police said Wednesday.",
    "Ruiz was arrested at the bus station, officials confirmed on Wednesday.",
    "Ruiz was taken into custody, the sheriff's office said in a statement Wednesday.",
])
def test_the_day_something_is_told_does_not_date_the_event(sentence):
    assert _kinds(sentence) == [("custody", None, None)]


def test_a_day_offset_from_the_telling_dates_the_event():
    found = _kinds("He turned himself in, police said Wednesday, a day after he was charged "
                   "with arson.")
    assert ("charge", None, "2021-03-09") in found


@pytest.mark.parametrize("sentence", [
    "Charges were laid Tuesday against the warehouse owner.",
    "Two counts of fraud were laid against the broker on Tuesday, police said.",
    "The charges were formally filed on Tuesday.",
])
def test_charges_laid_in_the_passive(sentence):
    assert [f.type for f in developments_of(sentence)] == ["charge"]


@pytest.mark.parametrize("sentence, outcome", [
    ("Ruiz was denied bail on Tuesday after a short hearing.", "denied"),
    ("The brothers were refused leave to appeal on Tuesday.", "denied"),
    ("Ruiz was granted bail Tuesday on a $20,000 surety.", "granted"),
    ("The company was granted a stay on Tuesday.", "granted"),
])
def test_what_a_person_is_granted_or_refused_is_a_ruling(sentence, outcome):
    rulings = [f for f in developments_of(sentence) if f.type == "ruling"]
    assert [(r.outcome, r.date) for r in rulings] == [(outcome, "2021-03-09")]


def test_history_in_a_relative_clause_does_not_change_the_ruling():
    rulings = [f for f in developments_of(
        "On Wednesday a justice overturned the order that had kept Ruiz behind bars.")
        if f.type == "ruling"]
    assert [r.outcome for r in rulings] == ["granted"]


@pytest.mark.parametrize("sentence, new_date", [
    ("The matter was adjourned to March 30.", "2021-03-30"),
    ("His case was put over until April 2.", "2021-04-02"),
    ("The judge adjourned the case until April 9 so the defence could review disclosure.",
     "2021-04-09"),
])
def test_a_court_appearance_put_over_is_a_postponed_hearing(sentence, new_date):
    assert _kinds(sentence) == [("hearing", "postponed", new_date)]


@pytest.mark.parametrize("sentence", [
    "A sentencing hearing will be held in May.",
    "The bail hearing is expected to take place in May.",
])
def test_a_hearing_that_will_be_held_is_scheduled(sentence):
    assert _kinds(sentence) == [("hearing", "scheduled", "2021-05")]


@pytest.mark.parametrize("sentence, outcome", [
    ("The jury finds Ruiz not guilty of arson.", "not_guilty"),
    ("BREAKING: Jury convicts Ruiz on all counts.", "guilty"),
    ("The jury finds Ruiz guilty of fraud and not guilty of perjury.", "mixed"),
])
def test_live_verdicts_in_the_present_tense(sentence, outcome):
    assert [f.outcome for f in developments_of(sentence) if f.type == "verdict"] == [outcome]


def test_co_defendants_with_opposite_verdicts_get_a_verdict_each():
    found = [f.outcome for f in developments_of(
        "A judge on Wednesday found the landlord guilty of manslaughter but acquitted the "
        "building superintendent.") if f.type == "verdict"]
    assert found == ["guilty", "not_guilty"]
    one = [f.outcome for f in developments_of(
        "A jury on Wednesday found Ruiz guilty of fraud but acquitted him of perjury.")
        if f.type == "verdict"]
    assert one == ["mixed"]


def test_a_second_decision_after_a_reported_reason_is_still_read():
    found = [f.outcome for f in developments_of(
        "Judge Dana Whitfield granted the motion on the perjury count, saying the state offered "
        "no witness, and denied it on the fraud count.") if f.type == "ruling"]
    assert found == ["mixed"]


@pytest.mark.parametrize("sentence, outcome", [
    ("On Tuesday the judge entered an order denying the motion to suppress.", "denied"),
    ("The court issued a 30-page opinion on Tuesday granting the request for a stay.",
     "granted"),
    ("In an order Tuesday dismissing the lawsuit, the judge said the claims were too late.",
     "granted"),
])
def test_an_order_named_with_its_outcome(sentence, outcome):
    assert [(f.outcome, f.date) for f in developments_of(sentence)
            if f.type == "ruling"] == [(outcome, "2021-03-09")]


def test_filings_told_in_apposition_and_not_descriptions_or_sentencing_asks():
    assert _kinds("The 40-page lawsuit, filed Tuesday in federal court, seeks damages.") == \
        [("filing", None, "2021-03-09")]
    assert [f.type for f in developments_of(
        "The suppression motion asks the court to exclude the phone records.")] == []
    assert [f.type for f in developments_of(
        "The defence asked for a suspended sentence to be imposed.")] == []


@pytest.mark.parametrize("sentence", [
    "The utility on Tuesday offered to pay for water filters in every affected home.",
    "The manufacturer pledged to cover the cost of the cleanup.",
])
def test_a_remedial_offer_in_the_reporters_voice_is_a_statement(sentence):
    assert [f.type for f in developments_of(sentence)] == ["statement"]


def test_an_order_to_stop_is_an_injunction_ruling():
    (ruling,) = [f for f in developments_of(
        "A federal judge on Tuesday ordered the developer to stop clearing the wetland.")
        if f.type == "ruling"]
    assert (ruling.outcome, ruling.matter.id, ruling.date) == ("granted", "injunction",
                                                               "2021-03-09")


def test_an_institution_calling_for_a_resignation_is_a_statement():
    assert [f.type for f in developments_of(
        "The city council passed a resolution calling on the chief to resign.")] == ["statement"]


# -- trial-level courts, released documents, habitual statements ------------------------------

@pytest.mark.parametrize("sentence", [
    "Circuit Judge Mara Linde on Tuesday granted the utility's motion to intervene.",
    "In a ruling issued in the High Court at Wellington on Tuesday, Justice Pia Rowe dismissed "
    "the company's application.",
])
def test_a_trial_court_judge_titled_circuit_or_high_court_makes_a_ruling(sentence):
    kinds = [f.type for f in developments_of(sentence)]
    assert "ruling" in kinds and "appeal" not in kinds


def test_a_circuit_judge_writing_for_a_panel_still_sits_on_an_appeals_court():
    from services.story.analysis.context import APPEALS_COURT
    assert APPEALS_COURT.search("writing for the panel, circuit judge omar velde said")
    assert APPEALS_COURT.search("circuit judge omar velde, writing for the panel, said")
    assert not APPEALS_COURT.search("marion county circuit judge mara linde ruled")
    assert not APPEALS_COURT.search("in the high court at wellington")


@pytest.mark.parametrize("sentence", [
    "In a reserved judgment released on Tuesday, the judge found the article was defamatory.",
    "The decision was released on Tuesday, two weeks after the hearing.",
])
def test_a_released_judgment_is_no_custody_change(sentence):
    assert [f for f in developments_of(sentence) if f.type == "custody"] == []


@pytest.mark.parametrize("sentence", [
    "Defendants typically file a motion for a new trial before they appeal.",
    "Prosecutors usually file charges within a month of an arrest.",
])
def test_a_habitual_statement_is_no_development(sentence):
    assert developments_of(sentence) == []


@pytest.mark.parametrize("sentence, new_date", [
    ("Bail hearing pushed back to April", "2021-04"),
    ("Council permit hearing moved to May", "2021-05"),
    ("Her sentencing had been set for Monday, but a new order moves it to April.", "2021-04"),
    ("The argument on the motion, which had been scheduled for Friday, will now be heard "
     "April 6, a court notice said.", "2021-04-06"),
])
def test_a_hearing_moved_from_its_set_date_is_postponed_to_the_new_one(sentence, new_date):
    assert _kinds(sentence) == [("hearing", "postponed", new_date)]


@pytest.mark.parametrize("sentence, when", [
    ("A hearing on the request, which had been set down for Tuesday, 16 March, was vacated "
     "after it was withdrawn.", "2021-03-16"),
    ("A status conference set for March 19 was taken off calendar.", "2021-03-19"),
])
def test_a_vacated_hearing_keeps_the_date_it_had_been_set_for(sentence, when):
    assert _kinds(sentence) == [("hearing", "cancelled", when)]


def test_implied_hearings_in_court_and_due_in_a_named_court():
    assert _kinds("I sat in Courtroom 5A on Tuesday for the arraignment of the two men.") == [
        ("hearing", "held", "2021-03-09")]
    assert _kinds("Both men are due in County Court for arraignment on March 30.") == [
        ("hearing", "scheduled", "2021-03-30")]


@pytest.mark.parametrize("sentence", [
    "Ruiz was handcuffed in the courtroom and taken to the county jail.",
    "He was led away in handcuffs after the verdict was read.",
])
def test_taken_away_after_a_verdict_is_a_custody_change(sentence):
    assert [f.type for f in developments_of(sentence)] == ["custody"]


@pytest.mark.parametrize("sentence", [
    "A judge threw out a fourth count against Ruiz, for obstruction, before trial.",
    "Ruiz, who was first charged earlier this week, still faces three counts.",
])
def test_recap_of_pretrial_rulings_and_first_charges_is_background(sentence):
    assert developments_of(sentence) == []


def test_rejecting_a_defendants_defences_is_a_win_for_the_claimant():
    assert [(f.type, f.outcome) for f in developments_of(
        "The judge rejected the broadcaster's defences of truth and honest opinion.")] == [
        ("ruling", "granted")]


def test_a_fine_imposed_by_the_court_is_a_sentence():
    assert "sentence" in [f.type for f in developments_of(
        "The magistrate convicted her and fined her $900, with $400 in reparation.")]


def test_a_true_bill_of_indictment_is_a_charge():
    assert [(f.type, f.date) for f in developments_of(
        "A grand jury on Tuesday, March 9, 2021, returned a true bill of indictment charging "
        "Ruiz with two counts of fraud.")] == [("charge", "2021-03-09")]


def test_a_title_names_an_entity_by_its_full_name_or_a_capitalised_word():
    from services.story.analysis.routing import _subject_indexes, _title_names

    assert _title_names("Harlow College admissions fraud", "Harlow College")
    assert not _title_names("Harlow College admissions fraud", "Keystone Admissions")
    assert _title_names("Judge keeps Petrov in jail", "Ivan Petrov")
    tenants = StoryDefinition(slug="t", title="Brook Towers tenants' suit against Vale Homes LLC",
                              entities=("Vale Homes LLC", "Brook Towers", "Ana Ruiz"))
    assert _subject_indexes(tenants) == (0, 1)  # a building is no person; both are subjects


# -- Indian-English court reporting, press-release rewrites and disclaimers -----------------------

def test_a_case_named_apart_as_unrelated_does_not_route():
    body = ("A former bus depot manager held at the Central Detention Center was denied bail "
            "by Judge Dana Whitfield on Tuesday in a theft case.\n\n"
            "The case is unrelated to the prosecution of Hector Ruiz, which is before the same "
            "judge.\n\nA prosecutor who works on the Ruiz matter is not involved in the "
            "depot case.")
    assert not route(STORY, article("d", body)).on_story


@pytest.mark.parametrize("sentence, expected", [
    ("A two-judge bench on Wednesday initiated suo motu criminal contempt proceedings "
     "against the columnist.", [("charge", None, "2021-03-10")]),
    ("The FIR, registered at the Old Town police station on Tuesday, names the trader as "
     "the accused.", [("charge", None, "2021-03-09")]),
    ("The bench held the editor guilty of criminal contempt on Wednesday.",
     [("verdict", "guilty", "2021-03-10")]),
    ("The trader was produced before the duty magistrate on Wednesday.",
     [("hearing", "held", "2021-03-10")]),
    ("The bench directed him to appear in person on March 29.",
     [("hearing", "scheduled", "2021-03-29")]),
])
def test_indian_english_charges_appearances_and_verdicts(sentence, expected):
    assert _kinds(sentence) == expected


def test_a_stay_by_a_higher_court_is_an_interim_ruling_not_an_appeal_decision():
    assert _kinds("The Supreme Court on Wednesday stayed the High Court's order convicting "
                  "the editor.") == [("ruling", "granted", "2021-03-10")]


def test_an_appeal_told_as_filed_in_a_month():
    assert [(f.type, f.outcome) for f in developments_of(
        "The appeal, filed in February, argues that the conviction was wrong.")] == [
        ("appeal", None)]


def test_an_acquittal_is_not_mixed_by_another_persons_earlier_plea():
    assert _kinds("A jury on Tuesday acquitted the broker of all charges, rejecting the "
                  "account of a partner who had pleaded guilty.") == [
        ("verdict", "not_guilty", "2021-03-09")]


def test_a_partly_granted_motion_is_a_mixed_ruling():
    assert [(f.type, f.outcome) for f in developments_of(
        "Judge Whitfield partly granted the defense motion to suppress evidence.")] == [
        ("ruling", "mixed")]


def test_a_hearing_listed_for_a_day_and_cancelled_keeps_that_day():
    assert _kinds("A hearing before the magistrate on the police application for further "
                  "questioning of the trader, which had been listed for Monday, March 15, was "
                  "cancelled after the application was withdrawn.") == [
        ("hearing", "cancelled", "2021-03-15")]


@pytest.mark.parametrize("sentence", [
    "The trader was granted bail in the cheating case lodged on the complaint of a bank.",
    "The developer alleged in his complaint that the reporter had demanded money.",
    "The Advocate General has been asked to assist the court.",
])
def test_references_to_a_complaint_and_being_asked_are_no_developments(sentence):
    assert [f.type for f in developments_of(sentence)
            if f.type in ("filing", "statement")] == []


def test_refusing_to_apologise_at_a_hearing_is_no_ruling():
    assert [f.type for f in developments_of(
        "The court on Wednesday reserved its verdict after a two-hour hearing in which she "
        "declined to tender an apology.")] == ["hearing"]


def test_an_affidavit_and_a_motion_to_force_arbitration_are_filings():
    assert _kinds("In an affidavit filed on Tuesday, the editor said her article was true.") \
        == [("filing", None, "2021-03-09")]
    assert [f.type for f in developments_of(
        "The landlord, sued in January by its tenants, moved on Tuesday to force the case "
        "into arbitration.")] == ["filing"]


def test_an_outside_groups_letter_urging_is_a_statement():
    assert _kinds("On Tuesday, the Press Freedom Association wrote to the Chief Justice "
                  "urging that the proceedings be dropped.") == [
        ("statement", None, "2021-03-09")]


def test_an_event_anchored_by_an_unstated_gap_is_background():
    assert [f.type for f in developments_of(
        "Police arrested the editor on Wednesday, days after the court initiated contempt "
        "proceedings against her.")] == ["custody"]


def test_a_second_partys_own_motion_is_another_filing():
    first = article("m1", "Hector Ruiz's lawyer filed a motion Monday asking that his trial be "
                    "held in another county.\n\nHis co-defendant's lawyer filed her own motion "
                    "Monday asking Judge Dana Whitfield to suppress his statements.",
                    title="Ruiz and co-defendant file motions")
    (analysis,) = run_offline(STORY, [first])
    assert [d.type for d in analysis.developments] == ["filing", "filing"]


def test_the_same_days_arrests_and_charges_retold_are_not_new():
    release = article("r1", "An indictment was unsealed today charging Hector Ruiz and a "
                      "co-defendant with fraud. Hector Ruiz and Lena Ortiz were arrested this "
                      "morning at the Central Detention Center annex.",
                      published=datetime(2021, 3, 8, 15, 0, tzinfo=UTC),
                      title="Hector Ruiz indicted on fraud charges, arrested")
    recap = article("r2", "Lena Ortiz and Hector Ruiz were arrested Monday and charged in "
                    "federal court with fraud, his lawyers said. Ruiz wants bail at a hearing "
                    "before the judge. Ortiz is at the detention center in the same jail.",
                    published=datetime(2021, 3, 10, 15, 0, tzinfo=UTC))
    _, second = run_offline(STORY, [release, recap])
    assert [d.type for d in second.developments if d.type in ("charge", "custody")] == []


def test_a_refusal_and_a_partial_bar_joined_by_but_are_two_rulings():
    assert _kinds("A judge on Tuesday refused to give the driver a separate trial from his "
                  "employer, but she barred prosecutors from using some of the employer's "
                  "seized text messages.") == [("ruling", "denied", "2021-03-09"),
                                               ("ruling", "mixed", "2021-03-09")]


def test_declining_to_give_details_is_still_no_ruling():
    assert developments_of("The judge declined to give details of the order on Tuesday.") == []


def test_a_copy_of_many_wire_copies_is_a_copy_of_the_first_and_most_credit_wins():
    from itertools import permutations

    wire = ["Hector Ruiz was moved to a cell block at the Central Detention Center on Monday.",
            "His lawyer Dana Whitfield said the jail had denied him visits for three weeks.",
            "Prosecutors told the judge the move followed a fight in the dining hall.",
            "The jail's warden declined to comment on the transfer on Tuesday."]
    extra = ["A hearing on his bail request is set for next month, court records show.",
             "Whitfield said the family had not been told where he was held."]
    # 24 wire copies, the same sentences in another order each: no exact repeats, and each
    # shares all four with every copy before it, so all tie and the first learnt wins
    copies = [article(f"copy-{n}", "\n\n".join(order), outlet=f"Outlet {n}",
                      published=THURSDAY.replace(minute=n), title="Hector Ruiz moved in jail")
              for n, order in enumerate(permutations(wire))]
    longer = article("longer", "\n\n".join(wire[:1] + extra),
                     published=THURSDAY.replace(hour=19))
    latest = article("latest", "\n\n".join(wire[:1] + extra + wire[1:2]),
                     published=THURSDAY.replace(hour=20))
    first_copy, *others, by_longer, by_latest = run_offline(STORY, [*copies, longer, latest])
    assert first_copy.duplicate_of is None and len(others) == 23
    assert all(a.duplicate_of == "copy-0" and not a.exact_repeat for a in others)
    # `latest` shares three sentences with `longer` and two with each copy: `longer` wins
    assert by_longer.duplicate_of is None
    assert by_latest.duplicate_of == "longer" and by_latest.aligned_fraction == 0.75


# -- copies add only what they do not retell ------------------------------------------------------

def test_a_copy_retells_the_original_in_its_reworded_sentences_and_adds_the_rest():
    from services.story.analysis.engine import ALIGNED, LOOSE, _retold_from

    knowledge = StoryKnowledge(STORY)
    knowledge.learn(FIRST, analyze(knowledge, FIRST))
    sentences = [
        "Hector Ruiz's lawyers asked Judge Dana Whitfield on Wednesday to release him on bail.",
        "On Wednesday attorneys for Ruiz urged Judge Whitfield to free him on bail.",
        "A hearing on the request is set for March 19.",
    ]
    alignments = [knowledge.align(s) for s in sentences]
    aligned = [a.fact_id if a and a.score >= ALIGNED else None for a in alignments]
    loose = [a.fact_id if a and a.score >= LOOSE else None for a in alignments]
    assert loose[1] is not None and aligned[1] is None      # reworded, not word for word
    assert _retold_from(knowledge, "a1", aligned, loose) == {0, 1}
    assert _retold_from(knowledge, None, aligned, loose) == frozenset()   # no copy: all count


# -- dates written as the world writes them -------------------------------------------------------

@pytest.mark.parametrize("sentence, value", [
    ("The matter was adjourned to the third of July.", "2021-07-03"),
    ("It was relisted for the twenty-first of April 2021.", "2021-04-21"),
    ("The complaint was filed on 03.03.2021 before the special court.", "2021-03-03"),
    ("Date: 14/12/2020. Before: Judge Whitfield.", "2020-12-14"),
    ("The court set the examination of evidence for 9 March 2564.", "2021-03-09"),
])
def test_days_in_words_with_dots_and_day_first_are_dates(sentence, value):
    assert [v for _, v in resolved(sentence)] == [value]


def test_a_buddhist_era_year_is_read_in_the_common_era():
    assert resolved("The complaints have been received since December 2563.") == \
        [("December 2563", "2020-12")]


def test_an_undated_act_before_any_dated_news_takes_the_day_the_opening_tells_of():
    (only,) = run_offline(STORY, [article("o1", (
        "On Tuesday, in the Central District Court, the motion of prosecutors to extend the "
        "detention of Hector Ruiz was considered.\n\n"
        "Judge Dana Whitfield granted the motion.\n\n"
        "A complaint by his lawyers about his cell was rejected by the same court on Monday."))])
    assert [(d.type, d.outcome, d.date) for d in only.developments] == [
        ("ruling", "granted", "2021-03-09"), ("ruling", "denied", "2021-03-08")]


def test_a_case_number_of_a_year_is_no_date():
    assert resolved("On 2 March 2021, in proceeding NSD 1182 of 2021, the court ordered it.") \
        == [("2 March 2021", "2021-03-02")]


def test_a_hearing_put_off_to_the_day_is_postponed_to_it_and_not_also_scheduled():
    assert _kinds("The hearing was postponed on Tuesday to the 16 April.") == \
        [("hearing", "postponed", "2021-04-16")]
    (only,) = run_offline(STORY, [article("p1", (
        "Judge Dana Whitfield on Wednesday postponed the bail hearing of Hector Ruiz until "
        "May 3. The detention hearing is now scheduled for May 3."))])
    assert [(d.type, d.outcome, d.date) for d in only.developments] == \
        [("hearing", "postponed", "2021-05-03")]
