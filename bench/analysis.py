"""How analysis time grows with what a story already knows, and routing with active stories.

Fills a StoryKnowledge with 100, 10,000 and 100,000 synthetic sentences, then times `analyze`
on the same ~20 articles against each (median), and prints the 100k/100 ratio. The sentences
are generated deterministically (random.Random(seed)) from varied templates, names and places.

Filling uses the public API: `StoryKnowledge.learn(article, analysis)` with analyses built
directly (every sentence new), the same path a replay of stored analyses takes; running
`analyze` on 100,000 sentences first would only make the set-up slower.

    .venv/bin/python bench/analysis.py [--sizes 100 10000 100000] [--articles 20]
                                       [--baseline-ref REV [--rounds N]]

With `--baseline-ref` (a git revision, e.g. the commit before the learned decision), the same
bench runs afterwards in a temporary checkout of that revision, in the same run and with the
same Python, and each size prints the ratio of ours to it. With `--rounds N` (and a baseline),
ours and the baseline are measured N times in turn, each in a fresh process, so that a slow
spell of a shared machine falls on both; each round prints its ratios, and the end their median
per size.

With `--stories 10 1000 10000`, the other dimension: how long routing one article to every
active story takes, with that many stories (the real `varela-detention` corpus story holding
the first half of its articles, and synthetic stories with their own people, organisations,
keywords and title words, each holding one article). Each probe article (the second half of
the real story's articles and articles of the other corpus stories) is routed through the
routing index (`StoryIndex.candidates`, then `takes` on those) and, as the baseline measured in
the same run, to every story (`takes` on each); the two must agree, and each size prints the
median per article of both and their ratio, and the indexed cost against that at the smallest
size.

    .venv/bin/python bench/analysis.py --stories 10 1000 10000 [--articles 20]
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.story.analysis import (  # noqa: E402
    Analysis,
    Article,
    SentenceVerdict,
    StoryDefinition,
    StoryIndex,
    StoryKnowledge,
    analyze,
    content_hash,
    takes,
)
from services.story.analysis.corpus import load_corpus  # noqa: E402
from services.story.analysis.routing import _article_text, article_keys  # noqa: E402

SEED = 20170504
STORY = StoryDefinition(
    slug="bench-trial", title="Ortega Vance trial",
    description="The federal case against Marisol Ortega Vance",
    entities=("Marisol Ortega Vance", "Ortega Vance"),
    keywords=("trial", "judge", "court", "prosecutors", "hearing"))

SYLLABLES = ("ka", "lo", "mer", "vin", "dra", "sol", "tek", "bra", "nu", "ori", "pas", "gen",
             "hal", "mi", "ros", "tan", "quel", "ber", "ski", "dor", "fen", "lu", "mar", "zel")
ROLES = ("prosecutor", "defense lawyer", "spokeswoman", "spokesman", "detective", "witness",
         "agent", "juror", "analyst", "former aide", "neighbor", "accountant", "clerk")
PLACES = ("Brooklyn", "Newark", "Miami", "Houston", "Chicago", "Phoenix", "Denver", "Tucson",
          "Albany", "Camden", "Laredo", "El Paso", "San Diego", "Boston", "Atlanta")
VERBS = ("testified", "told jurors", "said in a statement", "wrote in a filing", "argued",
         "told reporters", "said in an interview", "claimed", "acknowledged", "recalled")
THINGS = ("the shipments", "the wire transfers", "the warehouse", "the phone records",
          "the ledger", "the meetings", "the payments", "the contracts", "the emails",
          "the border crossings", "the surveillance footage", "the seized cash",
          "the shell companies", "the text messages", "the flight logs", "the bank accounts")
DETAILS = ("had been moved overnight", "were routed through three banks",
           "showed gaps of several weeks", "were signed by a relative",
           "did not match the invoices", "were kept in a locked cabinet",
           "included dozens of pages", "were recovered from a storage unit",
           "were never reported to regulators", "went missing for a month",
           "were discussed in coded language", "named at least four companies")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")
TEMPLATES = (
    "{person}, a {role} from {place}, {verb} that {thing} {detail}.",
    "{person} {verb} on {weekday} that {thing} {detail}, according to {person2}.",
    "According to {person}, {thing} {detail} and {thing2} {detail2}.",
    "In {place}, {person} {verb} that {thing} {detail} before the {number} arrests.",
    "{person2} said {person} never explained why {thing} {detail}.",
    "The {role} {person} {verb} that {number} of {thing} {detail}.",
    "{person} and {person2} met in {place} in {number} to discuss {thing}, records show.",
)


def name(rng: random.Random) -> str:
    def word() -> str:
        return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 3))).capitalize()
    return f"{word()} {word()}"


def sentence(rng: random.Random) -> str:
    return rng.choice(TEMPLATES).format(
        person=name(rng), person2=name(rng), role=rng.choice(ROLES), place=rng.choice(PLACES),
        verb=rng.choice(VERBS), thing=rng.choice(THINGS), thing2=rng.choice(THINGS),
        detail=rng.choice(DETAILS), detail2=rng.choice(DETAILS),
        weekday=rng.choice(WEEKDAYS), number=rng.randint(2, 2016))


def filled_knowledge(size: int, rng: random.Random, per_article: int = 25):
    """A knowledge holding `size` sentences, learnt article by article."""
    knowledge = StoryKnowledge(STORY)
    start = datetime(2016, 1, 1, tzinfo=UTC)
    texts: list[str] = []
    n = 0
    while len(texts) < size:
        count = min(per_article, size - len(texts))
        body_sentences = [sentence(rng) for _ in range(count)]
        body = "\n\n".join(body_sentences)
        article = Article(id=f"k{n}", outlet=f"outlet-{n % 40}", url="", title="",
                          published_at=start + timedelta(hours=n), body=body)
        verdicts = tuple(SentenceVerdict(text=t, index=i, known=False)
                         for i, t in enumerate(body_sentences))
        analysis = Analysis(article_id=article.id, on_story=True, route_score=1.0,
                            content_hash=content_hash(body), sentences=verdicts)
        knowledge.learn(article, analysis)
        texts.extend(body_sentences)
        n += 1
    return knowledge, texts


def probe_articles(rng: random.Random, known: list[str], count: int) -> list[Article]:
    """Articles about the story: a few sentences reused from the knowledge, the rest new."""
    articles = []
    for i in range(count):
        lines = [f"Marisol Ortega Vance appeared in federal court in {rng.choice(PLACES)} on "
                 f"{rng.choice(WEEKDAYS)} as prosecutors laid out the case against her.",
                 "A judge denied her request to move the trial on Thursday."]
        for _ in range(14):
            if rng.random() < 0.3:
                lines.append(rng.choice(known))
            else:
                lines.append(sentence(rng))
        lines.append("The hearing will resume on Monday, Ortega Vance's lawyers said.")
        articles.append(Article(id=f"probe{i}", outlet="Bench Wire", url="", title="",
                                published_at=datetime(2019, 6, 6, 15, tzinfo=UTC),
                                body="\n\n".join(lines)))
    return articles


def median_ms(knowledge: StoryKnowledge, articles: list[Article]) -> float:
    analyze(knowledge, articles[0])          # warm caches (pysbd, regexes)
    times = []
    for article in articles:
        started = time.perf_counter()
        analyze(knowledge, article)
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


CORPUS = Path(__file__).resolve().parents[1] / "tests" / "corpus"
REAL_STORY = "varela-detention"


def word(rng: random.Random) -> str:
    return "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(3, 4))).capitalize()


def synthetic_story(n: int, rng: random.Random) -> StoryKnowledge:
    """A story of its own people, organisation, keywords and title words, holding one
    article about them."""
    person, other, org = name(rng), name(rng), f"{word(rng)} Holdings"
    topic, place = word(rng).lower(), word(rng)
    story = StoryDefinition(
        slug=f"synthetic-{n}", title=f"{person.split()[1]} {place} {topic} dispute",
        description=f"The dispute between {person} and {org} over the {place} {topic}.",
        entities=(person, other, org), keywords=(topic, f"{topic} contract"))
    knowledge = StoryKnowledge(story)
    body = (f"{person} sued {org} on Monday over the {place} {topic}, court records show.\n\n"
            f"{other}, a lawyer for {org}, said the {topic} contract was lawful.")
    held = Article(id=f"held-{n}", outlet="Synthetic Wire", url="", title=f"{person} sues",
                   published_at=datetime(2019, 1, 1, tzinfo=UTC), body=body)
    verdicts = tuple(SentenceVerdict(text=t, index=i, known=False)
                     for i, t in enumerate(body.split("\n\n")))
    knowledge.learn(held, Analysis(article_id=held.id, on_story=True, route_score=1.0,
                                   content_hash=content_hash(body), sentences=verdicts))
    return knowledge


def real_story() -> tuple[StoryKnowledge, list[Article], list[Article]]:
    """The real story holding the first half of its articles; the other half, and the other
    corpus stories' articles."""
    stories = load_corpus(CORPUS)
    real = next(s for s in stories if s.slug == REAL_STORY)
    knowledge = StoryKnowledge(StoryDefinition.from_dict({"slug": real.slug, **real.story}))
    articles = [Article.from_dict(a) for a in real.articles]
    half = len(articles) // 2
    for article in articles[:half]:
        knowledge.learn(article, analyze(knowledge, article))
    others = [Article.from_dict(a) for s in stories if s.slug != REAL_STORY for a in s.articles]
    return knowledge, articles[half:], others


