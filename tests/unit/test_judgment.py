"""Judgment that is logic, not phrasing: local days, aliases, copies, one event one development,
and the learned decision's plumbing (candidates, labels, training, the packaged model)."""

import json
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.story.analysis import Article, StoryDefinition, route
from services.story.analysis.candidates import cue_candidates
from services.story.analysis.decision import (
    MODEL_FILE,
    Decision,
    GoldDecider,
    Item,
    LearnedDecider,
    RuleDecider,
    evidence_in,
)
from services.story.analysis.developments import Finding, article_context
from services.story.analysis.engine import _part_of_postponement, _parts_of_one_event, run_offline
from services.story.analysis.features import article_features, candidate_features
from services.story.analysis.knowledge import Matter, StoryKnowledge
from services.story.analysis.model import SentenceVerdict
from services.story.analysis.routing import MODEL_FILE as ROUTING_MODEL_FILE
from services.story.analysis.training import fit, load_splits, routing_examples
from services.story.analysis.zones import local_date, story_zone

ROOT = Path(__file__).resolve().parents[2]

STORY = StoryDefinition(
    slug="delgado", title="Marco Delgado Ruiz prosecution",
    description="The federal drug case in Manhattan against Marco Delgado Ruiz.",
    entities=("Marco Delgado Ruiz", "El Toro", "Helen Park"),
    keywords=("drug trafficking", "arraignment", "detention"))


def article(id_, title, body, published):
    return Article(id=id_, outlet="Wire", url=f"https://wire.example/{id_}", title=title,
                   published_at=published, body=body)


# -- local days -----------------------------------------------------------------------------------

def test_a_story_reads_days_in_its_own_zone_or_the_zone_of_the_place_it_names():
    assert str(story_zone(STORY)) == "America/New_York"            # "Manhattan"
    london = StoryDefinition(slug="x", title="x", time_zone="Europe/London")
    assert str(story_zone(london)) == "Europe/London"
    nowhere = StoryDefinition(slug="y", title="Ashworth case", description="A fraud case.")
    assert str(story_zone(nowhere)) == "UTC"
    evening = datetime(2017, 5, 5, 1, 30, tzinfo=UTC)               # Thursday 21:30 in New York
    assert local_date(evening, story_zone(STORY)).isoformat() == "2017-05-04"


def test_friday_in_a_thursday_evening_article_is_the_next_day_not_a_week_later():
    published = datetime(2017, 5, 5, 1, 30, tzinfo=UTC)             # Friday in UTC
    body = ("Marco Delgado Ruiz, the accused trafficker known as El Toro, will be arraigned on "
            "Friday in federal court in Manhattan on drug trafficking charges, prosecutors "
            "said.\n\nThe case is before Judge Helen Park. His lawyers declined to comment on "
            "his detention.")
    result = run_offline(STORY, [article("a1", "Delgado Ruiz to be arraigned", body,
                                         published)], RuleDecider())[0]
    scheduled = [d for d in result.developments if (d.type, d.outcome) == ("hearing",
                                                                          "scheduled")]
    assert [d.date for d in scheduled] == ["2017-05-05"]


# -- routing --------------------------------------------------------------------------------------

def test_a_headline_naming_the_subject_only_by_an_alias_routes_to_the_story():
    body = ("The lawyers for the man prosecutors call El Toro asked a judge on Tuesday to "
            "ease his detention conditions in a Manhattan jail.\n\nEl Toro, who faces drug "
            "trafficking charges, has been held in isolation since his extradition, his "
            "lawyers said in the filing.")
    decision = route(STORY, article("a2", "El Toro's lawyers seek an end to isolation", body,
                                    datetime(2017, 5, 2, 15, tzinfo=UTC)))
    assert decision.on_story


@pytest.mark.parametrize("entity, headline", [
    ("BXR24", "BXR24 v Minister for Immigration: case status"),
    ("Rhona McAllister", "McAllister refused bail by sheriff"),
    ("Dale O'Brien", "O'BRIEN ADMITS IT: guard cops to abuse"),
])
def test_a_one_word_name_routes_in_the_case_it_is_written(entity, headline):
    story = StoryDefinition(slug="s", title=f"{entity} detention case",
                            description="A detention case.", entities=(entity, "Varley Island"),
                            keywords=("detention", "bail"))
    body = ("The case over detention at Varley Island came back to court on Tuesday, where a "
            "bail application was argued.\n\nA ruling is expected next week.")
    decision = route(story, article("n1", headline, body, datetime(2024, 5, 2, 15, tzinfo=UTC)))
    assert decision.on_story, decision
    lowered = route(story, article("n2", headline.lower(), body,
                                   datetime(2024, 5, 2, 15, tzinfo=UTC)))
    assert not lowered.on_story      # a name is written with a capital


