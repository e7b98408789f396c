"""Checks that an answer meets its question: it adds something, and its evidence is about what was asked.

Questions written to look answerable name things the text names and ask what it does not say;
the draft then answers from a sentence about something else. Two signals apply to every question:

- ``answer_adds``: an answer that only restates the question (no word of its own) answers nothing;
- ``question_terms``: the names and numbers the question asks about (a person, a place, a year, an
  amount) stand in the answer's evidence, or in the answer itself. Evidence about another person,
  year or amount is not about the question, however close its words.
"""

from __future__ import annotations

import re

from ..text.words import STOPWORDS, content_words, names_and_numbers
from .base import Check, Claim, Context, Outcome

__all__ = ["ANSWER_ADDS", "QUESTION_TERMS", "question_terms"]


def _answer_adds(claim: Claim, ctx: Context) -> Outcome:
    if content_words(claim.answer or "") - content_words(ctx.question):
        return None
    return "the answer only restates the question"


ANSWER_ADDS = Check("answer_adds", "the answer says something the question does not already say", _answer_adds)


def question_terms(question: str) -> list[str]:
    """The names and numbers a question asks about, as content-word stems (capitalised openers left out)."""
    words: list[str] = []
    for term in names_and_numbers(question):
        for w in term.split():
            w = re.sub(r"['’]s?$", "", w)  # Loudoun's -> Loudoun
            for key in content_words(w):
                if key not in words and key not in STOPWORDS:
                    words.append(key)
    return words


def _near_evidence(claim: Claim, ctx: Context) -> str:
    """The evidence with the sentence before each quote: where a pronoun's name usually stands."""
    sentences = ctx.article.sentences
    parts = [claim.answer or ""]
    for e in claim.evidence:
        k = next((i for i, s in enumerate(sentences) if s.start <= e.start < s.end + 1), None)
        if k is not None and k > 0:
            parts.append(sentences[k - 1].text)
        parts.append(e.quote)
    return " ".join(parts)


def _question_terms(claim: Claim, ctx: Context) -> Outcome:
    near = content_words(_near_evidence(claim, ctx))
    missing = [w for w in question_terms(ctx.question) if w not in near]
    if not missing:
        return None
    return f"the evidence does not mention {', '.join(missing)}, which the question asks about"


QUESTION_TERMS = Check(
    "question_terms",
    "the names and numbers the question asks about stand in the answer's evidence",
    _question_terms,
)