def routing_ms(stories: dict[str, StoryKnowledge], index: StoryIndex | None,
               articles: list[Article]) -> tuple[float, list[set[str]]]:
    """Median ms to route an article, through the index or to every story; the stories each
    article went to. Each article starts with routing's per-article caches empty."""
    times, routed = [], []
    for article in articles:
        _article_text.cache_clear()
        article_keys.cache_clear()
        started = time.perf_counter()
        if index is None:
            found = {slug for slug, knowledge in stories.items() if takes(knowledge, article)}
        else:
            found = {slug for slug in index.candidates(article) if takes(stories[slug], article)}
        times.append(time.perf_counter() - started)
        routed.append(found)
    return statistics.median(times) * 1000, routed


def bench_stories(counts: list[int], probes: int) -> None:
    real, later, others = real_story()
    rng = random.Random(SEED)
    articles = later[:probes // 2] + random.Random(SEED).sample(others, probes - probes // 2)
    synthetic = [synthetic_story(n, rng) for n in range(max(counts) - 1)]
    smallest = None
    for count in counts:
        stories = {real.story.slug: real} | {k.story.slug: k for k in synthetic[:count - 1]}
        index = StoryIndex()
        for knowledge in stories.values():
            index.put(knowledge.story)
            index.add_articles(knowledge.story.slug,
                               [a.content_hash for a in knowledge.articles],
                               [f.text for f in knowledge.facts])
        routing_ms(stories, None, articles[:2])          # warm both: profiles, regexes
        routing_ms(stories, index, articles[:2])
        everywhere, routed = routing_ms(stories, None, articles)
        indexed, routed_indexed = routing_ms(stories, index, articles)
        if routed != routed_indexed:
            raise SystemExit(f"{count} stories: the index routed differently")
        smallest = smallest or indexed
        on_story = sum(len(r) for r in routed)
        candidates = statistics.mean(len(index.candidates(a)) for a in articles)
        print(f"{count:>6} stories: indexed {indexed:8.3f} ms/article, every story "
              f"{everywhere:8.3f} ms/article: {everywhere / indexed:7.1f}x faster; indexed "
              f"{indexed / smallest:5.2f}x its cost at {counts[0]} stories "
              f"({candidates:.1f} candidates and {on_story / len(articles):.2f} stories "
              f"an article)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 10_000, 100_000])
    parser.add_argument("--articles", type=int, default=20)
    parser.add_argument("--baseline-ref", help="a git revision to measure beside this tree")
    parser.add_argument("--rounds", type=int, default=1,
                        help="with --baseline-ref: measure ours and it this often, in turn")
    parser.add_argument("--stories", type=int, nargs="+",
                        help="route to this many active stories instead (e.g. 10 1000 10000)")
    args = parser.parse_args()
    if args.stories:
        bench_stories(sorted(args.stories), args.articles)
        return

    if args.baseline_ref and args.rounds > 1:
        compare_in_rounds(args.baseline_ref, args.sizes, args.articles, args.rounds)
        return
    results = {}
    for size in args.sizes:
        rng = random.Random(SEED)
        started = time.perf_counter()
        knowledge, texts = filled_knowledge(size, rng)
        fill = time.perf_counter() - started
        articles = probe_articles(random.Random(SEED + 1), texts, args.articles)
        ms = median_ms(knowledge, articles)
        results[size] = ms
        stats = knowledge.index_stats()
        print(f"{size:>7} sentences: median {ms:7.2f} ms/article   (fill {fill:6.1f} s; "
              f"index: {stats['shingles']} shingles, {stats['common_shingles']} capped, "
              f"longest posting {stats['longest_posting']})")
    if 100 in results and 100_000 in results:
        print(f"ratio 100k/100: {results[100_000] / results[100]:.2f}")
    if args.baseline_ref:
        baseline = run_baseline(args.baseline_ref, args.sizes, args.articles)
        for size, ms in results.items():
            if size in baseline:
                print(f"{size:>7} sentences: {ms:7.2f} ms here, {baseline[size]:7.2f} ms at "
                      f"{args.baseline_ref}: {ms / baseline[size]:.2f}x")


def compare_in_rounds(ref: str, sizes: list[int], articles: int, rounds: int) -> None:
    """Ours and the baseline, each in a fresh process (no cache warmed by an earlier round),
    `rounds` times in turn; each round's ratios, then their median per size."""
    root = Path(__file__).resolve().parents[1]
    ratios: dict[int, list[float]] = {size: [] for size in sizes}
    for n in range(1, rounds + 1):
        ours = _medians(_run_tree(root, sizes, articles))
        baseline = run_baseline(ref, sizes, articles, quiet=True)
        for size in sizes:
            if size in ours and size in baseline:
                ratios[size].append(ours[size] / baseline[size])
                print(f"round {n}: {size:>7} sentences: {ours[size]:7.2f} ms here, "
                      f"{baseline[size]:7.2f} ms at {ref}: {ours[size] / baseline[size]:.2f}x")
        if 100 in ours and 100_000 in ours:
            print(f"round {n}: ratio 100k/100 here {ours[100_000] / ours[100]:.2f}")
    for size, values in ratios.items():
        if values:
            print(f"{size:>7} sentences: median of {len(values)} rounds "
                  f"{statistics.median(values):.2f}x (from {min(values):.2f}x to "
                  f"{max(values):.2f}x)")


_LINE = re.compile(r"^\s*(\d+) sentences: median\s+([\d.]+) ms/article", re.M)


def _run_tree(tree: Path, sizes: list[int], articles: int) -> str:
    """This bench's output as the checkout at `tree` runs it, in a process of its own."""
    return subprocess.run([sys.executable, str(tree / "bench" / "analysis.py"),
                           "--sizes", *map(str, sizes), "--articles", str(articles)],
                          check=True, capture_output=True, text=True, cwd=tree).stdout


def _medians(out: str) -> dict[int, float]:
    return {int(size): float(ms) for size, ms in _LINE.findall(out)}


def run_baseline(ref: str, sizes: list[int], articles: int,
                 quiet: bool = False) -> dict[int, float]:
    """This bench as it was at `ref`, run in a temporary git worktree; its medians by size."""
    root = Path(__file__).resolve().parents[1]
    with tempfile.TemporaryDirectory(prefix="storywire-baseline-") as tmp:
        tree = Path(tmp) / "tree"
        subprocess.run(["git", "-C", str(root), "worktree", "add", "--detach", "-q", str(tree),
                        ref], check=True)
        try:
            out = _run_tree(tree, sizes, articles)
        finally:
            subprocess.run(["git", "-C", str(root), "worktree", "remove", "--force", str(tree)],
                           check=False)
    if not quiet:
        print(f"baseline {ref}:\n" + out.rstrip())
    return _medians(out)


if __name__ == "__main__":
    main()