def test_a_hyphenated_name_in_the_story_title_is_a_subject_beside_its_alias():
    story = StoryDefinition(
        slug="s", title="UK request to extradite Desmond Fairclough-Beckford ('the Yield Doctor')",
        description="Extradition from Jamaica.",
        entities=("Desmond Fairclough-Beckford", "the Yield Doctor", "Half Way Tree"),
        keywords=("extradition", "bail"))
    body = ("Desmond Fairclough-Beckford was refused bail at Half Way Tree on Thursday in the "
            "extradition case.\n\nHe was remanded until March 20.")
    decision = route(story, article("h1", "Fairclough-Beckford refused bail", body,
                                    datetime(2026, 3, 6, 15, tzinfo=UTC)))
    assert decision.on_story, decision


def test_a_word_for_word_copy_of_an_on_story_article_is_on_the_story():
    body = ("Marco Delgado Ruiz asked a Manhattan judge on Monday to lift the restrictions on "
            "his detention.\n\nHis lawyers said the drug trafficking defendant was held in "
            "his cell 23 hours a day.\n\nJudge Helen Park did not rule on the request.")
    first = article("c1", "Delgado Ruiz seeks to lift jail restrictions", body,
                    datetime(2017, 5, 2, 15, tzinfo=UTC))
    copy = article("c2", "Judge asked to ease jail conditions", body.replace(
        "Marco Delgado Ruiz asked", "A defendant asked"), datetime(2017, 5, 2, 18, tzinfo=UTC))
    assert not route(STORY, copy).on_story          # routing alone would send it away
    results = run_offline(STORY, [first, copy], RuleDecider())
    assert results[0].on_story and results[1].on_story
    assert results[1].duplicate_of == "c1"
    assert results[1].developments == ()


# -- one event, one development -------------------------------------------------------------------

def test_a_sentencing_is_a_sentence_and_not_also_a_held_hearing():
    body = ("Marco Delgado Ruiz was sentenced on Wednesday to 30 years in prison by Judge "
            "Helen Park in Manhattan for drug trafficking.\n\nThe sentencing hearing lasted "
            "two hours on Wednesday.")
    result = run_offline(STORY, [article("s1", "Delgado Ruiz gets 30 years", body,
                                         datetime(2017, 5, 4, 20, tzinfo=UTC))],
                         RuleDecider())[0]
    kinds = [(d.type, d.outcome) for d in result.developments]
    assert ("sentence", None) in kinds and ("hearing", "held") not in kinds


class KeepEvery:
    """Keeps every candidate with the outcome it was read with: what the article-level
    rules make of them alone."""
    reads_news = True

    def decide(self, article_id, items):
        return [Decision(i.candidate.finding.outcome) for i in items]


def test_an_appeal_decided_is_not_also_a_ruling_in_the_same_sentence():
    body = ("Two appeal judges on Friday dismissed the appeal of Marco Delgado Ruiz against "
            "his extradition to the United States.")
    result = run_offline(STORY, [article("a1", "Delgado Ruiz loses extradition appeal", body,
                                         datetime(2017, 5, 5, 20, tzinfo=UTC))],
                         KeepEvery())[0]
    kinds = [(d.type, d.outcome) for d in result.developments]
    assert ("appeal", "denied") in kinds, kinds
    assert not any(t == "ruling" for t, _ in kinds), kinds


@pytest.mark.parametrize(("decider", "first", "second"), [
    (KeepEvery(),       # the other side's request: another outcome
     "Judge Helen Park on Monday denied a request by Marco Delgado Ruiz to be moved out of "
     "solitary confinement.",
     "Judge Helen Park on Monday granted a government motion to keep Marco Delgado Ruiz in "
     "solitary confinement."),
    (RuleDecider(),     # an appeal court's decision told as a ruling
     "The Court of Appeal on Monday dismissed Marco Delgado Ruiz's appeal against his "
     "extradition to the United States.",
     "The High Court on Monday refused to block the extradition of Marco Delgado Ruiz to the "
     "United States."),
])
def test_another_outlet_s_telling_of_a_decision_of_that_day_corroborates_it(decider, first,
                                                                            second):
    reports = [article("d1", "Delgado Ruiz in court", first, datetime(2017, 5, 8, 21, tzinfo=UTC)),
               article("d2", "Delgado Ruiz ruling", second, datetime(2017, 5, 9, 14, tzinfo=UTC))]
    told, retold = run_offline(STORY, reports, decider)
    decision = next(d for d in told.developments if d.type in ("ruling", "appeal"))
    assert not retold.developments, retold.developments
    assert decision.id in {c.development_id for c in retold.corroborations}


def test_an_appeal_the_story_holds_told_again_without_a_day_is_not_dated_by_later_news():
    lodged = article("p1", "Delgado Ruiz appeals",
                     "Marco Delgado Ruiz filed a notice of appeal on Tuesday against his "
                     "conviction for drug trafficking.", datetime(2017, 6, 6, 20, tzinfo=UTC))
    later = article("p2", "Delgado Ruiz freed pending appeal",
                    "Marco Delgado Ruiz has appealed his conviction. On Monday the appeals court "
                    "granted him bail pending the appeal.", datetime(2017, 6, 13, 20, tzinfo=UTC))
    first, second = run_offline(STORY, [lodged, later], RuleDecider())
    assert ("appeal", None) in [(d.type, d.outcome) for d in first.developments]
    assert ("appeal", None) not in [(d.type, d.outcome) for d in second.developments]
    assert second.developments, "the news of the day still counts"


