from __future__ import annotations

import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest

import newsqa

from .conftest import SAMPLE


def test_all_is_exactly_the_public_names() -> None:
    public = {
        n for n in dir(newsqa) if not n.startswith("_") and not isinstance(getattr(newsqa, n), types.ModuleType)
    } - {"annotations"}
    assert set(newsqa.__all__) - {"__version__"} == public


def test_every_error_is_a_newsqa_error() -> None:
    for name in newsqa.__all__:
        obj = getattr(newsqa, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, newsqa.NewsQAError), name


def test_import_is_light() -> None:
    # Public names load on first use; importing the package pulls in none of its dependencies.
    heavy = "('openai', 'tiktoken', 'llama_cpp', 'rich', 'httpx2', 'pydantic', 'asyncio', 'click', 'sqlite3')"
    code = f"import sys, newsqa; print(sorted(m for m in {heavy} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_public_names_load_on_first_use() -> None:
    code = "import newsqa; from newsqa import *; print(ask.__module__, Answer.__module__, NewsQAError.__module__)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["newsqa.api.sync", "newsqa.schemas", "newsqa.errors"]


def test_prompts_ship_with_the_package() -> None:
    from newsqa import prompts

    for name in prompts.PROMPT_NAMES:
        assert prompts.load(name)
    assert len(prompts.prompt_version()) == 16


def test_production_paths_never_load_the_test_kit(tmp_path: Path) -> None:
    """ask, summarize and extract over an ordinary HTTP endpoint import no test-kit module."""
    from newsqa.testing import FakeOpenAIServer, actions_reply, asks_for_actions, check_reply

    def rule(body: dict[str, Any]) -> dict[str, Any]:
        user = body["messages"][-1]["content"]
        if (checked := check_reply(body)) is not None:
            return checked
        if asks_for_actions(body):
            return actions_reply(body)
        if "Summarize" in user:
            entities = {"people": [], "organizations": [], "places": []}
            return {
                "headline": "DHS asks",
                "summary": "DHS asked.",
                "key_points": [],
                "entities": entities,
                "actions": [],
            }
        if "Extract" in user:
            return {"requester": "DHS"}
        return {"evidence": ["S1"], "status": "answered", "answer": "20,000 National Guard troops"}

    code = f"""
import sys, newsqa
from pydantic import BaseModel
class R(BaseModel):
    requester: str
c = newsqa.ModelClient(base_url=sys.argv[1], model="m", cache=False)
a = newsqa.Article.from_file({str(SAMPLE)!r})
assert newsqa.ask(a, "What was requested?", client=c).status == "answered"
newsqa.summarize(a, client=c)
newsqa.extract(a, schema=R, client=c)
loaded = sorted(m for m in sys.modules if m in ("newsqa.testing", "newsqa.model.recording") or m.startswith("tests"))
print(loaded)
"""
    with FakeOpenAIServer(rule) as server:
        r = subprocess.run([sys.executable, "-c", code, server.base_url], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "[]"


def test_a_thousand_cached_sync_calls_use_one_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    import asyncio

    import newsqa
    from newsqa.testing import ScriptedTransport

    reply = {"evidence": ["S1"], "status": "answered", "answer": "20,000 National Guard troops"}
    client = newsqa.ModelClient(transport=ScriptedTransport([reply], verdict="yes"))
    article = newsqa.Article.from_file(SAMPLE)
    newsqa.ask(article, "What was requested?", client=client)  # fills the cache
    loops: set[int] = set()
    made: list[object] = []
    real_new = asyncio.new_event_loop
    monkeypatch.setattr(asyncio, "new_event_loop", lambda: made.append(1) or real_new())
    real_get = client.cache.get  # type: ignore[union-attr]

    def get(key: str) -> Any:
        loops.add(id(asyncio.get_running_loop()))
        return real_get(key)

    monkeypatch.setattr(client.cache, "get", get)
    for _ in range(1000):
        a = newsqa.ask(article, "What was requested?", client=client)
    assert a.cached and a.status == "answered"
    assert len(loops) == 1 and made == []  # one loop served all 1,000 calls; none was created for them


def test_sync_calls_work_inside_a_running_loop_and_its_thread_pool() -> None:
    import asyncio

    import newsqa
    from newsqa.testing import ScriptedTransport

    reply = {"evidence": ["S1"], "status": "answered", "answer": "20,000 National Guard troops"}
    client = newsqa.ModelClient(transport=ScriptedTransport([reply] * 2, verdict="yes"), cache=False)
    article = newsqa.Article.from_file(SAMPLE)

    async def main() -> tuple[str, str]:
        inside = newsqa.ask(article, "What was requested?", client=client).status  # as in a notebook
        pooled = await asyncio.to_thread(lambda: newsqa.ask(article, "What was requested?", client=client).status)
        return inside, pooled

    assert asyncio.run(main()) == ("answered", "answered")
