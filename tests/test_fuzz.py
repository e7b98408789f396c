"""Hypothesis fuzzing: whatever comes in, only newsqa's typed errors come out."""

from __future__ import annotations

import os

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import newsqa
from newsqa import Article, chunk_article
from newsqa.faces.cli import main
from newsqa.grounding.locate import resolve_refs

from .conftest import SAMPLE


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_any_bytes_make_an_article_or_a_typed_error(data: bytes) -> None:
    try:
        a = Article.from_bytes(data)
    except newsqa.ArticleError:
        return
    assert a.text.strip() and all(a.text[s.start : s.end] == s.text for s in a.sentences)
    for c in chunk_article(a, max_tokens=16):
        assert a.text[c.start : c.end] == c.text
    resolve_refs(a, [data.decode("latin-1")[:100], "S1", "S0"])


def test_limits_are_enforced() -> None:
    with pytest.raises(newsqa.ArticleTooLargeError, match="lines"):
        Article.from_text("line.\n" * 100, max_lines=50)
    with pytest.raises(newsqa.ArticleError, match="nested"):
        newsqa.article_from_html("<div>" * 1000 + "text" + "</div>" * 1000)
    assert newsqa.article_from_html(
        "<html><body><article><p>" + "Real text here. " * 20 + "</p></article></body></html>"
    )


OPTIONS = st.sampled_from(
    [
        "--json",
        "--no-cache",
        "--model",
        "--base-url",
        "--gguf",
        "--max-chars",
        "--response-format",
        "-v",
        "--allow-private",
        "--help",
        "-",
        "--",
        "ask",
        "summarize",
        "cache",
        "stats",
        "clear",
    ]
)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    st.lists(
        st.one_of(OPTIONS, st.text(max_size=30), st.just(str(SAMPLE)), st.just("http://127.0.0.1:1/x")), max_size=6
    )
)
def test_cli_never_shows_a_traceback(tmp_path_factory: pytest.TempPathFactory, args: list[str]) -> None:
    empty = tmp_path_factory.mktemp("noreplay")
    env = {"NEWSQA_REPLAY_DIR": str(empty), "NEWSQA_CACHE_DIR": str(empty)}
    args = [a for a in args if "\x00" not in a]
    if args and args[0] == "cache" and "clear" in args:
        args = ["cache", "stats"]
    r = CliRunner(env=env).invoke(main, args, input="")
    assert r.exit_code in (0, 2, 3), (args, r.output)
    assert r.exception is None or isinstance(r.exception, SystemExit), (args, repr(r.exception))
    assert "Traceback" not in r.output
    assert os.environ.get("NEWSQA_REPLAY_DIR") != str(empty)