@pytest.mark.parametrize(("published", "day"), [
    (datetime(2017, 5, 5, 11, 30, tzinfo=UTC), "2017-05-04"),    # 7.30 a.m. in New York
    (datetime(2017, 5, 5, 4, 10, tzinfo=UTC), "2017-05-04"),     # filed at 0.10 a.m.
    (datetime(2017, 5, 5, 18, 0, tzinfo=UTC), "2017-05-05"),     # 2 p.m.
])
def test_news_told_without_a_day_in_a_morning_report_happened_the_day_before(published, day):
    """A report published before courts sit, or filed just after midnight, tells of the day
    before; one published in the afternoon, of that day."""
    body = "Judge Helen Park refused to release Marco Delgado Ruiz on bail in Manhattan."
    result = run_offline(STORY, [article("m1", "Delgado Ruiz stays in jail", body, published)],
                         KeepEvery())[0]
    dates = {d.date for d in result.developments if d.type == "ruling"}
    assert dates == {day}, [(d.type, d.outcome, d.date) for d in result.developments]


def test_a_court_s_undated_act_is_not_dated_by_the_arrest_before_it():
    """Arrested on Tuesday, refused bail in a report of Wednesday afternoon: refused that
    Wednesday; the arrest stays Tuesday."""
    body = ("Marco Delgado Ruiz was arrested on Tuesday at his home in Queens.\n\n"
            "Judge Helen Park refused to release him on bail.")
    result = run_offline(STORY, [article("c1", "Delgado Ruiz denied bail", body,
                                         datetime(2017, 5, 10, 19, 0, tzinfo=UTC))],
                         KeepEvery())[0]
    dates = {(d.type, d.date) for d in result.developments}
    assert ("ruling", "2017-05-10") in dates and ("custody", "2017-05-09") in dates, dates


# -- candidates and the learned decision ----------------------------------------------------------

def test_broad_cues_propose_what_the_phrasings_do_not_read():
    sentence = "The application for bail is DENIED, the minute entry says."
    ctx = article_context([sentence], datetime(2017, 5, 4).date())
    found = cue_candidates(sentence, 0, ctx, set())
    rulings = [c for c in found if c.finding.type == "ruling"]
    assert rulings and rulings[0].finding.outcome == "denied"
    assert "denied" in rulings[0].cue_outcomes


def test_an_appeal_and_a_decision_in_one_sentence_propose_the_appeal_decided():
    sentence = "The appeal is DISMISSED."
    ctx = article_context([sentence], datetime(2026, 7, 21).date())
    found = [c.finding for c in cue_candidates(sentence, 0, ctx, set())]
    assert any(f.type == "appeal" and f.outcome == "denied" for f in found), found
    assert any(f.type == "appeal" and f.outcome is None for f in found), found
    filed = "She lodged an appeal against the sentence on Monday."
    found = [c.finding for c in cue_candidates(filed, 0, article_context(
        [filed], datetime(2026, 7, 21).date()), set())]
    assert not any(f.type == "appeal" and f.outcome for f in found), found


@pytest.mark.parametrize(("sentence", "type_", "outcome"), [
    ("The session, held yesterday afternoon, lasted about an hour.", "hearing", "held"),
    ("His trial resumes on June 23 before the same judge.", "hearing", "scheduled"),
    ("Deputies led him from the courtroom in handcuffs after the verdict.", "custody", None),
    ("The group has today written to the minister asking for a visit.", "statement", None),
    ("The office has proposed recourse for cassation against the ordinance.", "appeal", None),
    ("The court did not take into account the complaint of his lawyer.", "ruling", "denied"),
    ("The treasurer was apprehended by detectives at his farm on Sunday.", "custody", None),
    ("She walked out of the remand prison at Vestre shortly after noon.", "custody", None),
    ("His counsel lodged a recours against the order on Friday.", "appeal", None),
    ("The chamber satisfied the motion of the prosecutor.", "ruling", "granted"),
    ("The bench acceded to the request of the defence for more time.", "ruling", "granted"),
    ("A division bench took up the petition on Tuesday.", "hearing", "held"),
    ("To come up on 14.07.2025 for arguments.", "hearing", "scheduled"),
    ("The magistrate stood the matter over to 9 July.", "hearing", "postponed"),
])
def test_broad_cues_reach_a_development_told_without_its_usual_verb(sentence, type_, outcome):
    ctx = article_context([sentence], datetime(2025, 6, 4).date())
    found = [c.finding for c in cue_candidates(sentence, 0, ctx, set())]
    assert any(f.type == type_ and f.outcome == outcome for f in found), found


