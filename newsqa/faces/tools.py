"""newsqa as a chatbot tool: OpenAI function definitions and a dispatcher, from the same schemas.

tools = newsqa.tools.openai_tools()
... response = client.chat.completions.create(model=..., messages=..., tools=tools)
for call in response.choices[0].message.tool_calls or []:
    messages.append({"role": "tool", "tool_call_id": call.id, "content": newsqa.tools.dispatch(call)})
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import BaseModel, Field, ValidationError

from ..api import aask, asummarize
from ..errors import NewsQAError
from ..model.client import ModelClient
from ..model.formats import strict_schema
from ..model.loop import run_sync
from ..progress import ProgressCallback
from ..schemas import Answer, Summary
from ..text.article import Article

__all__ = ["AskArticle", "SummarizeArticle", "arun_tool", "dispatch", "load_article", "openai_tools", "run_tool"]


class AskArticle(BaseModel):
    """Answer a question about a news article, with quotes from the article as evidence. Says so when the
    article does not contain the answer."""

    article: str = Field(description="the article's full text, or an http(s) URL of the article")
    question: str = Field(description="the question to answer from the article")


class SummarizeArticle(BaseModel):
    """Summarise a news article: headline, summary, key points with quotes, entities, and who did or
    requested what of whom."""

    article: str = Field(description="the article's full text, or an http(s) URL of the article")


TOOLS: dict[str, type[BaseModel]] = {"ask_article": AskArticle, "summarize_article": SummarizeArticle}
RESULTS: dict[str, type[BaseModel]] = {"ask_article": Answer, "summarize_article": Summary}


def openai_tools(*, strict: bool = True) -> list[dict[str, Any]]:
    """Function-calling tool definitions (OpenAI chat-completions format)."""
    out = []
    for name, model in TOOLS.items():
        params = dict(strict_schema(model) if strict else model.model_json_schema())
        params.pop("title", None)
        params.pop("description", None)
        out.append(
            {
                "type": "function",
                "function": {
                    "name": name,
                    "description": " ".join((model.__doc__ or "").split()),
                    "parameters": params,
                    "strict": strict,
                },
            }
        )
    return out


def load_article(source: str, *, allow_private: bool = False) -> Article:
    """Text, or a URL to fetch."""
    if source.strip().lower().startswith(("http://", "https://")) and len(source.split()) == 1:
        from ..text.web import fetch_article

        return fetch_article(source.strip(), allow_private=allow_private)
    from ..text.web import article_from_html, looks_like_html

    if looks_like_html(source):
        return article_from_html(source)
    return Article.from_text(source)


async def arun_tool(
    name: str,
    arguments: dict[str, Any] | str,
    *,
    client: ModelClient | None = None,
    allow_private: bool = False,
    on_progress: ProgressCallback | None = None,
) -> Answer | Summary:
    """Execute one tool call and return the result object; raises NewsQAError, ValueError or
    pydantic's ValidationError on bad calls."""
    if name not in TOOLS:
        raise ValueError(f"unknown tool {name!r}; newsqa provides {', '.join(TOOLS)}")
    model = TOOLS[name]
    args = model.model_validate_json(arguments) if isinstance(arguments, str) else model.model_validate(arguments)
    if isinstance(args, AskArticle):
        article = await _load(args.article, allow_private)
        return await aask(article, args.question, client=client, on_progress=on_progress)
    if isinstance(args, SummarizeArticle):
        return await asummarize(await _load(args.article, allow_private), client=client, on_progress=on_progress)
    raise ValueError(f"tool {name!r} has no runner")


async def _load(source: str, allow_private: bool) -> Article:
    # Fetching and extracting block (HTTP, lxml): keep them off the event loop.
    import anyio

    return await anyio.to_thread.run_sync(lambda: load_article(source, allow_private=allow_private))


def run_tool(
    name: str, arguments: dict[str, Any] | str, *, client: ModelClient | None = None, allow_private: bool = False
) -> Answer | Summary:
    """Sync twin of :func:`arun_tool`."""
    return run_sync(arun_tool(name, arguments, client=client, allow_private=allow_private))


def dispatch(call: Any, *, client: ModelClient | None = None, allow_private: bool = False) -> str:
    """Run a tool call (an openai ``tool_call`` object, or a dict with ``name`` and ``arguments``) and return
    the JSON to send back as the tool message. Errors come back as ``{"error": ...}`` for the model to read."""
    fn = getattr(call, "function", None) or (call.get("function") if isinstance(call, dict) else None) or call
    try:
        name = fn["name"] if isinstance(fn, dict) else fn.name
        arguments = fn["arguments"] if isinstance(fn, dict) else fn.arguments
    except (KeyError, AttributeError, TypeError):
        return json.dumps({"error": "a tool call needs a function name and arguments"})
    try:
        return run_tool(name, arguments, client=client, allow_private=allow_private).model_dump_json()
    except ValidationError as exc:
        return json.dumps({"error": f"invalid arguments for {name}: {exc.errors(include_url=False)[0]['msg']}"})
    except (NewsQAError, ValueError) as exc:
        return json.dumps({"error": str(exc)})
