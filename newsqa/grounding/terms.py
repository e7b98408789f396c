"""terms_in_evidence: a key point's names, numbers and half its words stand in its own evidence.

A small model summarising in two steps (notes per part, then a summary of the notes) cites note ids
in runs ("P1, P2, P3" for the first point, "P4, P5, P6" for the next), whatever each point says: the
point is true, its evidence is about something else. A reading of the evidence should refuse such a
point, but a small reader often does not. This rule needs no model:

    numbers         every number of the point stands in its evidence
    names           every word of its names stands in its evidence, or in the sentence before a piece
                    of evidence (a pronoun's antecedent: "His daughter's condition ..."); "Korea's"
                    is "Korea"
    content words   at least half of them (5-letter stems) stand in its evidence

Like ``slots_stated``, a failing point is re-cited from the sentence that holds its words if a
reading there confirms it, else dropped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..schemas import Evidence
from ..text.article import Article
from ..text.words import STOPWORDS, abbreviated, content_words, mentions, names_and_numbers, normalise
from .locate import sentences_before

__all__ = ["TERMS_IN_EVIDENCE", "terms_failure"]

TERMS_IN_EVIDENCE = "terms_in_evidence"
MIN_SHARED = 0.5  # of the point's content words: summaries paraphrase, but a small model mostly copies
_POSSESSIVE = re.compile(r"(?:['’]s|s['’])$")


def terms_failure(text: str, evidence: Sequence[Evidence], article: Article) -> str | None:
    """Why ``evidence`` does not hold ``text``'s terms, or None when it does (or there is none:
    that is ``evidence_found``'s to judge)."""
    if not evidence:
        return None
    quotes = " ".join(e.quote for e in evidence)
    missing = _missing(text, quotes, " ".join([*sentences_before(article, evidence), quotes]))
    if missing:
        return f"its evidence never gives {', '.join(missing[:3])}"
    words = content_words(text)
    shared = len(words & content_words(quotes))
    if words and shared < MIN_SHARED * len(words):
        return f"its evidence holds {shared} of its {len(words)} content words"
    return None


def _missing(text: str, quotes: str, with_antecedents: str) -> list[str]:
    """The words of ``text``'s numbers not in ``quotes``, and of its names not in ``with_antecedents``."""
    quoted = normalise(quotes).replace(",", "")
    names = normalise(with_antecedents).replace(",", "")
    out: list[str] = []
    for term in names_and_numbers(text):
        for word in term.split():
            bare = _POSSESSIVE.sub("", word).rstrip(".")
            needle = normalise(bare).replace(",", "")
            if not needle or needle in STOPWORDS or bare in out:
                continue
            if needle[:1].isdigit() and mentions(quoted, needle):
                continue
            if not needle[:1].isdigit() and mentions(names, needle, abbreviation=abbreviated(text, bare)):
                continue
            out.append(bare)
    return out
