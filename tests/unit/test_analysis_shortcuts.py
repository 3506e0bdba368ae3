"""The analysis skips work only where the skipped work could not change its answer."""

import random
import unicodedata
from pathlib import Path

from services.story.analysis import triggers
from services.story.analysis.corpus import load_story
from services.story.analysis.text import article_sentences, fold, plain, without_quotes

ROOT = Path(__file__).resolve().parents[1]


def _voices() -> list[str]:
    voices = []
    for folder in sorted(ROOT.glob("*/*/story.json")):
        for article in load_story(folder.parent).articles:
            for sentence in article_sentences(article["body"], article.get("title", "")):
                voices.append(triggers.reporter_voice(fold(without_quotes(sentence)).lower()))
    assert len(voices) > 1000
    return voices


def test_a_sentence_without_the_needed_words_matches_no_hearing_pattern():
    voices = _voices()
    for outcome, pattern, _ in triggers._HEARING_PATTERNS:
        needs = triggers._HEARING_NEEDS[outcome]
        for voice in voices:
            for m in pattern.finditer(voice):
                assert any(w in voice for w in needs), (outcome, m.group(0))


def test_a_sentence_without_the_needed_words_matches_no_verdict_pattern():
    for voice in _voices():
        if triggers._VERDICT.search(voice):
            assert any(w in voice for w in triggers._VERDICT_WORDS), voice


def test_filing_pattern_with_judges_differs_only_where_a_party_asks():
    names = triggers.names_alternation(("cogan", "smith"), "cogan smith")
    named = triggers.regex(triggers._FILING.pattern.replace("|JUDGE", names))
    samples = [*_voices(), "lawyers asked cogan to delay the trial",
               "they urged smith to act", "the defense filed a motion with cogan"]
    for voice in samples:
        if not any(w in voice for w in triggers._ASKING):
            assert [m.span() for m in named.finditer(voice)] == \
                [m.span() for m in triggers._FILING.finditer(voice)], voice
    assert named.search(samples[-3]).group("addressee") == "cogan"


def test_names_alternation_keeps_the_surnames_in_the_text_in_order():
    assert triggers.names_alternation(("o'neill", "cogan", "lee"), "judge lee and cogan") == \
        "|cogan|lee"
    assert triggers.names_alternation(("cogan",), "the court ruled") == ""


def test_fold_drops_combining_marks_as_a_per_character_pass_does():
    rng = random.Random(5)
    alphabet = [chr(c) for c in range(0x20, 0x250)] + ["\u0301", "\u0308", "\u2019", " "] * 20
    for _ in range(3000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 30)))
        decomposed = unicodedata.normalize("NFKD", plain(text))
        assert fold(text) == "".join(c for c in decomposed if not unicodedata.combining(c))
    assert fold("Guzmán Loera") == "Guzman Loera"
