"""``newsqa mcp``: a Model Context Protocol server over stdio with two tools.

- ``ask_article(article, question)`` -> Answer
- ``summarize_article(article)`` -> Summary

``article`` is the text or an http(s) URL. Results are structured (the Answer / Summary schemas).
Errors a caller can act on (an empty article, a refused URL, a question too long, a backend that
failed) come back as tool errors with newsqa's one-line message. stdout carries the protocol only;
logs go to stderr. The tools await newsqa's async API directly.
"""

import asyncio
import logging
import sys
from typing import Annotated

from pydantic import Field, ValidationError

from .. import __version__
from ..errors import ConfigurationError, NewsQAError
from ..model.client import ModelClient
from ..progress import Stage
from ..schemas import Answer, Summary

__all__ = ["build_server", "serve"]

ArticleArg = Annotated[
    str, Field(description="the article's full text, or an http(s) URL of a news page to fetch and read")
]
QuestionArg = Annotated[str, Field(description="the question to answer from the article alone")]


def build_server(*, client: ModelClient | None = None, allow_private: bool = False):  # type: ignore[no-untyped-def]
    """The MCP server (mcp's ``MCPServer``); the mcp package is an optional extra, hence no annotation."""
    try:
        from mcp.server.mcpserver import Context, MCPServer
        from mcp.server.mcpserver.exceptions import ToolError
        from mcp_types import ToolAnnotations
    except ImportError as exc:
        raise ConfigurationError('the MCP server needs the mcp package: pip install "newsqa[mcp]"') from exc

    from .tools import AskArticle, SummarizeArticle, arun_tool

    server = MCPServer(
        "newsqa",
        version=__version__,
        instructions="Grounded answers about news articles: every answer carries quotes that stand in the article.",
    )
    # Both tools only read; they reach the open web when the article is a URL.
    annotations = ToolAnnotations(
        read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
    )

    async def run(name: str, args: dict[str, str], ctx: Context) -> Answer | Summary:
        # Clients time out long calls (60 s by default in the TypeScript SDK); progress keeps them
        # waiting. Stages may be reported from a worker thread: hand them to this loop.
        loop = asyncio.get_running_loop()
        count = 0

        def progress(stage: Stage) -> None:
            nonlocal count
            count += 1
            note = ctx.report_progress(stage.done or count, stage.total, stage.message)
            loop.call_soon_threadsafe(lambda: tasks.add(asyncio.ensure_future(note)))

        tasks: set[asyncio.Future[None]] = set()
        try:
            return await arun_tool(name, args, client=client, allow_private=allow_private, on_progress=progress)
        except ValidationError as exc:
            raise ToolError(f"invalid arguments: {exc.errors(include_url=False)[0]['msg']}") from None
        except (NewsQAError, ValueError) as exc:
            raise ToolError(str(exc)) from None
        finally:
            if tasks:
                await asyncio.gather(*tasks, return_exceptions=True)

    @server.tool(
        name="ask_article",
        title="Ask a news article",
        description=" ".join((AskArticle.__doc__ or "").split()),
        annotations=annotations,
    )
    async def ask_article(article: ArticleArg, question: QuestionArg, ctx: Context) -> Answer:
        result = await run("ask_article", {"article": article, "question": question}, ctx)
        if not isinstance(result, Answer):
            raise ToolError("ask_article produced no answer")
        return result

    @server.tool(
        name="summarize_article",
        title="Summarize a news article",
        description=" ".join((SummarizeArticle.__doc__ or "").split()),
        annotations=annotations,
    )
    async def summarize_article(article: ArticleArg, ctx: Context) -> Summary:
        result = await run("summarize_article", {"article": article}, ctx)
        if not isinstance(result, Summary):
            raise ToolError("summarize_article produced no summary")
        return result

    return server


def serve(*, allow_private: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    logging.getLogger().handlers[:] = [handler]
    build_server(allow_private=allow_private).run("stdio")