@pytest.mark.parametrize(("sentence", "present", "absent"), [
    ("Mr Aldous was released from the county jail on Friday evening.",
     "custody|person_subject", "custody|thing_object"),
    ("On Friday the family released a joint letter to the judge.",
     "custody|thing_object", None),
    ("The agency released its findings on the jail.", "custody|thing_object",
     "custody|person_subject"),
])
def test_a_custody_candidate_reads_whether_someone_or_something_is_moved(sentence, present,
                                                                          absent):
    ctx = article_context([sentence], datetime(2025, 6, 4).date())
    custody = [c for c in cue_candidates(sentence, 0, ctx, set()) if c.finding.type == "custody"]
    assert custody
    features = candidate_features(custody[0], sentence, 1, datetime(2025, 6, 4).date(),
                                  StoryKnowledge(STORY), False, 0.0)
    assert present in features
    assert absent not in features


def test_a_candidate_reads_every_day_its_sentence_tells_of():
    sentence = "Accused to appear before the Circuit Criminal Court on 6 November 2026."
    published = datetime(2026, 10, 21).date()
    ctx = article_context([sentence], published)
    (hearing,) = [c for c in cue_candidates(sentence, 0, ctx, set())
                  if c.finding.type == "hearing"]
    features = candidate_features(hearing, sentence, 1, published, StoryKnowledge(STORY),
                                  False, 0.0)
    assert "hearing|sdate=future" in features
    assert not any(name.startswith("sdate=") and name != "sdate=future" for name in features)
    told = "The detention hearing was held on 19 October 2026, two days ago."
    features = candidate_features(hearing, told, 1, published, StoryKnowledge(STORY), False, 0.0)
    assert "sdate=2-3" in features and "sdate=future" not in features


def test_a_sentence_an_article_mostly_known_adds_is_marked_as_added():
    sentence = "They asked the judge to order a transfer."
    ctx = article_context([sentence], datetime(2025, 6, 4).date())
    candidates = cue_candidates(sentence, 0, ctx, set())
    assert candidates
    known = [False] * len(candidates)
    added = article_features(candidates, "", 10, 0.8, known)
    assert all("added_to_known" in f for f in added)
    # a sentence the story knows, or an article mostly new, is not "added"
    assert not any("added_to_known" in f
                   for f in article_features(candidates, "", 10, 0.8, [True] * len(known)))
    assert not any("added_to_known" in f
                   for f in article_features(candidates, "", 10, 0.2, known))


def test_evidence_overlaps_its_sentence_only():
    sentence = "Judge Park denied the request on Thursday."
    assert evidence_in("denied the request on Thursday", sentence)
    assert evidence_in("Judge Park denied the request on Thursday. She also set a date.",
                       sentence)
    assert not evidence_in("She set a hearing for Friday.", sentence)


def _items(sentence):
    ctx = article_context([sentence], datetime(2017, 5, 4).date())
    return [Item(c, sentence, {"bias": 1.0, f"type={c.finding.type}": 1.0})
            for c in cue_candidates(sentence, 0, ctx, set())]


def test_the_labeller_keeps_the_labelled_candidate_and_records_every_example():
    sentence = "Judge Park denied the request for bail on Thursday."
    items = _items(sentence)
    labels = {"a": {"developments": [{"type": "ruling", "outcome": "denied",
                                      "date": "2017-05-04",
                                      "evidence": "denied the request for bail"}]}}
    gold = GoldDecider(labels)
    decisions = gold.decide("a", items)
    kept = [(i.candidate.finding.type, d.outcome, d.date) for i, d in zip(items, decisions,
                                                                         strict=True) if d]
    assert kept == [("ruling", "denied", "2017-05-04")]
    assert len(gold.examples) == len(items)
    assert sum(e.keep for e in gold.examples) == 1 and not gold.missed


def test_a_learned_model_keeps_by_probability_and_picks_the_outcome():
    items = _items("Judge Park denied the request for bail on Thursday.")
    model = {"threshold": 0.5, "keep": {"bias": -1.0, "weights": {"type=ruling": 3.0}},
             "outcome": {"ruling": {"classes": ["denied", "granted"],
                                    "bias": {"denied": 0.0, "granted": 1.0},
                                    "weights": {"denied": {"type=ruling": 2.0},
                                                "granted": {}}}}}
    decisions = LearnedDecider(model).decide("a", items)
    kept = [(i.candidate.finding.type, d.outcome) for i, d in zip(items, decisions,
                                                                  strict=True) if d]
    assert kept == [("ruling", "denied")]


def test_fitting_is_deterministic():
    from services.story.analysis.decision import Example
    examples = [Example("a", "ruling", {"bias": 1, f"w{i % 7}": 1, f"v{i % 3}": 0.5},
                        i % 3 == 0, "denied" if i % 2 else "granted") for i in range(60)]
    first, second = fit(examples), fit(list(reversed(examples))[::-1])
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert first["keep"]["weights"]


