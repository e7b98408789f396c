from __future__ import annotations

import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import newsqa
from newsqa import Article, chunk_article
from newsqa.text.tokens import get_tokenizer

WORDS = st.sampled_from(
    ["the", "Senate", "asked", "20,000", "troops", "Dr.", "U.S.", "résumé", "—", "“quote”", "x" * 40]
)


@st.composite
def articles(draw: st.DrawFn) -> str:
    paras = []
    for _ in range(draw(st.integers(1, 6))):
        sents = []
        for _ in range(draw(st.integers(1, 8))):
            words = draw(st.lists(WORDS, min_size=1, max_size=draw(st.sampled_from([5, 30, 200]))))
            sents.append(" ".join(words) + draw(st.sampled_from([".", "?", "!", ""])))
        paras.append(" ".join(sents))
    return "\n\n".join(paras)


@settings(max_examples=80, deadline=None)
@given(articles(), st.integers(8, 300), st.integers(0, 100))
def test_chunks_cover_text_and_offsets_round_trip(text: str, max_tokens: int, overlap: int) -> None:
    overlap = min(overlap, max_tokens - 1)
    a = Article.from_text(text)
    chunks = chunk_article(a, max_tokens=max_tokens, overlap_tokens=overlap)
    tok = get_tokenizer()
    covered = [False] * len(a.text)
    for c in chunks:
        assert a.text[c.start : c.end] == c.text
        assert tok.count(c.text) <= c.token_count <= max_tokens
        assert c.token_count <= tok.count(c.text) + len(c.sentences)
        for i in range(c.start, c.end):
            covered[i] = True
    assert all(covered[i] or a.text[i].isspace() for i in range(len(a.text)))
    assert [c.start for c in chunks] == sorted(c.start for c in chunks)
    assert chunks == chunk_article(a, max_tokens=max_tokens, overlap_tokens=overlap)  # deterministic


def test_chunks_end_at_sentence_boundaries(sample: Article) -> None:
    ends = {s.end for s in sample.sentences}
    chunks = chunk_article(sample, max_tokens=120)
    assert len(chunks) > 2
    assert all(c.end in ends for c in chunks)
    assert [c.id for c in chunks] == [f"c{i}" for i in range(len(chunks))]


def test_overlap_repeats_trailing_sentences(sample: Article) -> None:
    chunks = chunk_article(sample, max_tokens=150, overlap_tokens=60)
    assert any(b.start < a.end for a, b in itertools.pairwise(chunks))


def test_over_long_sentence_is_split_safely() -> None:
    a = Article.from_text(("word " * 500).strip() + ". " + "z" * 3000)
    chunks = chunk_article(a, max_tokens=50)
    assert len(chunks) > 10
    assert all(c.token_count <= 50 and a.text[c.start : c.end] == c.text for c in chunks)


def test_bad_parameters(sample: Article) -> None:
    with pytest.raises(ValueError):
        chunk_article(sample, max_tokens=4)
    with pytest.raises(ValueError):
        chunk_article(sample, max_tokens=100, overlap_tokens=100)


def test_offline_encoding_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "/nonexistent")
    with pytest.raises(newsqa.ConfigurationError, match="offline"):
        get_tokenizer("o200k_base")
