from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import newsqa
from newsqa import Article


def test_normalises_line_ends_and_unicode() -> None:
    a = Article.from_text("Cafe\u0301 opens.\r\nIt is new.\r\n\r\nSecond para.")
    assert a.text == "Café opens.\nIt is new.\n\nSecond para."
    assert [s.text for s in a.sentences] == ["Café opens.", "It is new.", "Second para."]
    assert len(a.paragraphs) == 3


def test_header_is_metadata() -> None:
    a = Article.from_text("TITLE: Big news\nDATE: 2024-01-02\n\nBody text here.")
    assert (a.title, a.date, a.text) == ("Big news", "2024-01-02", "Body text here.")
    plain = Article.from_text("TITLE: not a header\nbecause no blank line follows", parse_header=False)
    assert plain.title is None


def test_sentences_respect_abbreviations() -> None:
    a = Article.from_text("Sen. John E. Smith met Dr. Jones in Washington, D.C. on Monday. They agreed.")
    assert [s.text for s in a.sentences] == [
        "Sen. John E. Smith met Dr. Jones in Washington, D.C. on Monday.",
        "They agreed.",
    ]


def test_citations_run_on_into_their_numbers() -> None:
    text = "He was charged under 18 U.S.C. 924(c) last year. He said no. They met at No. 10 and read Sec. 5 aloud."
    assert [s.text for s in Article.from_text(text).sentences] == [
        "He was charged under 18 U.S.C. 924(c) last year.",
        "He said no.",
        "They met at No. 10 and read Sec. 5 aloud.",
    ]


def test_content_hash_is_stable_across_line_endings() -> None:
    assert Article.from_text("One.\nTwo.").content_hash == Article.from_text("One.\r\nTwo.\r\n").content_hash
    assert Article.from_text("One.").content_hash != Article.from_text("Two.").content_hash


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t\n"])
def test_empty_article(text: str) -> None:
    with pytest.raises(newsqa.EmptyArticleError):
        Article.from_text(text)


def test_binary_article() -> None:
    with pytest.raises(newsqa.BinaryArticleError):
        Article.from_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR")
    with pytest.raises(newsqa.BinaryArticleError):
        Article.from_text("".join(chr(i) for i in range(1, 32)) * 10)


def test_undecodable_bytes_fall_back_and_say_so(caplog: pytest.LogCaptureFixture) -> None:
    a = Article.from_bytes("Caf\u00e9 \u201cquoted\u201d news.".encode("cp1252"))
    assert a.text == "Café “quoted” news."
    assert a.warnings and "Windows-1252" in a.warnings[0]
    assert "not valid UTF-8" in caplog.text


def test_utf16_with_bom() -> None:
    assert Article.from_bytes("Hello there.".encode("utf-16")).text == "Hello there."


def test_too_large() -> None:
    with pytest.raises(newsqa.ArticleTooLargeError):
        Article.from_text("word " * 1000, max_chars=100)
    with pytest.raises(newsqa.ArticleTooLargeError):
        Article.from_bytes(b"x" * 1000, max_chars=100)


def test_file_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(newsqa.ArticleNotFoundError):
        Article.from_file(tmp_path / "missing.txt")
    with pytest.raises(newsqa.ArticleNotFoundError):
        Article.from_file(tmp_path)
    p = tmp_path / "a.txt"
    p.write_text("Text from a file.")
    assert Article.from_file(p).text == "Text from a file."


def test_stdin() -> None:
    assert Article.from_stdin(io.BytesIO(b"From stdin.")).text == "From stdin."


def test_sample_article(sample: Article) -> None:
    assert len(sample.sentences) == 16
    assert sample.sentences[0].text.startswith("The Department of Homeland Security")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=400))
def test_offsets_round_trip_or_typed_error(text: str) -> None:
    try:
        a = Article.from_text(text)
    except newsqa.ArticleError:
        return
    for span in (*a.paragraphs, *a.sentences):
        assert a.text[span.start : span.end] == span.text
        assert span.text.strip() == span.text and span.text
    # Sentences tile the text in order, without overlap.
    ends = [s.end for s in a.sentences]
    starts = [s.start for s in a.sentences]
    assert all(e <= s for e, s in zip(ends, starts[1:], strict=False))
    inside = [False] * len(a.text)
    for s in a.sentences:
        for i in range(s.start, s.end):
            inside[i] = True
    assert all(inside[i] or a.text[i].isspace() for i in range(len(a.text)))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("He fell ill. Doctors said so.", ["He fell ill.", "Doctors said so."]),
        ("It was a mass. Then it ended.", ["It was a mass.", "Then it ended."]),
        ("Do not miss. Most will not.", ["Do not miss.", "Most will not."]),
        ("Sen. Jones of Ill. voted no. Others agreed.", ["Sen. Jones of Ill. voted no.", "Others agreed."]),
        ("They met in Boston, Mass. on Monday.", ["They met in Boston, Mass. on Monday."]),
    ],
)
def test_abbreviations_keep_their_case(text: str, expected: list[str]) -> None:
    assert [s.text for s in Article.from_text(text).sentences] == expected
