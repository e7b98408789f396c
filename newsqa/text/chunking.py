"""Token-aware chunks of an article, cut at sentence boundaries, with exact character offsets."""

from __future__ import annotations

from dataclasses import dataclass

from .article import Article
from .tokens import Tokenizer, get_tokenizer

__all__ = ["Chunk", "chunk_article", "chunk_text"]


@dataclass(frozen=True, slots=True)
class Chunk:
    """``text == article.text[start:end]``; ``sentences`` are indices into ``article.sentences``.

    ``token_count`` is the sum of the sentences' counts: never below counting ``text`` at once, and
    at most about one token per sentence above it.
    """

    id: str
    text: str
    start: int
    end: int
    token_count: int
    sentences: range


def chunk_article(
    article: Article,
    *,
    max_tokens: int = 1000,
    overlap_tokens: int = 0,
    tokenizer: Tokenizer | None = None,
) -> list[Chunk]:
    """Split ``article`` into chunks of at most ``max_tokens`` tokens.

    Chunks end at sentence boundaries. A sentence longer than ``max_tokens`` gets chunks of its own,
    cut between words (or, for a run with no spaces, between characters). ``overlap_tokens`` repeats
    up to that many tokens' worth of whole trailing sentences at the start of the next chunk.
    The result depends only on the inputs.
    """
    if max_tokens < 8:
        raise ValueError("max_tokens must be at least 8")
    if not 0 <= overlap_tokens < max_tokens:
        raise ValueError("overlap_tokens must be >= 0 and smaller than max_tokens")
    tok = tokenizer or get_tokenizer()
    text = article.text
    sents = list(article.sentences)
    # The text between sentences (spaces, newlines) belongs to the sentence it follows.
    bounds = [(s.start, sents[i + 1].start if i + 1 < len(sents) else s.end) for i, s in enumerate(sents)]
    counts = tok.count_batch([text[a:b] for a, b in bounds])

    chunks: list[Chunk] = []

    def emit(first: int, last: int, start: int, end: int, count: int | None = None) -> None:
        end = start + len(text[start:end].rstrip())
        body = text[start:end]
        n = tok.count(body) if count is None else count
        chunks.append(Chunk(f"c{len(chunks)}", body, start, end, n, range(first, last + 1)))

    i = 0
    while i < len(sents):
        if counts[i] > max_tokens:
            for s, e in _split_long(text, bounds[i], max_tokens, tok):
                emit(i, i, s, e)
            i += 1
            continue
        j, total = i, 0
        while j < len(sents) and counts[j] <= max_tokens and total + counts[j] <= max_tokens:
            total += counts[j]
            j += 1
        # The sentences' own counts add up to at least the chunk's (BPE never merges across the
        # whitespace after a sentence end), so the sum is a safe budget without encoding it again.
        emit(i, j - 1, bounds[i][0], bounds[j - 1][1], total)
        if j >= len(sents):
            break
        # Step back over whole sentences for the overlap, but always move forward.
        k, back = j, 0
        while overlap_tokens and k - 1 > i and back + counts[k - 1] <= overlap_tokens:
            back += counts[k - 1]
            k -= 1
        i = k
    return chunks


def chunk_text(text: str, **kw: int) -> list[Chunk]:
    """Convenience: chunk a plain string (normalised as an :class:`Article` would be)."""
    return chunk_article(Article.from_text(text, parse_header=False), **kw)  # type: ignore[arg-type]


def _split_long(text: str, bound: tuple[int, int], max_tokens: int, tok: Tokenizer) -> list[tuple[int, int]]:
    """Cut one over-long sentence into pieces of at most ``max_tokens`` tokens each."""
    start, end = bound
    pieces: list[tuple[int, int]] = []
    s = start
    while s < end:
        e = _fit(text, s, end, max_tokens, tok)
        pieces.append((s, e))
        s = e
        while s < end and text[s].isspace():
            s += 1
    return pieces


def _fit(text: str, s: int, end: int, max_tokens: int, tok: Tokenizer) -> int:
    """The furthest cut point after ``s`` whose piece fits; prefers a cut after whitespace."""
    if tok.count(text[s:end]) <= max_tokens:
        return end
    lo, hi = s + 1, end  # invariant: text[s:lo] fits (one character always does for max_tokens >= 8)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if tok.count(text[s:mid]) <= max_tokens:
            lo = mid
        else:
            hi = mid - 1
    space = text.rfind(" ", s + 1, lo)
    return space + 1 if space > s + (lo - s) // 2 else lo
