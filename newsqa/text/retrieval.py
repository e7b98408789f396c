"""Rank chunks of a long article for a question with Okapi BM25 (offline, no index to build)."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence

from .chunking import Chunk
from .words import STOPWORDS

__all__ = ["rank_chunks", "select_sentences"]

_WORD = re.compile(r"[^\W_]+(?:['’][^\W_]+)?")


def _terms(text: str) -> list[str]:
    out = []
    for w in _WORD.findall(text.lower()):
        if w in STOPWORDS:
            continue
        # Crude stemming: "requests"/"requested" meet "request".
        for suf in ("ing", "ed", "es", "s"):
            if len(w) > len(suf) + 3 and w.endswith(suf):
                w = w[: -len(suf)]
                break
        out.append(w)
    return out


def rank_chunks(chunks: Sequence[Chunk], query: str, *, k1: float = 1.5, b: float = 0.75) -> list[tuple[float, Chunk]]:
    """Chunks with their BM25 score for ``query``, best first; ties keep article order."""
    docs = [Counter(_terms(c.text)) for c in chunks]
    if not docs:
        return []
    n = len(docs)
    avg = sum(sum(d.values()) for d in docs) / n or 1.0
    df: Counter[str] = Counter()
    for d in docs:
        df.update(d.keys())
    q = set(_terms(query))
    scored = []
    for i, d in enumerate(docs):
        length = sum(d.values())
        score = 0.0
        for t in q:
            f = d.get(t, 0)
            if not f:
                continue
            idf = math.log(1 + (n - df[t] + 0.5) / (df[t] + 0.5))
            score += idf * f * (k1 + 1) / (f + k1 * (1 - b + b * length / avg))
        scored.append((score, i))
    scored.sort(key=lambda x: (-x[0], x[1]))
    return [(s, chunks[i]) for s, i in scored]


def select_sentences(chunks: Sequence[Chunk], query: str, budget: int) -> list[int]:
    """The sentences (0-based, in article order) of the best-ranked chunks that fit ``budget`` tokens.

    Tagging costs about four tokens per sentence, counted against the budget.
    """
    picked: set[int] = set()
    used = 0
    for _score, chunk in rank_chunks(chunks, query):
        cost = chunk.token_count + 4 * len(chunk.sentences)
        if used + cost > budget:
            continue
        picked.update(chunk.sentences)
        used += cost
    return sorted(picked)
