"""Which active stories an article could belong to, without scoring it against every one.

Routing puts an article on a story only when one of the story's subjects is named in it, and a
copy of an article the story holds only when it is the same text or shares something with the
story (see `engine.takes`). So a story is a candidate for an article when

- the article holds every token of one variant of one of its subjects ("joaquin guzman",
  "chapo"), found through an inverted index from a token of each variant to the stories;
- it holds an article with the same content hash;
- it holds articles, the article shares a token of any of its terms or a title word (else
  no term of the story matches in it, and the copy rule does not look), and half its
  sentences and two each share a word shingle with a sentence the story holds (else too few
  of them align to make it a copy: a sentence aligns only with one it shares a shingle
  with, see `StoryKnowledge.align`);
- or its definition cannot be indexed (no subject, a name with no ASCII letters): always.

Stories are added, edited and removed as they are defined, changed and archived; each lookup
costs the same with ten stories or ten thousand, plus the stories it finds. The index only
ever prunes stories `route` and the copy rule would reject: it never decides.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import lru_cache

from .engine import COPY_MIN_SENTENCES, COPY_SHARE
from .index import shingles
from .model import Article, StoryDefinition
from .routing import RouteKeys, article_keys, route_keys
from .text import article_sentences, words


@dataclass
class _Entry:
    story: StoryDefinition
    keys: RouteKeys
    holds_articles: bool = False
    hashes: set[str] = field(default_factory=set)


class StoryIndex:
    def __init__(self):
        self._stories: dict[str, _Entry] = {}
        self._subject: dict[str, dict[str, list[frozenset[str]]]] = {}  # token -> slug -> needs
        self._topic: dict[str, set[str]] = {}       # token or title word -> stories with articles
        self._hashes: dict[str, set[str]] = {}      # content hash -> stories holding it
        # word shingle of a sentence held -> the stories holding it (kept when a story goes:
        # a candidate must also be active and share a term)
        self._sentences: dict[str, set[str]] = {}
        self._always: set[str] = set()

    def __contains__(self, slug: str) -> bool:
        return slug in self._stories

    def __len__(self) -> int:
        return len(self._stories)

    def put(self, story: StoryDefinition) -> None:
        """Add an active story, or replace its definition (what it holds stays)."""
        entry = self._stories.get(story.slug)
        if entry is not None and entry.story == story:
            return
        held = entry.hashes if entry is not None else set()
        self.remove(story.slug)
        entry = _Entry(story, route_keys(story))
        self._stories[story.slug] = entry
        if not entry.keys.indexed:
            self._always.add(story.slug)
        for needs in filter(None, entry.keys.subject):
            self._subject.setdefault(_key(needs), {}).setdefault(story.slug, []).append(needs)
        self.add_articles(story.slug, held)

    def add_articles(self, slug: str, hashes: Iterable[str], sentences: Iterable[str] = ()
                     ) -> None:
        """The story now holds articles with these content hashes and sentences."""
        entry = self._stories[slug]
        for key in sentence_keys(sentences):
            self._sentences.setdefault(key, set()).add(slug)
        for digest in hashes:
            entry.hashes.add(digest)
            self._hashes.setdefault(digest, set()).add(slug)
            if not entry.holds_articles:
                entry.holds_articles = True
                for key in _topic(entry.keys):
                    self._topic.setdefault(key, set()).add(slug)

    def remove(self, slug: str) -> None:
        """An archived story: no article routes to it any more."""
        entry = self._stories.pop(slug, None)
        if entry is None:
            return
        self._always.discard(slug)
        for needs in filter(None, entry.keys.subject):
            _discard(self._subject, _key(needs), slug)
        if entry.holds_articles:
            for key in _topic(entry.keys):
                _discard(self._topic, key, slug)
        for digest in entry.hashes:
            _discard(self._hashes, digest, slug)

    def candidates(self, article: Article) -> set[str]:
        """Every story that could take the article as the stories stand now."""
        tokens, terms = article_keys(article.title, article.body)
        found = set(self._always)
        found.update(self._hashes.get(article.content_hash, ()))
        topic: set[str] = set()
        for token in tokens:
            by_story = self._subject.get(token)
            if by_story:
                found.update(slug for slug, needs in by_story.items()
                             if slug not in found and any(n <= tokens for n in needs))
            topic.update(self._topic.get(token, ()))
        for word in terms:
            topic.update(self._topic.get(word, ()))
        topic -= found
        if topic:
            found |= self._copied(topic, _article_sentence_keys(article.title, article.body))
        return found

    def _copied(self, stories: set[str], sentences: tuple[frozenset[str], ...]) -> set[str]:
        """Of `stories`, those the article could copy an article of: a copy has at least half
        its sentences, and two, aligned with the story's sentences (`engine._copy_of`), and
        a sentence aligns only with one it shares a key with."""
        # (the share is rounded to four places before it is compared)
        need = max(COPY_MIN_SENTENCES, len(sentences) * (COPY_SHARE - 0.00005))
        shared: Counter[str] = Counter()
        for keys in sentences:
            holding = set()
            for key in keys:
                holding.update(self._sentences.get(key, ()))
            shared.update(holding & stories)
        return {slug for slug, n in shared.items() if n >= need}

    def may_take(self, slug: str, article: Article, holds_articles: bool,
                 holds_copy: bool) -> bool:
        """Whether one story could take the article, given what it holds now (in a batch, a
        story learns the articles before this one)."""
        entry = self._stories.get(slug)
        if entry is None or not entry.keys.indexed or holds_copy:
            return True
        tokens, words = article_keys(article.title, article.body)
        if any(needs <= tokens for needs in entry.keys.subject):
            return True
        return holds_articles and not (entry.keys.topic.isdisjoint(tokens)
                                       and entry.keys.title_words.isdisjoint(words))


def sentence_keys(sentences: Iterable[str]) -> set[str]:
    """What a sentence shares with one it aligns with: a word shingle (the shingle index's,
    each sentence's own), or for a sentence without words the empty key."""
    keys = set()
    for sentence in sentences:
        keys.update(shingles(words(sentence)) or ("",))
    return keys


@lru_cache(maxsize=256)
def _article_sentence_keys(title: str, body: str) -> tuple[frozenset[str], ...]:
    """Each sentence's keys, as the copy rule splits the article."""
    return tuple(frozenset(sentence_keys([s])) for s in article_sentences(body, title))


def _key(needs: frozenset[str]) -> str:
    """The token a variant is filed under: its longest (the least common, as a rule)."""
    return max(sorted(needs), key=len)


def _topic(keys: RouteKeys) -> frozenset[str]:
    return keys.topic | keys.title_words


def _discard(postings: dict[str, dict | set], key: str, slug: str) -> None:
    posting = postings.get(key)
    if posting is None:
        return
    if isinstance(posting, dict):
        posting.pop(slug, None)
    else:
        posting.discard(slug)
    if not posting:
        del postings[key]
