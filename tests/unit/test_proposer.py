"""The learned source of candidates: what it reads of a sentence, when it proposes, and how it is
fit and used in training."""

from datetime import date

from services.story.analysis.developments import article_context
from services.story.analysis.proposer import (
    compiled,
    proposals,
    proposer_features,
    sentence_features,
    type_probabilities,
)
from services.story.analysis.training import fit_proposer, load_splits, proposer_sentences

PROPOSER = compiled({
    "threshold": 0.5,
    "types": {
        "ruling": {"bias": -3.0, "weights": {"w:magistrate": 1.0, "w:allowed": 2.5,
                                             "p:allowed_five": 0.5}},
        "custody": {"bias": -3.0, "weights": {"w:remanded": 4.0}},
    },
})
SENTENCE = "The magistrate allowed five days, not fourteen."


def test_a_sentence_is_read_as_its_words_and_pairs_of_words():
    features = sentence_features("The Judge allowed it.")
    assert {"w:the", "w:judge", "w:allowed", "w:it", "p:the_judge", "p:judge_allowed",
            "p:allowed_it"} == set(features)


def test_the_probability_of_a_type_adds_the_weights_of_the_words_present():
    p = type_probabilities(PROPOSER, SENTENCE)
    assert p["ruling"] > 0.5 > p["custody"]           # -3 + 1 + 2.5 + 0.5 = 1.0; -3.0
    assert type_probabilities(PROPOSER, "The magistrate sat.")["ruling"] < 0.5


def test_it_proposes_a_type_no_other_source_read_with_no_outcome_at_its_surest_word():
    ctx = article_context([SENTENCE], date(2025, 3, 4))
    found = proposals(PROPOSER, SENTENCE, 0, ctx, set())
    assert [(c.finding.type, c.finding.outcome, c.source) for c in found] == [
        ("ruling", None, "learned")]
    assert found[0].finding.trigger.lower() == "allowed"
    assert proposals(PROPOSER, SENTENCE, 0, ctx, {"ruling"}) == []     # already proposed
    assert proposals(None, SENTENCE, 0, ctx, set()) == []


def test_a_candidate_reads_what_the_proposer_says_of_its_type_in_its_sentence():
    p = type_probabilities(PROPOSER, SENTENCE)
    ruling = proposer_features("ruling", p)
    assert ruling["prop"] == p["ruling"] and ruling["ruling|prop=>=.7"] == 1.0
    assert proposer_features("custody", p)["prop=<.05"] == 1.0     # sigmoid(-3) = 0.047
    assert proposer_features("verdict", p) == {}                    # a type it does not know


def test_the_proposer_learns_the_types_of_the_labelled_evidence_sentences():
    stories = [s for s in load_splits() if s.split == "train"][:6]
    rows = [r for s in stories for r in proposer_sentences(s)]
    assert any(types for _, types in rows) and any(not types for _, types in rows)
    positives = [sentence for sentence, types in rows if "hearing" in types]
    negatives = [sentence for sentence, types in rows if not types]
    fitted = fit_proposer(stories)
    assert fitted["sentences"] == len(rows)
    model = compiled(fitted)

    def mean(sentences):
        return sum(type_probabilities(model, s)["hearing"] for s in sentences) / len(sentences)

    assert mean(positives) > 0.5 > mean(negatives)


def test_the_packaged_decider_is_built_once_with_its_proposer():
    from services.story.analysis.decision import default_decider

    decider = default_decider()
    assert decider is default_decider()          # indexing the proposer costs per build
    assert decider.proposer is not None and "ruling" in decider.proposer.types
