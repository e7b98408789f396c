"""A fake API key set for a whole run never shows up in fixtures, cache rows, logs, JSON, errors or reprs."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import httpx2
import pytest
from click.testing import CliRunner

import newsqa
from newsqa.faces.cli import main
from newsqa.testing import FakeOpenAIServer, ScriptedTransport

from .conftest import SAMPLE

KEY = "sk-proj-FAKE" + "x7Q9" * 10
GOOD = json.dumps({"evidence": ["S1"], "status": "answered", "answer": "The Department of Homeland Security"})
YES = json.dumps({"verdict": "yes"})


def test_key_is_never_written_anywhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    cache_dir, record_dir = tmp_path / "cache", tmp_path / "recorded"
    echo_key = (401, {}, json.dumps({"error": {"message": f"Incorrect API key provided: {KEY}"}}))
    with FakeOpenAIServer([GOOD, YES, GOOD, echo_key]) as server:
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("NEWSQA_MODEL", "fake")
        monkeypatch.setenv("NEWSQA_CACHE_DIR", str(cache_dir))
        monkeypatch.setenv("NEWSQA_RECORD_DIR", str(record_dir))
        caplog.set_level(logging.DEBUG)
        runner = CliRunner()
        outputs = []
        for args in (
            ["ask", "Who requested what?", str(SAMPLE), "--json", "-vv"],
            ["summarize", str(SAMPLE), "--json", "-vv"],  # the fake answers GOOD: invalid -> re-asks -> 401
            ["ask", "Who requested what?", str(SAMPLE), "--json", "-vv"],  # cached
            ["cache", "stats", "--json"],
            ["models", "--json"],
        ):
            r = runner.invoke(main, args)
            outputs.append(r.output)
            assert r.exception is None or isinstance(r.exception, SystemExit), r.exception
        client = newsqa.ModelClient()
        # An API error that echoes the key back, as OpenAI's 401 does.
        echo = ScriptedTransport([httpx2.Response(401, json=json.loads(echo_key[2]))])
        with pytest.raises(newsqa.BackendError) as info:
            newsqa.ModelClient(transport=echo, cache=False).complete([{"role": "user", "content": "x"}], newsqa.Answer)
    texts = [
        *outputs,
        caplog.text,
        repr(client),
        str(info.value),
        repr(info.value),
        json.dumps(info.value.__dict__, default=str),
    ]
    texts += [
        p.read_bytes().decode("utf-8", "replace") for d in (cache_dir, record_dir) for p in d.rglob("*") if p.is_file()
    ]
    assert any('"cached": true' in o for o in outputs)
    assert list(record_dir.glob("*.json"))
    for text in texts:
        assert KEY not in text
        assert KEY[:20] not in text


def test_no_exception_in_the_chain_carries_the_key(caplog: pytest.LogCaptureFixture) -> None:
    import traceback

    echo = (401, {}, json.dumps({"error": {"message": f"Incorrect API key provided: {KEY}"}}))
    with FakeOpenAIServer([echo]) as server:
        client = newsqa.ModelClient(base_url=server.base_url, api_key=KEY, model="fake", cache=False)
        with pytest.raises(newsqa.BackendError) as info:
            client.complete([{"role": "user", "content": "x"}], newsqa.Answer)
    chain: list[BaseException] = []
    exc: BaseException | None = info.value
    while exc is not None and len(chain) < 20:
        chain.append(exc)
        exc = exc.__cause__ or exc.__context__
    printed = "".join(traceback.format_exception(info.value))
    for text in [printed, *(repr(e) for e in chain), *(str(a) for e in chain for a in e.args)]:
        assert KEY not in text and KEY[:20] not in text


def test_log_records_never_carry_the_key(caplog: pytest.LogCaptureFixture) -> None:
    newsqa.ModelClient(base_url="http://127.0.0.1:9/v1", api_key=KEY, model="fake", cache=False)
    caplog.set_level(logging.INFO, logger="newsqa")
    logging.getLogger("newsqa").info("the server said %s", f"bad key {KEY}")
    assert KEY not in caplog.text and "[redacted]" in caplog.text