def test_five_fold_story_cross_validation_scores_every_story_once():
    from services.story.analysis.training import leave_one_out

    stories = [s for s in load_splits() if s.split == "train"][:5]
    logged: list[str] = []
    parts = leave_one_out(stories, "folds", log=logged.append)
    assert sorted(parts) == ["all", "fold 1", "fold 2", "fold 3", "fold 4", "fold 5"]
    assert len(logged) == 5 and all("1 of 5 stories" in line for line in logged)
    assert sum(parts[f"fold {k}"]["articles"] for k in range(1, 6)) == parts["all"]["articles"] \
        == sum(len(s.story.labels) for s in stories)
    assert "copy_alerts" in parts["all"]


@pytest.mark.timeout(1200)     # several minutes: the proposer is fit six times, every story read
def test_the_packaged_model_is_what_storywire_train_builds(tmp_path):
    out = tmp_path / "model.json"
    subprocess.run([sys.executable, "-m", "services.cli", "train", "--out", str(out)],
                   cwd=ROOT, check=True, capture_output=True)
    assert out.read_text() == MODEL_FILE.read_text()
    assert (tmp_path / "routing_model.json").read_text() == ROUTING_MODEL_FILE.read_text()


# -- routing with a short definition ---------------------------------------------------------------

RULING_BODY = ("The application of the defendant Marek Dolan for release on conditions is DENIED. "
               "The matter is adjourned to June 3 for a status conference.")


def dolan(title="Court register: Dolan", body=RULING_BODY, id_="d1"):
    return Article(id=id_, outlet="Court Register", url=f"https://example.test/{id_}",
                   title=title, published_at=datetime(2025, 5, 12, 22, tzinfo=UTC), body=body)


def test_a_short_definition_routes_a_court_report_on_its_subject():
    short = StoryDefinition(slug="dolan", title="Marek Dolan fraud case",
                            entities=("Marek Dolan",), keywords=("fraud",))
    assert route(short, dolan()).on_story


def test_a_short_definition_still_refuses_the_subject_in_passing_or_on_another_topic():
    short = StoryDefinition(slug="dolan", title="Marek Dolan fraud case",
                            entities=("Marek Dolan",), keywords=("fraud",))
    cafe = dolan("Marek Dolan opens a bakery", "Marek Dolan opened a bakery in Quincy on "
                 "Saturday. Dolan said the bread recipes came from his grandmother.", "d2")
    passing = dolan("Judge denies bail to Quincy landlord",
                    "A judge denied bail on Tuesday to a Quincy landlord charged with arson. "
                    "The judge also presides over the case against Marek Dolan.", "d3")
    assert not route(short, cafe).on_story
    assert not route(short, passing).on_story


def test_initials_of_the_subject_in_the_definition_route_copy_that_names_no_one_in_full():
    story = StoryDefinition(slug="dolan", title="Marek Dolan fraud case",
                            entities=("Marek Dolan", "M.D."), keywords=("fraud",))
    initials = dolan("Court renews detention of accused in fraud case",
                     "The court decided yesterday to renew the detention of the accused (M.D.), "
                     "aged 52, for 15 days pending the fraud trial.", "d4")
    assert route(story, initials).on_story
    without = StoryDefinition(slug="dolan", title="Marek Dolan fraud case",
                              entities=("Marek Dolan",), keywords=("fraud",))
    assert not route(without, initials).on_story


@pytest.mark.parametrize("name, mention", [
    ("Marek D.", "the suspect Marek D. (52), who"),           # a masked surname
    ("the 52-year-old broker", "the 52-year-old broker, who"),  # a description of him
    ("the Quincy Ghost", "the Quincy Ghost, who"),            # a nickname with its article
])
def test_a_masked_name_a_description_or_a_nickname_of_the_subject_routes(name, mention):
    """Press that names the subject only so: the definition's name for him counts as the
    subject's (the description is the definition's own words about him)."""
    story = StoryDefinition(
        slug="dolan", title="Marek Dolan fraud case",
        description='Marek Dolan (52), a Quincy broker known as "the Quincy Ghost", is '
                    "charged with fraud.", entities=("Marek Dolan", name), keywords=("fraud",))
    masked = dolan("Court renews detention in fraud case",
                   f"The court decided yesterday to renew the detention of {mention} is "
                   "accused of fraud, for 15 days.", "d5")
    assert route(story, masked).on_story
    without = StoryDefinition(slug="dolan", title=story.title, description=story.description,
                              entities=("Marek Dolan",), keywords=("fraud",))
    assert not route(without, masked).on_story


def test_two_names_of_the_subject_in_one_article_make_it_prominent():
    """"Marek" and later "Dolan" name him twice; "Marek Dolan" once names him once."""
    story = StoryDefinition(slug="dolan", title="Marek Dolan fraud case",
                            entities=("Marek Dolan", "Dolan", "Marek"), keywords=("fraud",))
    body = ("A judge in Quincy set a trial date on Tuesday in the fraud case against the broker. "
            "The hearing lasted an hour. {} The judge said the fraud trial would begin in "
            "June. {}")
    twice = dolan("Trial date set in fraud case", body.format(
        "Lawyers for Marek argued for a later date.", "Dolan did not speak."), "d6")
    once = dolan("Trial date set in fraud case", body.format(
        "Lawyers for Marek Dolan argued for a later date.", ""), "d7")
    assert route(story, twice).on_story
    assert not route(story, once).on_story


