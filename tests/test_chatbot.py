"""Chatbot embedding: tool definitions, the dispatcher, sessions, and the MCP server over stdio."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys

import pytest

import newsqa
from newsqa import tools
from newsqa.faces.session import Session
from newsqa.testing import ScriptedTransport

from .conftest import EXCHANGES, SAMPLE


def test_openai_tool_definitions_come_from_the_schemas() -> None:
    defs = {t["function"]["name"]: t["function"] for t in tools.openai_tools()}
    assert set(defs) == {"ask_article", "summarize_article"}
    ask = defs["ask_article"]
    assert ask["strict"] is True and ask["parameters"]["required"] == ["article", "question"]
    assert ask["parameters"]["additionalProperties"] is False
    assert "evidence" in ask["description"].lower() or "quotes" in ask["description"].lower()


def test_dispatch_runs_a_tool_call(replay_client: newsqa.ModelClient) -> None:
    call = {
        "function": {
            "name": "ask_article",
            "arguments": json.dumps({"article": SAMPLE.read_text(), "question": "Who requested what?"}),
        }
    }
    result = json.loads(tools.dispatch(call, client=replay_client))
    answer = newsqa.Answer.model_validate(result)
    assert answer.status == "answered" and "20,000" in (answer.answer or "")


def test_dispatch_reports_bad_calls_as_json_errors() -> None:
    bad = [
        {"function": {"name": "nope", "arguments": "{}"}},
        {"function": {"name": "ask_article", "arguments": '{"article": "x"}'}},
        {"function": {"name": "ask_article", "arguments": json.dumps({"article": " ", "question": "q"})}},
        {
            "function": {
                "name": "ask_article",
                "arguments": json.dumps({"article": "http://127.0.0.1/x", "question": "q"}),
            }
        },
    ]
    malformed: list[object] = [{"nothing": 1}, None, {"function": {"name": "ask_article"}}, 42]
    for call in [*bad, *malformed]:
        out = json.loads(tools.dispatch(call, client=newsqa.ModelClient(transport=ScriptedTransport([]), cache=False)))
        assert set(out) == {"error"} and out["error"]


def test_session_puts_earlier_turns_after_the_article(sample: newsqa.Article) -> None:
    t = ScriptedTransport(
        [
            {"evidence": ["S1"], "status": "answered", "answer": "20,000 National Guard troops"},
            {"evidence": ["S1"], "status": "answered", "answer": "The Department of Homeland Security"},
        ],
        verdict="yes",
    )
    s = Session(sample, client=newsqa.ModelClient(transport=t, cache=False))
    s.ask("What was requested?")
    s.ask("Who made it?")
    first, second = (r["messages"][-1]["content"] for r in t.requests if "<article>" in r["messages"][-1]["content"])
    assert "Earlier question" not in first
    assert (
        "Earlier question: What was requested?" in second and "Earlier answer: 20,000 National Guard troops" in second
    )
    assert first.split("</article>")[0] == second.split("</article>")[0]  # the article prefix is shared
    assert [a.question for a in s.history] == ["What was requested?", "Who made it?"]


def test_session_is_safe_from_concurrent_tasks(sample: newsqa.Article) -> None:
    words = ["Department", "Homeland", "Security", "Pentagon", "National Guard", "troops"]
    replies = [{"evidence": ["S1"], "status": "answered", "answer": w} for w in words]
    t = ScriptedTransport(replies, verdict="yes")
    s = Session(sample, client=newsqa.ModelClient(transport=t, cache=False))

    async def main() -> list[newsqa.Answer]:
        async with s.client:
            return await asyncio.gather(*(s.aask(f"Question {'?' * i}") for i in range(6)))

    answers = asyncio.run(main())
    assert len(s.history) == 6 and {a.answer for a in answers} == set(words)
    # Each request saw exactly the turns answered before it, in the order they were answered: without
    # the lock, concurrent tasks would read the same (empty) history.
    drafts = [r["messages"][-1]["content"] for r in t.requests if "<article>" in r["messages"][-1]["content"]]
    asked = [re.search(r"Question: (.*)", d).group(1) for d in drafts]  # type: ignore[union-attr]
    assert asked == [a.question for a in s.history]
    for k, draft in enumerate(drafts):
        assert re.findall(r"Earlier question: (.*)", draft) == asked[:k]


def test_mcp_server_over_stdio() -> None:
    pytest.importorskip("mcp")
    from mcp import Client, StdioServerParameters

    env = {**os.environ, "NEWSQA_REPLAY_DIR": str(EXCHANGES)}
    params = StdioServerParameters(command=sys.executable, args=["-m", "newsqa", "mcp"], env=env)
    text = SAMPLE.read_text()

    async def main() -> tuple[list[str], dict, dict]:
        async with Client(params, read_timeout_seconds=120) as client:
            listed = await client.list_tools()
            asked = await client.call_tool("ask_article", {"article": text, "question": "Who requested what?"})
            summary = await client.call_tool("summarize_article", {"article": text})
            assert not asked.is_error and not summary.is_error, (asked, summary)
            return [t.name for t in listed.tools], asked.structured_content, summary.structured_content

    names, asked, summary = asyncio.run(main())
    assert sorted(names) == ["ask_article", "summarize_article"]
    assert newsqa.Answer.model_validate(asked).status == "answered"
    assert newsqa.Summary.model_validate(summary).key_points


def test_mcp_errors_reach_the_client_readable() -> None:
    pytest.importorskip("mcp")
    from mcp import Client, StdioServerParameters

    env = {**os.environ, "NEWSQA_REPLAY_DIR": str(EXCHANGES)}
    params = StdioServerParameters(command=sys.executable, args=["-m", "newsqa", "mcp"], env=env)
    calls = {
        "empty": ("ask_article", {"article": "   ", "question": "Who?"}),
        "refused URL": ("ask_article", {"article": "http://127.0.0.1:9/story", "question": "Who?"}),
        "long question": ("ask_article", {"article": SAMPLE.read_text(), "question": "why " * 1000}),
        "oversize": ("summarize_article", {"article": "word " * 400_000}),
    }

    async def main() -> tuple[dict[str, str], object, object]:
        async with Client(params, read_timeout_seconds=120) as client:
            out = {}
            for name, (tool, args) in calls.items():
                r = await client.call_tool(tool, args)
                assert r.is_error, name
                out[name] = " ".join(c.text for c in r.content if hasattr(c, "text"))
            listed = await client.list_tools()
            return out, listed, client.server_info if hasattr(client, "server_info") else None

    errors, listed, _ = asyncio.run(main())
    assert "empty" in errors["empty"]
    assert "non-public address" in errors["refused URL"]
    assert "characters; the limit is" in errors["long question"]
    assert "limit" in errors["oversize"]
    ask = next(t for t in listed.tools if t.name == "ask_article")  # type: ignore[attr-defined]
    assert "URL" in ask.input_schema["properties"]["article"]["description"]
    assert ask.annotations.read_only_hint is True and ask.annotations.open_world_hint is True


def test_example_chatbot_runs() -> None:
    import subprocess

    from .conftest import ROOT

    env = {**os.environ, "NEWSQA_REPLAY_DIR": str(EXCHANGES)}
    r = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "chatbot.py"), str(SAMPLE)],
        input="What was requested?\nWho is reviewing it?\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "20,000" in r.stdout and ("Homeland Security" in r.stdout or "DHS" in r.stdout)
    assert r.stdout.count("Evidence") == 2


def test_example_tool_calling_bot() -> None:
    import subprocess

    from newsqa.testing import FakeOpenAIServer

    from .conftest import ROOT

    call = {
        "id": "call_1",
        "type": "function",
        "function": {
            "name": "ask_article",
            "arguments": json.dumps({"article": SAMPLE.read_text(), "question": "Who requested what?"}),
        },
    }
    first = {
        "id": "a",
        "object": "chat.completion",
        "created": 0,
        "model": "bot",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": None, "tool_calls": [call]},
                "finish_reason": "tool_calls",
            }
        ],
    }
    final = {
        "id": "b",
        "object": "chat.completion",
        "created": 0,
        "model": "bot",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "DHS asked for 20,000 troops."},
                "finish_reason": "stop",
            }
        ],
    }
    with FakeOpenAIServer([first, final]) as bot:
        env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
        env.update({"CHAT_BASE_URL": bot.base_url, "NEWSQA_REPLAY_DIR": str(EXCHANGES)})
        r = subprocess.run(
            [sys.executable, str(ROOT / "examples" / "openai_tools.py"), "Who asked for what?"],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
        )
        requests = bot.requests
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "DHS asked for 20,000 troops."
    assert [t["function"]["name"] for t in requests[0]["tools"]] == ["ask_article", "summarize_article"]
    tool_msg = requests[1]["messages"][-1]
    assert tool_msg["role"] == "tool" and tool_msg["tool_call_id"] == "call_1"
    answer = newsqa.Answer.model_validate_json(tool_msg["content"])
    assert answer.status == "answered" and "20,000" in (answer.answer or "")


def test_mcp_progress_notifications_reach_the_client() -> None:
    pytest.importorskip("mcp")
    from mcp import Client, StdioServerParameters

    env = {**os.environ, "NEWSQA_REPLAY_DIR": str(EXCHANGES)}
    params = StdioServerParameters(command=sys.executable, args=["-m", "newsqa", "mcp"], env=env)
    seen: list[tuple[float, float | None, str | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total, message))

    async def main() -> bool:
        async with Client(params, read_timeout_seconds=120) as client:
            args = {"article": SAMPLE.read_text(), "question": "Who requested what?"}
            r = await client.call_tool("ask_article", args, progress_callback=on_progress)
            return bool(r.is_error)

    assert asyncio.run(main()) is False
    messages = [m or "" for _, _, m in seen]
    assert any("answering" in m for m in messages) and any("checking" in m for m in messages), seen
    assert [p for p, _, _ in seen] == sorted(p for p, _, _ in seen)  # progress only grows


def test_library_progress_stages() -> None:
    stages: list[str] = []
    t = ScriptedTransport([{"evidence": ["S1"], "status": "answered", "answer": "20,000 troops"}], verdict="yes")
    client = newsqa.ModelClient(transport=t, cache=False)
    newsqa.ask(
        newsqa.Article.from_file(SAMPLE),
        "What was requested?",
        client=client,
        on_progress=lambda s: stages.append(s.name),
    )
    assert stages == ["answering", "checking", "done"]
