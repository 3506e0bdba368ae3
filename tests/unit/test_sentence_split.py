"""The fast sentence split agrees with pysbd wherever it answers, and leaves the rest to it."""

import glob
import random
from pathlib import Path

import pytest

from services.story.analysis.corpus import load_story
from services.story.analysis.text import _plain_split, _pysbd_split, _segmenter, split_paragraphs

ROOT = Path(__file__).resolve().parents[1]

SAMPLES = [
    "The judge ruled on Tuesday. Prosecutors said they would appeal.",
    "A federal judge refused to release him. His lawyers said they were disappointed",
    "Guzman's lawyers filed the motion. The judge's order followed.",
    'The ruling was "a travesty," his lawyer said. Prosecutors declined to comment.',
    '"We will appeal," she said. The hearing is set for Friday.',
    'He called the charges "baseless" and vowed to fight them. Jurors heard from agents.',
    'She said "no" Guzman replied. The court adjourned.',
    'He said "I am done." Then he left.',
    "He left the U.S. The next day he returned.",
    "He was arrested in Brooklyn, N.Y. He denied the charges.",
    "The hearing starts at 9 a.m. Tuesday. Lawyers will attend.",
    "The hearing started at 9 a.m. The judge was late.",
    "Mr. Guzman denied it. Mrs. Ortega agreed. Dr. Lee testified.",
    "Judge Brian M. Cogan ruled. J. R. Smith objected.",
    "He paid $18.5 million. The fine was 3.5 percent of revenue.",
    "He waited . . . and waited. Then the jury returned.",
    "He waited... Then the jury returned.",
    "Is it over? The jury said yes.",
    "Stop! The police said.",
    "He worked at Yahoo! The company denied it.",
    "The firm is Acme Co. KG. It denied wrongdoing.",
    "It was filed on Sept. 12. The court agreed.",
    "He lives at 12 Main St. The house was searched.",
    "The case is No. 5. It was dismissed.",
    "He cited 1. the law and 2. the facts. The judge agreed.",
    "Guzmán was extradited. Ortega Vance was not.",
    "He said it was 'over.' The lawyers disagreed.",
    "The lawyers' fees were cut. The judge said they were high.",
    "He saw him in Washington. Wash. State is far.",
    "Sen. Smith spoke. Gov. Jones did not.",
    "The vote was 5-4. The dissent was long.",
    "See (i) the motion and (ii) the reply. The court agreed.",
    "He was born in 1970. He is 47.",
    "The trial -- delayed twice -- begins. Jurors were picked.",
    "He left. then the jury came back.",
    "Ortega Vance, 47, denied it. Her lawyer agreed.",
]


def _corpus_paragraphs() -> list[str]:
    paragraphs: list[str] = []
    for folder in sorted(ROOT.glob("*/*/story.json")):
        story = load_story(folder.parent)
        for article in story.articles:
            paragraphs += split_paragraphs(article["body"])
    for seed in sorted(glob.glob("/work/shared/seeds/*.txt")):
        paragraphs += split_paragraphs(Path(seed).read_text())
    return paragraphs


def _agree(paragraph: str) -> bool:
    fast = _plain_split(paragraph)
    return fast is None or fast == _pysbd_split(paragraph)


@pytest.mark.parametrize("paragraph", SAMPLES)
def test_fast_split_agrees_with_pysbd_on_samples(paragraph):
    assert _agree(paragraph)


def test_fast_split_answers_plain_paragraphs_and_leaves_ambiguous_ones():
    assert _plain_split(SAMPLES[0]) == ["The judge ruled on Tuesday.",
                                        "Prosecutors said they would appeal."]
    assert _plain_split(SAMPLES[3]) is not None
    for ambiguous in ("He left the U.S. The next day he returned.",
                      "The hearing started at 9 a.m. The judge was late.",
                      "Mr. Guzman denied it.", "He paid $18.5 million.",
                      "He waited . . . and waited.", 'He said "I am done." Then he left.'):
        assert _plain_split(ambiguous) is None


def test_fast_split_agrees_with_pysbd_on_every_corpus_paragraph():
    paragraphs = _corpus_paragraphs()
    assert len(paragraphs) > 1000
    answered = [p for p in paragraphs if _plain_split(p) is not None]
    assert len(answered) > len(paragraphs) / 3
    assert [p for p in answered if not _agree(p)] == []


def test_fast_split_agrees_with_pysbd_on_generated_paragraphs():
    rng = random.Random(20170504)
    vocabulary = ("the judge said court ruled trial he was in of and Guzman Guzmán Cogan I Mr "
                  "Dr St Co KG Inc No Gen Sen Mass Miss Wash May Jan Sept v vs is ok me man i "
                  "ii x a 2 25 2017 10:30 $18 5% lawyers' Guzman's don't O'Neill so-called "
                  "The He She It In We What There However").split()
    checked = 0
    for _ in range(3000):
        sentences = []
        for _ in range(rng.randint(1, 4)):
            ws = [rng.choice(vocabulary) for _ in range(rng.randint(1, 9))]
            if rng.random() < 0.3:
                i = rng.randrange(len(ws))
                ws[i] = f'"{ws[i]}' + rng.choice(['"', ',"'])
            s = " ".join(ws)
            sentences.append(s[:1].upper() + s[1:] + rng.choice([".", ".", "?", "!", ""]))
        paragraph = " ".join(sentences)
        if _plain_split(paragraph) is not None:
            checked += 1
            assert _plain_split(paragraph) == _pysbd_split(paragraph), paragraph
    assert checked > 200


def _pysbd_itself(paragraph: str) -> list[str]:
    pieces = [s.strip() for s in _segmenter().segment(paragraph)]
    return [s for s in pieces if s]


def test_pysbd_split_finds_the_sentences_pysbd_segment_finds():
    paragraphs = SAMPLES + _corpus_paragraphs()
    assert [p for p in paragraphs if _pysbd_split(p) != _pysbd_itself(p)] == []


def test_pysbd_split_finds_repeated_sentences_and_odd_spacing_as_pysbd_does():
    rng = random.Random(7)
    pieces = ["He said so.", "He said so.", "U.S. officials agreed.", "Mr. Lee left.", "Why?",
              "Stop!", '"No."', "(AP)", "1. First.", "2. Second.", "...", "a.m.", "He  left.",
              "Then \u00a0he\tleft.", "so."]
    for _ in range(2000):
        paragraph = " ".join(rng.choice(pieces) for _ in range(rng.randint(1, 6)))
        assert _pysbd_split(paragraph) == _pysbd_itself(paragraph), paragraph
