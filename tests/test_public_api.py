from __future__ import annotations

import subprocess
import sys
import types

import newsqa


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
    assert out.split() == ["newsqa.api.questions", "newsqa.schemas", "newsqa.errors"]


def test_prompts_ship_with_the_package() -> None:
    from newsqa import prompts

    for name in prompts.PROMPT_NAMES:
        assert prompts.load(name)
    assert len(prompts.prompt_version()) == 16
