"""Small text helpers shared along the pipeline: matching normalisation and stop words."""

from __future__ import annotations

import re

__all__ = ["STOPWORDS", "content_words", "normalise", "translate"]

_TRANSLATE = str.maketrans(
    {
        "\u2018": "'", "\u2019": "'", "\u201a": "'", "\u201b": "'", "\u2032": "'", "`": "'",
        "\u201c": '"', "\u201d": '"', "\u201e": '"', "\u201f": '"', "\u2033": '"', "\u00ab": '"', "\u00bb": '"',
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-", "\u2015": "-", "\u2212": "-",
        "\u00a0": " ", "\u2009": " ", "\u202f": " ", "\u2026": "...",
    }
)  # fmt: skip


def translate(s: str) -> str:
    """Curly quotes to straight, dashes to "-", odd spaces to " "."""
    return s.translate(_TRANSLATE)


def normalise(s: str) -> str:
    """Lower case, plain quotes and dashes, single spaces: the form quotes are matched in."""
    return re.sub(r"\s+", " ", translate(s).lower()).strip()


# Function words: ignored when ranking chunks and when checking an answer's names against its evidence.
STOPWORDS = frozenset(
    """a an the and or but of in on at to for from by with as is are was were be been being it its this that
    these those he she they we you i his her their our my yes no not none also than then there here who whom
    what when where why how which did does do has have had will would can could should may might into over
    about after before said says according mr mrs ms dr""".split()
)


_QUESTION_WORDS = frozenset(
    "who whom whose what which when where why how many much did does do was were is are".split()
)


def content_words(text: str) -> set[str]:
    """Content words (5-letter stems) and numbers (without separators) of ``text``."""
    out: set[str] = set()
    for w in re.findall(r"[a-z0-9][a-z0-9,.'-]*[a-z0-9]|[a-z0-9]", normalise(text)):
        w = w.replace(",", "")
        if w[0].isdigit():
            out.add(w)
        elif len(w) > 2 and w not in STOPWORDS and w not in _QUESTION_WORDS:
            out.add(w.split("'")[0][:5])
    return out
