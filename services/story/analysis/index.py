"""Finding the earlier sentences a sentence may repeat, without scanning them all.

An inverted index from word 3-shingles to sentence ids. A query probes only its rarest shingles,
and a shingle that grows common (more than `max_postings` sentences) stops being indexed at all,
so a lookup costs the same with a hundred sentences or a hundred thousand. Candidates from the
index are then scored with rapidfuzz.
"""

from __future__ import annotations

from collections import Counter

SHINGLE = 3


def shingles(tokens: list[str], size: int = SHINGLE) -> list[str]:
    if not tokens:
        return []
    if len(tokens) < size:
        return [" ".join(tokens)]
    return list(dict.fromkeys(" ".join(tokens[i:i + size])
                              for i in range(len(tokens) - size + 1)))


class ShingleIndex:
    def __init__(self, max_postings: int = 48, probes: int = 16, candidates: int = 8):
        self.max_postings = max_postings
        self.probes = probes
        self.candidates = candidates
        self._postings: dict[str, list[int]] = {}
        self._common: set[str] = set()
        self._exact: dict[str, int] = {}

    def __len__(self) -> int:
        return len(self._exact)

    def add(self, item: int, key: str, tokens: list[str]) -> None:
        """Index one sentence: `key` is its comparable text, `tokens` its words."""
        self._exact.setdefault(key, item)
        for shingle in shingles(tokens):
            if shingle in self._common:
                continue
            posting = self._postings.setdefault(shingle, [])
            if posting and posting[-1] == item:
                continue
            posting.append(item)
            if len(posting) > self.max_postings:
                del self._postings[shingle]
                self._common.add(shingle)

    def exact(self, key: str) -> int | None:
        return self._exact.get(key)

    def lookup(self, tokens: list[str]) -> list[int]:
        """Up to `candidates` sentence ids sharing the most of the query's rarest shingles."""
        probed = [(len(p), i, p) for i, s in enumerate(shingles(tokens))
                  if (p := self._postings.get(s))]
        probed.sort(key=lambda t: (t[0], t[1]))
        hits: Counter[int] = Counter()
        for _, _, posting in probed[:self.probes]:
            hits.update(posting)
        ranked = sorted(hits.items(), key=lambda kv: (-kv[1], kv[0]))
        return [item for item, _ in ranked[:self.candidates]]

    def stats(self) -> dict:
        sizes = [len(p) for p in self._postings.values()]
        return {"sentences": len(self._exact), "shingles": len(self._postings),
                "common_shingles": len(self._common),
                "longest_posting": max(sizes, default=0)}