def test_a_first_name_after_the_full_name_is_a_second_mention():
    """Named in full once, then by the first name alone ("Kamarul told the court"): named
    twice. The first name alone, without the full name, names no one."""
    story = StoryDefinition(slug="kamarul", title="Kamarul Ariffin Jusoh trafficking case",
                            entities=("Kamarul Ariffin Jusoh", "Roslan Mat Desa"),
                            keywords=("trafficking",))
    body = ("KUALA LUMPUR - A former driver was charged in the Sessions Court here today with "
            "trafficking more than 12 kilogrammes of methamphetamine in Cheras.\n\n"
            "No plea was recorded from {}, 31, after the charge was read to him. "
            "The case will be mentioned again next month. {} was remanded.")
    shortened = dolan("Driver charged over 12kg of drugs",
                      body.format("Kamarul Ariffin Jusoh", "Kamarul"), "d10")
    alone = dolan("Driver charged over 12kg of drugs", body.format("the driver", "Kamarul"),
                  "d11")
    once = dolan("Driver charged over 12kg of drugs",
                 body.format("Kamarul Ariffin Jusoh", "He"), "d12")
    assert route(story, shortened).on_story
    assert not route(story, alone).on_story
    assert not route(story, once).on_story


def test_the_subject_named_once_among_the_story_s_other_entities_routes():
    """A rewrite that never names the subject in its headline or opening, and names it once
    beside the jail, its operator, the agency and the judge, is about the story; named once
    beside one of them, it is a passing mention."""
    story = StoryDefinition(
        slug="red-mesa", title="Red Mesa detainees' heat lawsuit",
        entities=("Red Mesa Processing Center", "Cordillera Detention Services",
                  "Immigration and Customs Enforcement", "Sonoran Rights Project",
                  "Judge Harlan Whitcombe"),
        keywords=("heat", "detainees", "class action"))
    body = ("Immigrants held at an Arizona detention center have taken its operator to federal "
            "court over what they describe as dangerous heat, according to reports.\n\n"
            "According to one report, eleven detainees at the Red Mesa Processing Center filed "
            "a proposed class action {}. U.S. District Judge Harlan Whitcombe set a hearing "
            "on a temporary restraining order for Friday.")
    amid = dolan("Arizona detention heat lawsuit: what we know", body.format(
        "against Cordillera Detention Services and Immigration and Customs Enforcement, "
        "represented by the Sonoran Rights Project"), "d8")
    passing = dolan("Arizona detention heat lawsuit: what we know", body.format(
        "against the company that runs it"), "d9")
    assert route(story, amid).on_story
    assert not route(story, passing).on_story


def test_more_of_the_story_s_topic_never_sends_an_article_away():
    model = json.loads(ROUTING_MODEL_FILE.read_text())
    assert model["weights"] and all(w >= 0 for w in model["weights"].values())
    thin = StoryDefinition(slug="dolan", title="Marek Dolan case", entities=("Marek Dolan",))
    rich = StoryDefinition(slug="dolan", title="Marek Dolan fraud case",
                           description="The release fight of Marek Dolan, held on conditions",
                           entities=("Marek Dolan", "Judge Ruth Abernathy"),
                           keywords=("release", "status conference"))
    assert route(rich, dolan()).score >= route(thin, dolan()).score > 0


def test_routing_learns_from_short_definitions_of_every_training_story():
    stories = [s for s in load_splits() if s.split == "train"][:2]
    rows = [r for s in stories for r in routing_examples(s.story)]
    articles = sum(1 for s in stories for a in s.story.articles if a["id"] in s.story.labels)
    assert len(rows) > articles            # each article under several definitions
    assert {True, False} >= {on for _, on in rows}


def test_the_splits_keep_stories_apart_and_hold_no_guzman_coverage():
    stories = load_splits()
    by_split = {}
    for s in stories:
        by_split.setdefault(s.split, set()).add(s.story.slug)
    assert by_split["train"] and by_split["dev"] and by_split["test"]
    assert not (by_split["train"] & by_split["test"]) and not (by_split["dev"] & by_split["test"])
    for s in stories:
        text = json.dumps(s.story.story).lower() + " ".join(
            a["body"].lower() for a in s.story.articles)
        assert "guzman" not in text and "el chapo" not in text, s.story.slug


