"""newsqa batch: corpora on one machine and on Ray Data, resumable, with the load bounded."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import newsqa
from newsqa.testing import FakeOpenAIServer, actions_reply, asks_for_actions, check_reply

from .conftest import ROOT, SAMPLE

SUMMARY = {
    "headline": "Council approves plan",
    "summary": "The council approved the plan.",
    "key_points": [{"point": "The council approved the plan.", "evidence": ["S1"]}],
    "entities": {"people": [], "organizations": [], "places": []},
    "actions": [],
}


def rule(body: dict[str, Any]) -> dict[str, Any]:
    if (checked := check_reply(body)) is not None:
        return checked
    if asks_for_actions(body):
        return actions_reply(body)
    if "Summarize" in body["messages"][-1]["content"]:
        return SUMMARY
    return {"evidence": ["S1"], "status": "answered", "answer": "the council"}


def corpus(tmp_path: Path, n: int = 12) -> Path:
    src = tmp_path / "articles.jsonl"
    with src.open("w") as f:
        for i in range(n):
            f.write(json.dumps({"id": f"a{i:03d}", "text": f"The council {i} approved the plan on Monday."}) + "\n")
        f.write(json.dumps({"id": "empty", "text": "   "}) + "\n")  # a bad article: an error record, not a stop
        f.write(json.dumps({"id": "gone", "path": "no-such-file.txt"}) + "\n")
    return src


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def comparable(rs: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    def core(r: dict[str, Any]) -> tuple[Any, ...]:
        result = r["result"] or {}
        return (r["id"], r["index"], r["task"], r["question"], r["ok"], result.get("status"), result.get("answer"),
                json.dumps(result.get("evidence")), result.get("headline"), (r["error"] or {}).get("type"))  # fmt: skip

    return sorted(core(r) for r in rs)


def test_local_engine_writes_a_record_per_task_and_bad_rows_become_errors(tmp_path: Path) -> None:
    src = corpus(tmp_path)
    with FakeOpenAIServer(rule, latency=0.01) as server:
        client = newsqa.ModelClient(base_url=server.base_url, model="m", cache=False, max_in_flight=3)
        report = newsqa.batch(
            src, tmp_path / "out.jsonl", questions=["Who approved it?"], summarize=True, client=client
        )
    rs = records(tmp_path / "out.jsonl")
    assert report.tasks == report.ran == len(rs) == 28 and report.errors == 4
    assert {(r["id"], r["error"]["type"]) for r in rs if not r["ok"]} == {
        ("empty", "EmptyArticleError"),
        ("gone", "ArticleNotFoundError"),
    }
    answer = newsqa.Answer.model_validate(next(r["result"] for r in rs if r["id"] == "a000" and r["task"] == "ask"))
    assert answer.status == "answered" and answer.evidence[0].start == 0
    assert server.peak_in_flight <= 3  # the client's limit holds across the articles in flight


def test_parquet_in_and_out(tmp_path: Path) -> None:
    pq = pytest.importorskip("pyarrow.parquet")
    import pyarrow as pa

    table = pa.Table.from_pylist([{"id": "x", "text": SAMPLE.read_text(), "questions": json.dumps(["Who?", "What?"])}])
    pq.write_table(table, tmp_path / "in.parquet")
    with FakeOpenAIServer(rule) as server:
        client = newsqa.ModelClient(base_url=server.base_url, model="m", cache=False)
        newsqa.batch(tmp_path / "in.parquet", tmp_path / "out.parquet", client=client)
    out = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert sorted(r["question"] for r in out) == ["What?", "Who?"] and all(r["status"] == "answered" for r in out)


def test_interrupted_batch_resumes_with_no_duplicate_and_no_missing_row(tmp_path: Path) -> None:
    src = corpus(tmp_path, n=40)
    out = tmp_path / "out.jsonl"
    code = (
        "import sys, newsqa\n"
        "c = newsqa.ModelClient(base_url=sys.argv[1], model='m', cache=False, max_in_flight=2)\n"
        f"newsqa.batch({str(src)!r}, {str(out)!r}, questions=['Who approved it?'], client=c, concurrency=2)\n"
    )
    with FakeOpenAIServer(rule, latency=0.05) as server:
        proc = subprocess.Popen(
            [sys.executable, "-c", code, server.base_url], env={**os.environ, "PYTHONPATH": str(ROOT)}
        )
        deadline = time.monotonic() + 60
        while (not out.exists() or len(out.read_text().splitlines()) < 10) and time.monotonic() < deadline:
            time.sleep(0.05)
        proc.send_signal(signal.SIGKILL)  # no clean-up at all: the worst interruption
        proc.wait()
        first = len(records(out))
        assert 10 <= first < 42
        with out.open("a") as f:
            f.write('{"id": "a039", "task": "ask", "quest')  # a record cut short by the kill
        client = newsqa.ModelClient(base_url=server.base_url, model="m", cache=False)
        report = newsqa.batch(src, out, questions=["Who approved it?"], client=client)
    rs = records(out)
    keys = [(r["id"], r["task"], r["question"]) for r in rs]
    assert len(keys) == len(set(keys)) == 42  # every task once
    assert report.skipped == first and report.ran == 42 - first


def test_cli_batch_json(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    src = corpus(tmp_path, n=3)
    with FakeOpenAIServer(rule) as server:
        env = {**os.environ, "OPENAI_BASE_URL": server.base_url, "NEWSQA_MODEL": "m"}
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "newsqa",
                "batch",
                str(src),
                "-q",
                "Who approved it?",
                "--summarize",
                "--out",
                str(tmp_path / "o.parquet"),
                "--json",
                "--no-cache",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["ran"] == 10
    rows = pq.read_table(tmp_path / "o.parquet").to_pylist()
    assert len(rows) == 10 and {r["task"] for r in rows} == {"ask", "summarize"}


def test_ray_engine_gives_the_same_records(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    from newsqa.corpus.ray import batch_on_ray

    src = corpus(tmp_path, n=6)
    with FakeOpenAIServer(rule, latency=0.01) as server:
        client = newsqa.ModelClient(base_url=server.base_url, model="m", cache=False, max_in_flight=4)
        newsqa.batch(src, tmp_path / "local.jsonl", questions=["Who approved it?"], summarize=True, client=client)
        options = {"base_url": server.base_url, "model": "m", "max_in_flight": 4}
        report = batch_on_ray(
            src,
            tmp_path / "ray.jsonl",
            questions=["Who approved it?"],
            summarize=True,
            client_options=options,
            concurrency=2,
            cache=False,
        )
        assert server.peak_in_flight <= 4  # 2 actors x 2 requests each
    assert report.ran == 16
    assert comparable(records(tmp_path / "ray.jsonl")) == comparable(records(tmp_path / "local.jsonl"))


def test_several_questions_share_one_draft_request_and_each_is_verified(tmp_path: Path) -> None:
    sys.path.insert(0, str(ROOT))
    from benchmarks.fake_llm import CountingServer

    questions = [
        "Who requested what?",
        "How many agents were drawn from other federal agencies?",
        "What is DHS offering people who leave voluntarily?",
        "Who is reviewing the request?",
        "What did the Governor of Texas say?",
    ]
    article = newsqa.Article.from_file(SAMPLE)
    with CountingServer() as server:
        client = newsqa.ModelClient(base_url=server.base_url, model="m", cache=False)
        single = [newsqa.ask(article, q, client=client) for q in questions]
        alone = server.counter.totals()
        server.reset()
        from newsqa.api.questions import aask_many
        from newsqa.model.loop import run_sync

        together = run_sync(aask_many(article, questions, client=client))
        shared = server.counter.totals()
    assert [a.question for a in together] == [a.question for a in single]
    for a in together:  # verified on its own: evidence that stands in the article, a decision with its checks
        assert all(article.text[e.start : e.end] == e.quote for e in a.evidence)
        assert a.checks or a.refusal
    assert shared["prompt_tokens"] < alone["prompt_tokens"] * 2 / 3  # a third fewer tokens at least
    assert sum(a.usage.requests for a in together) <= shared["calls"]
