"""The check against outside knowledge: an answer may name nothing the article never mentions.

Such names and numbers cannot come from the article: the model filled a gap from what it knows (the
classic answer to an unanswerable question), so no second try can ground the answer.
"""

from __future__ import annotations

import functools

from ..text.words import STOPWORDS, abbreviated, mentions, names_and_numbers, normalise
from .base import Check, Claim, Context, Outcome

__all__ = ["OUTSIDE_KNOWLEDGE", "foreign_terms"]


@functools.lru_cache(maxsize=8)
def _searchable(text: str) -> str:
    return normalise(text).replace(",", "")


def foreign_terms(answer: str, article_text: str) -> list[str]:
    """Names and numbers in ``answer`` with a word that ``article_text`` never mentions."""
    text = _searchable(article_text)
    out: list[str] = []
    for term in names_and_numbers(answer):
        words = [w for w in term.split() if w.lower() not in STOPWORDS]
        needles = [(normalise(w).replace(",", "").rstrip("."), abbreviated(answer, w)) for w in words]
        if any(n and not mentions(text, n, abbreviation=dot) for n, dot in needles) and term not in out:
            out.append(term.rstrip("."))
    return out


def _outside_knowledge(claim: Claim, ctx: Context) -> Outcome:
    foreign = foreign_terms(claim.answer or "", ctx.article.text)
    return f"the answer names {', '.join(foreign)}, which the article never mentions" if foreign else None


OUTSIDE_KNOWLEDGE = Check(
    "outside_knowledge",
    "the answer names no person, place, organisation or number that the article never mentions",
    _outside_knowledge,
)