def test_every_corpus_passes_the_format_check():
    folders = [ROOT / "tests" / name for name in ("corpus", "blind", "blind2", "blind3",
                                                  "blind4", "blind5", "blind6", "blind7",
                                                  "blind8", "holdout")]
    result = subprocess.run([sys.executable, str(ROOT / "tests" / "check_corpus.py"),
                             *map(str, folders)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout
    strict = subprocess.run([sys.executable, str(ROOT / "tests" / "check_corpus.py"),
                             "--strict", str(ROOT / "tests" / "learn")],
                            capture_output=True, text=True)
    assert strict.returncode == 0, strict.stdout


@pytest.mark.parametrize("name", ["zones.json", "cues.json"])
def test_lexicons_are_data(name):
    data = json.loads((ROOT / "services" / "story" / "analysis" / name).read_text())
    assert data["about"]


# -- dates ----------------------------------------------------------------------------------------

def test_the_sentences_of_a_live_entry_are_the_entries_not_only_their_first():
    from services.story.analysis.text import article_sentences, live_entries
    body = ("Our reporters are posting from the courtroom. Newest posts are at the top.\n\n"
            "4:41 p.m. - And that's the day. Judge Roe denied the motion to suppress.\n\n"
            "The hearing resumes later.\n\n"
            "9:14 AM ET: We're on the record. The defendant sits beside his lawyer.")
    sentences = article_sentences(body, "LIVE: the suppression hearing")
    live = live_entries(body, "LIVE: the suppression hearing")
    assert {sentences[i] for i in live} == {
        "4:41 p.m. - And that's the day.", "Judge Roe denied the motion to suppress.",
        "9:14 AM ET: We're on the record.", "The defendant sits beside his lawyer."}


def test_a_live_entry_may_open_with_a_24_hour_time_and_no_mark():
    from services.story.analysis.text import article_sentences, live_entries
    body = ("18:40 UPDATE. The press service confirmed the verdict.\n\n"
            "15:52 The civil suits of 96 victims are satisfied.\n\n"
            "The court sat at 10:00 on Monday.")
    sentences = article_sentences(body)
    assert {sentences[i] for i in live_entries(body)} == {
        "18:40 UPDATE.", "The press service confirmed the verdict.",
        "15:52 The civil suits of 96 victims are satisfied."}


def test_an_undated_ruling_in_a_live_entry_happened_on_the_day_of_the_blog():
    body = ("Reporters are posting from the courtroom of Judge Helen Park as Marco Delgado "
            "Ruiz asks to ease his detention conditions.\n\n"
            "4:41 p.m. - And that's the day. Judge Helen Park denied Delgado Ruiz's request to "
            "lift the restrictions on his detention.\n\n"
            "9:14 a.m. - We're on the record in the courtroom.")
    published = datetime(2017, 5, 5, 1, 30, tzinfo=UTC)     # Thursday evening in New York
    result = run_offline(STORY, [article("l1", "LIVE: Delgado Ruiz detention hearing", body,
                                         published)], RuleDecider())[0]
    rulings = [d for d in result.developments if d.type == "ruling"]
    assert [d.date for d in rulings] == ["2017-05-04"]


def test_a_live_entry_is_not_dated_by_what_the_blog_retells_of_earlier_days():
    body = ("A jury was seated on Tuesday in the trial of Marco Delgado Ruiz in Manhattan.\n\n"
            "11:05 a.m. - Judge Helen Park denied the defense motion for a mistrial.")
    published = datetime(2017, 5, 10, 16, 0, tzinfo=UTC)    # Wednesday noon in New York
    result = run_offline(STORY, [article("l2", "LIVE: Delgado Ruiz trial, day two", body,
                                         published)], KeepEvery())[0]
    rulings = [d for d in result.developments if d.type == "ruling"]
    assert [d.date for d in rulings] == ["2017-05-10"], rulings


# -- one event told by two kinds in one sentence ---------------------------------------------------

def _finding(type_, outcome, sentence, date=None, matter="generic"):
    return Finding(type=type_, outcome=outcome, date=date, actors=(), evidence="",
                   sentence_index=sentence, matter=Matter(matter, matter, None, ()), status=None,
                   summary="")


def _kept(scored):
    verdicts = [(f, SentenceVerdict("", f.sentence_index, False), s) for f, s in scored]
    return [(f.type, f.outcome) for f, _ in _parts_of_one_event(verdicts)]


def test_a_notice_of_appeal_filed_is_the_appeal_not_also_a_filing():
    assert _kept([(_finding("appeal", None, 2), 0.9), (_finding("filing", None, 2), 0.6)]) == \
        [("appeal", None)]
    # in another sentence, the filing is its own
    assert _kept([(_finding("appeal", None, 2), 0.9), (_finding("filing", None, 3), 0.6)]) == \
        [("appeal", None), ("filing", None)]


def test_a_request_and_the_ruling_on_it_in_one_sentence_are_the_surer_reading():
    filing, ruling = _finding("filing", None, 1), _finding("ruling", "granted", 1)
    assert _kept([(filing, 0.9), (ruling, 0.08)]) == [("filing", None)]
    assert _kept([(filing, 0.3), (ruling, 0.8)]) == [("ruling", "granted")]
    # a ruling in the next sentence decides something of its own
    assert _kept([(filing, 0.9), (_finding("ruling", "granted", 2), 0.08)]) == \
        [("filing", None), ("ruling", "granted")]


def test_an_indictment_filed_and_the_charge_are_the_surer_reading():
    filing, charge = _finding("filing", None, 4), _finding("charge", None, 4)
    assert _kept([(filing, 0.7), (charge, 0.4)]) == [("filing", None)]
    assert _kept([(filing, 0.4), (charge, 0.7)]) == [("charge", None)]


def test_an_appeal_told_filed_and_decided_in_one_sentence_is_one_appeal():
    day = "2025-11-24"
    filed, decided = _finding("appeal", None, 6, day), _finding("appeal", "denied", 6, day)
    assert _kept([(filed, 0.8), (decided, 0.5)]) == [("appeal", None)]
    assert _kept([(filed, 0.5), (decided, 0.8)]) == [("appeal", "denied")]
    # filed on one day and decided on another: two events
    later = _finding("appeal", "denied", 6, "2026-02-02")
    assert _kept([(filed, 0.8), (later, 0.5)]) == [("appeal", None), ("appeal", "denied")]


def test_an_appeal_decided_and_a_ruling_in_one_sentence_are_the_surer_reading():
    decided, ruling = _finding("appeal", "denied", 2), _finding("ruling", "denied", 2)
    assert _kept([(decided, 0.8), (ruling, 0.6)]) == [("appeal", "denied")]
    # "an appeals panel turned down the request to stay the order pending appeal"
    assert _kept([(decided, 0.4), (ruling, 0.9)]) == [("ruling", "denied")]
    # read alike, the appellate decision is the appeal's outcome
    assert _kept([(decided, 1.0), (ruling, 1.0)]) == [("appeal", "denied")]


def test_a_hearing_read_put_off_and_scheduled_for_one_day_is_the_surer_reading():
    day = "2027-06-07"
    put_off = _finding("hearing", "postponed", 8, day)
    set_for = _finding("hearing", "scheduled", 8, day)
    assert _kept([(set_for, 0.99), (put_off, 0.65)]) == [("hearing", "scheduled")]
    assert _kept([(set_for, 0.5), (put_off, 0.9)]) == [("hearing", "postponed")]
    # two hearings on two days: both stay
    other = _finding("hearing", "scheduled", 8, "2027-05-01")
    assert _kept([(other, 0.5), (put_off, 0.9)]) == [("hearing", "scheduled"),
                                                    ("hearing", "postponed")]


def test_an_adjournment_granted_in_the_sentence_that_puts_a_hearing_off_is_the_postponement():
    put_off = _finding("hearing", "postponed", 3, "2025-06-02")
    assert _kept([(put_off, 0.7), (_finding("ruling", "granted", 3, "2025-04-11"), 0.9)]) == \
        [("hearing", "postponed")]
    assert _kept([(put_off, 0.7), (_finding("ruling", "granted", 4, "2025-04-11"), 0.9)]) == \
        [("hearing", "postponed"), ("ruling", "granted")]


def test_a_delay_refused_is_a_ruling_and_a_delay_granted_is_the_postponement():
    for put_off in (set(), {3}):
        refused = _finding("ruling", "denied", 3, "2025-04-11", matter="trial-delay")
        granted = _finding("ruling", "granted", 3, "2025-04-11", matter="trial-delay")
        assert not _part_of_postponement(refused, put_off, set())
        assert _part_of_postponement(granted, put_off, set())
    # a ruling on anything else is never the postponement
    assert not _part_of_postponement(_finding("ruling", "granted", 3, "2025-04-11"), {3}, set())


def test_only_the_appearance_that_puts_a_hearing_off_is_the_postponement():
    put_off = {3}
    new_dates = {"2025-06-02"}
    brief = _finding("hearing", "held", 3, "2025-04-11")
    conference = _finding("hearing", "held", 5, "2025-04-11")
    assert _part_of_postponement(brief, put_off, new_dates)
    assert not _part_of_postponement(conference, put_off, new_dates)
    on_new_day = _finding("hearing", "scheduled", 6, "2025-06-02")
    another_day = _finding("hearing", "scheduled", 6, "2025-07-01")
    assert _part_of_postponement(on_new_day, put_off, new_dates)
    assert not _part_of_postponement(another_day, put_off, new_dates)


@pytest.mark.parametrize("sentence, present, absent", [
    ("Judge Helen Park granted the bail application but refused the request to move him.",
     ("ruling|own_cue=granted", "ruling|own_cue=denied", "ruling|own_cue=both",
      "ruling|contrast_after"), ()),
    ("Judge Helen Park granted the bail application on Tuesday.",
     ("ruling|own_cue=granted",), ("ruling|own_cue=both", "ruling|contrast_after")),
])
def test_a_decision_reads_the_other_outcomes_and_the_limits_its_sentence_tells_of(
        sentence, present, absent):
    published = datetime(2025, 6, 4).date()
    ctx = article_context([sentence], published)
    (ruling,) = [c for c in cue_candidates(sentence, 0, ctx, set()) if c.finding.type == "ruling"]
    # read the same whichever reading proposed the candidate: a phrasing's too
    for candidate in (ruling, replace(ruling, source="rule", cue_outcomes=())):
        features = candidate_features(candidate, sentence, 1, published, StoryKnowledge(STORY),
                                      False, 0.0)
        assert all(name in features for name in present)
        assert not any(name in features for name in absent)
