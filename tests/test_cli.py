"""The CLI as a user meets it: real processes, exit codes, one-line errors, JSON that validates."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import newsqa
from newsqa.faces.cli import main

from .conftest import EXCHANGES, SAMPLE, on_a_terminal


def run(*args: str, stdin: bytes | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "NEWSQA_REPLAY_DIR": str(EXCHANGES), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "newsqa", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        env=full,
        timeout=120,
    )


def test_ask_json_prints_a_valid_answer() -> None:
    r = run("ask", "Who requested what?", str(SAMPLE), "--json")
    assert r.returncode == 0, r.stderr
    a = newsqa.Answer.model_validate_json(r.stdout)
    assert a.status == "answered" and "20,000" in (a.answer or "")
    data = json.loads(r.stdout)
    assert {"model", "cached", "usage", "evidence"} <= data.keys()
    assert "answered by embedded model" in r.stderr


def test_no_check_skips_the_second_reading() -> None:
    plain = run("ask", "Who requested what?", str(SAMPLE), "--json", "--no-cache")
    checked = newsqa.Answer.model_validate_json(plain.stdout)
    r = run("ask", "Who requested what?", str(SAMPLE), "--json", "--no-cache", "--no-check")
    assert r.returncode == 0, r.stderr
    a = newsqa.Answer.model_validate_json(r.stdout)
    assert (checked.usage.requests, a.usage.requests) == (2, 1)
    assert a.answer == checked.answer and a.evidence == checked.evidence


def test_summarize_json_prints_a_valid_summary() -> None:
    r = run("summarize", str(SAMPLE), "--json")
    assert r.returncode == 0, r.stderr
    newsqa.Summary.model_validate_json(r.stdout)


def test_human_output_shows_answer_then_quotes() -> None:
    r = run("ask", "Who requested what?", str(SAMPLE))
    assert r.returncode == 0, r.stderr
    assert r.stdout.index("20,000") < r.stdout.index("Evidence")


def test_not_in_article_is_success() -> None:
    r = run("ask", "What did the Governor of Texas say?", str(SAMPLE))
    assert r.returncode == 0 and "does not say" in r.stdout


def test_article_from_stdin() -> None:
    r = run("ask", "Who requested what?", "-", "--json", stdin=SAMPLE.read_bytes())
    assert r.returncode == 0, r.stderr


def test_cache_hit_from_second_process(tmp_path: Path) -> None:
    env = {"NEWSQA_CACHE_DIR": str(tmp_path)}
    first = run("ask", "Who requested what?", str(SAMPLE), "--json", env=env)
    second = run(
        "ask", "Who requested what?", str(SAMPLE), "--json", env={**env, "NEWSQA_REPLAY_DIR": str(tmp_path / "none")}
    )
    assert first.returncode == 0 and second.returncode == 0, second.stderr
    assert json.loads(second.stdout)["cached"] is True
    stats = run("cache", "stats", "--json", env=env)
    assert json.loads(stats.stdout)["entries"] == 2  # the answer draft and its check
    assert "removed 2" in run("cache", "clear", env=env).stdout


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["ask", "Q?", "/no/such/file.txt"], None, "no such file"),
        (["ask", "Q?", "-"], b"", "empty"),
        (["ask", "Q?", "-"], b"\x00\x01\x02binary", "binary"),
        (["ask", "", str(SAMPLE)], None, "question is empty"),
        (["ask", "Q?", str(SAMPLE), "--max-chars", "10"], None, "limit"),
        (["ask", "Q?", str(SAMPLE), "--base-url", "not a url"], None, "base URL"),
        (["ask"], None, "Missing argument"),
        (["frobnicate"], None, "No such command"),
    ],
)
def test_input_errors_exit_2_with_one_line(args: list[str], stdin: bytes | None, message: str) -> None:
    r = run(*args, stdin=stdin)
    assert r.returncode == 2, (r.stdout, r.stderr)
    assert message in r.stderr
    assert "Traceback" not in r.stderr


def test_model_errors_exit_3(tmp_path: Path) -> None:
    r = run("ask", "A question nobody recorded?", str(SAMPLE), env={"NEWSQA_CACHE_DIR": str(tmp_path)})
    assert r.returncode == 3 and "no recorded exchange" in r.stderr
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_missing_embedded_model_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import newsqa.model.weights

    monkeypatch.setattr(newsqa.model.weights, "_part_path", lambda i: None)
    monkeypatch.setattr(newsqa.model.weights, "_is_verified", lambda p: False)
    runner = CliRunner()
    result = runner.invoke(main, ["ask", "Who?", str(SAMPLE), "--no-cache"])
    assert result.exit_code == 3
    assert 'pip install "newsqa[local]"' in result.output


def test_help_everywhere() -> None:
    runner = CliRunner()
    for cmd in ([], ["ask"], ["summarize"], ["cache"], ["cache", "stats"], ["models"]):
        r = runner.invoke(main, [*cmd, "--help"])
        assert r.exit_code == 0 and "Usage" in r.output


def test_models_lists_the_embedded_model() -> None:
    r = CliRunner().invoke(main, ["models"])
    assert r.exit_code == 0 and "qwen2.5-coder-1.5b-instruct-q4_k_m" in r.output


def test_terminal_shows_the_answer_growing() -> None:
    env = {**os.environ, "NEWSQA_REPLAY_DIR": str(EXCHANGES), "COLUMNS": "200"}
    chunks, code, _ = on_a_terminal(["ask", "Who requested what?", str(SAMPLE)], env)
    out = b"".join(chunks).decode(errors="replace")
    assert code == 0, out
    assert len(chunks) > 2  # arrived in pieces, not at once
    assert "20,000" in out and "Evidence" in out


def test_a_terminal_sees_progress_within_a_second() -> None:
    env = {**os.environ, "NEWSQA_REPLAY_DIR": str(EXCHANGES), "COLUMNS": "200"}
    chunks, code, first = on_a_terminal(["ask", "Who requested what?", str(SAMPLE)], env)
    text = b"".join(chunks).decode(errors="replace")
    assert code == 0 and first is not None and first < 1.0, first
    assert "newsqa: reading" in text and "answering" in text and "checking the answer" in text


def test_piped_output_shows_no_progress() -> None:
    r = run("ask", "Who requested what?", str(SAMPLE))
    assert r.returncode == 0 and "answering" not in r.stderr
