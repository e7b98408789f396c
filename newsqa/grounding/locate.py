"""Locating evidence: the model's references turned into verified spans of the article.

A reference is a sentence id (``"S12"``) or a quote. Quotes are located exactly, then after
normalising whitespace, quote marks, dashes and case, then by a bounded fuzzy match against whole
sentences. Whatever cannot be located is dropped and reported; nothing unverified becomes Evidence.
For an answer, the sentences that hold the answer's own words are found too (:func:`regrounded`).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from ..schemas import Evidence
from ..text.article import Article
from ..text.chunking import Chunk
from ..text.hostile import instruction_like, quarantined
from ..text.words import STOPWORDS, abbreviated, content_words, mentions, names_and_numbers, normalise, translate

__all__ = [
    "Resolution",
    "answer_sentences",
    "citable",
    "locate_answer",
    "regrounded",
    "resolve_refs",
    "sentences_before",
    "unsupported_terms",
]

_ID = re.compile(r"\[?\s*S\s*(\d{1,6})\s*\]?", re.IGNORECASE)
_IDS_ONLY = re.compile(r"^[\s,;\[\]Ssand&0-9-]*$")
MAX_QUOTE_CHARS = 4000
FUZZY_MIN_RATIO = 0.88
FUZZY_MIN_CHARS = 24


@dataclass
class Resolution:
    evidence: list[Evidence] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)


class _Normalised:
    """The article text normalised for matching, with a map back to original offsets."""

    def __init__(self, text: str) -> None:
        chars: list[str] = []
        index: list[int] = []
        prev_space = True
        for i, ch in enumerate(text):
            for c in translate(ch).lower():
                if c.isspace():
                    if prev_space:
                        continue
                    c = " "
                    prev_space = True
                else:
                    prev_space = False
                chars.append(c)
                index.append(i)
        self.text = "".join(chars)
        self.index = index


_norm_cache: dict[str, _Normalised] = {}


def _normalised(article: Article) -> _Normalised:
    key = article.content_hash
    if key not in _norm_cache:
        if len(_norm_cache) > 16:
            _norm_cache.clear()
        _norm_cache[key] = _Normalised(article.text)
    return _norm_cache[key]


def _chunk_of(chunks: Sequence[Chunk] | None, start: int, end: int) -> str | None:
    if not chunks:
        return None
    for c in chunks:
        if c.start <= start and end <= c.end:
            return c.id
    return None


def _span(article: Article, start: int, end: int, chunks: Sequence[Chunk] | None) -> Evidence:
    return Evidence(quote=article.text[start:end], start=start, end=end, chunk_id=_chunk_of(chunks, start, end))


def locate_quote(article: Article, quote: str) -> tuple[int, int] | None:
    """Where ``quote`` stands in the article, or None. Exact, then normalised, then fuzzy."""
    q = quote.strip().strip("\"'“”‘’").strip()
    if not q or len(q) > MAX_QUOTE_CHARS:
        return None
    i = article.text.find(q)
    if i >= 0:
        return i, i + len(q)
    norm = _normalised(article)
    nq = normalise(q)
    if len(nq) < 3:
        return None
    j = norm.text.find(nq)
    if j >= 0:
        return norm.index[j], norm.index[j + len(nq) - 1] + 1
    if len(nq) < FUZZY_MIN_CHARS:
        return None
    best: tuple[float, int, int] = (0.0, 0, 0)
    sents = article.sentences
    for k in range(len(sents)):
        # Windows of one and two sentences: a quote may run across a sentence boundary.
        for w in (1, 2):
            if k + w > len(sents):
                break
            s, e = sents[k].start, sents[k + w - 1].end
            cand = normalise(article.text[s:e])
            if not 0.6 * len(nq) <= len(cand) <= 1.6 * len(nq) + 40:
                continue
            m = difflib.SequenceMatcher(None, nq, cand, autojunk=False)
            if m.real_quick_ratio() < FUZZY_MIN_RATIO or m.quick_ratio() < FUZZY_MIN_RATIO:
                continue
            r = m.ratio()
            if r > best[0]:
                best = (r, s, e)
    if best[0] >= FUZZY_MIN_RATIO:
        return best[1], best[2]
    return None


def resolve_refs(
    article: Article,
    refs: Iterable[str],
    *,
    chunks: Sequence[Chunk] | None = None,
    allowed_sentences: set[int] | None = None,
) -> Resolution:
    """Verified :class:`Evidence` for each reference; references that do not check out are ``rejected``.

    ``allowed_sentences`` (0-based) limits sentence ids to those the model was shown.
    """
    res = Resolution()
    seen: set[tuple[int, int]] = set()

    def add(start: int, end: int) -> None:
        if (start, end) not in seen:
            seen.add((start, end))
            res.evidence.append(_span(article, start, end, chunks))

    n = len(article.sentences)
    for ref in refs:
        if not isinstance(ref, str) or not ref.strip():
            continue
        if _IDS_ONLY.match(ref) and _ID.search(ref):
            for m in _ID.finditer(ref):
                k = int(m.group(1)) - 1
                if 0 <= k < n and (allowed_sentences is None or k in allowed_sentences):
                    s = article.sentences[k]
                    add(s.start, s.end)
                else:
                    res.rejected.append(m.group(0).strip())
            continue
        loc = locate_quote(article, ref)
        if loc is None:
            res.rejected.append(ref[:200])
        else:
            add(*loc)
    return res


def unsupported_terms(answer: str | None, evidence: Sequence[Evidence]) -> list[str]:
    """Numbers and capitalised names in ``answer`` that no evidence quote contains."""
    if not answer:
        return []
    haystack = normalise(" ".join(e.quote for e in evidence)).replace(",", "")
    out: list[str] = []
    for term in names_and_numbers(answer):
        words = [w for w in term.split() if w.lower() not in STOPWORDS]
        if not words:
            continue
        for w in words:
            needle = normalise(w).replace(",", "").rstrip(".")
            if needle and not mentions(haystack, needle, abbreviation=abbreviated(answer, w)) and w not in out:
                out.append(w.rstrip("."))
    return out


def answer_sentences(
    article: Article,
    answer: str,
    question: str,
    evidence: Sequence[Evidence],
    *,
    allowed_sentences: set[int] | None = None,
    max_sentences: int = 2,
) -> list[int]:
    """Sentences (0-based) that state what ``answer`` adds to ``question`` better than ``evidence`` does.

    Small models often write a right answer, copied from the article, and cite the wrong sentence
    id: the one before, or one that merely shares the question's words. Checking the answer against
    the sentence that really holds its words is fairer, to the answer and to the user, than rejecting
    it. A sentence is only taken when it holds all of the answer's new names and numbers that the
    cited evidence lacks, and at least half of its new words; ties go to the sentence sharing more
    of the question. Returns [] when the evidence already holds the answer or nothing better exists.
    """
    new = content_words(answer) - content_words(question)
    if not new:
        return []
    keys = {w for w in new if w[0].isdigit()} | {_stem(t) for t in unsupported_terms(answer, []) if _stem(t) in new}
    have = content_words(" ".join(e.quote for e in evidence))
    missing = new - have
    if not missing or (not (keys & missing) and len(missing) * 2 < len(new)):
        return []
    asked = content_words(question)
    picked: list[int] = []
    for _ in range(max_sentences):
        best: tuple[float, int] | None = None
        for k, s in enumerate(article.sentences):
            if (allowed_sentences is not None and k not in allowed_sentences) or k in picked:
                continue
            ws = content_words(s.text)
            gain = missing & ws
            # The first sentence must hold every missing name and number; a second may complete a list.
            if not gain or (not picked and not (keys & missing) <= ws):
                continue
            if picked and len(gain) < 2 and not gain & keys:
                continue
            score = len(gain) + len(gain & keys) + 0.5 * len(asked & ws)
            if best is None or score > best[0]:
                best = (score, k)
        if best is None:
            break
        picked.append(best[1])
        missing -= content_words(article.sentences[best[1]].text)
        if not missing:
            break
    if keys & missing or 2 * len(new - missing) < len(new):
        return []
    return picked


def _stem(term: str) -> str:
    w = normalise(term).replace(",", "").rstrip(".")
    return w if w[:1].isdigit() else w.split("'")[0][:5]


def regrounded(
    article: Article,
    answer: str,
    question: str,
    evidence: Sequence[Evidence],
    *,
    chunks: Sequence[Chunk] | None = None,
    allowed_sentences: set[int] | None = None,
) -> list[Evidence]:
    """``evidence`` with the sentences that hold ``answer`` added (see :func:`answer_sentences`).

    When sentences are added, cited ones that share nothing with what the answer adds to the
    question are dropped: they were the wrong id, not support. Spans keep article order.
    """
    picked = answer_sentences(article, answer, question, evidence, allowed_sentences=allowed_sentences)
    if not picked:
        return list(evidence)
    new = content_words(answer) - content_words(question)
    kept = [e for e in evidence if content_words(e.quote) & new]
    added = resolve_refs(article, [f"S{k + 1}" for k in picked], chunks=chunks).evidence
    spans = {(e.start, e.end): e for e in kept + added}
    return [spans[k] for k in sorted(spans)]


def locate_answer(
    article: Article,
    refs: Sequence[str],
    answer: str | None,
    question: str,
    *,
    chunks: Sequence[Chunk] | None = None,
    allowed_sentences: set[int] | None = None,
) -> Resolution:
    """Verified evidence for an answer: its references located, plus the sentences that hold its words.

    A sentence that gives orders to an AI is a planted instruction, never a source for an answer.
    """
    found = resolve_refs(article, refs, chunks=chunks, allowed_sentences=allowed_sentences)
    found.evidence = citable(article, found.evidence)
    if answer and answer.strip():
        ev = regrounded(article, answer, question, found.evidence, chunks=chunks, allowed_sentences=allowed_sentences)
        found.evidence = citable(article, ev)
    return found


def sentences_before(article: Article, evidence: Sequence[Evidence]) -> list[str]:
    """The sentence just before each piece of ``evidence``: where a pronoun's antecedent stands
    ("She said ..."), for the rules that let a party be named there."""
    out: list[str] = []
    for e in evidence:
        k = next((i for i, s in enumerate(article.sentences) if s.start <= e.start < s.end), None)
        if k:
            out.append(article.sentences[k - 1].text)
    return out


def citable(article: Article, evidence: Sequence[Evidence]) -> list[Evidence]:
    """``evidence`` less what may never support anything: planted instructions, imitated chat turns."""
    suspect = quarantined(article)
    spans = [(article.sentences[k].start, article.sentences[k].end) for k in suspect]
    return [
        e for e in evidence if not instruction_like(e.quote) and not any(a < e.end and e.start < b for a, b in spans)
    ]
