"""``newsqa mcp``: a Model Context Protocol server over stdio with two tools.

- ``ask_article(article, question)`` -> Answer
- ``summarize_article(article)`` -> Summary

``article`` is the text or an http(s) URL. Results are structured (the Answer / Summary schemas).
stdout carries the protocol only; logs go to stderr.
"""

import logging
import sys
from typing import Any

from .errors import ConfigurationError

__all__ = ["build_server", "serve"]


def build_server(*, client: Any = None, allow_private: bool = False) -> Any:
    try:
        from mcp.server.mcpserver import MCPServer
    except ImportError as exc:
        raise ConfigurationError('the MCP server needs the mcp package: pip install "newsqa[mcp]"') from exc
    from anyio import to_thread

    from .schemas import Answer, Summary
    from .tools import AskArticle, SummarizeArticle, run_tool

    server = MCPServer(
        "newsqa",
        instructions="Grounded answers about news articles: every answer carries quotes that stand in the article.",
    )

    @server.tool(name="ask_article", description=" ".join((AskArticle.__doc__ or "").split()))
    async def ask_article(article: str, question: str) -> Answer:
        args = {"article": article, "question": question}
        result = await to_thread.run_sync(
            lambda: run_tool("ask_article", args, client=client, allow_private=allow_private)
        )
        assert isinstance(result, Answer)
        return result

    @server.tool(name="summarize_article", description=" ".join((SummarizeArticle.__doc__ or "").split()))
    async def summarize_article(article: str) -> Summary:
        args = {"article": article}
        result = await to_thread.run_sync(
            lambda: run_tool("summarize_article", args, client=client, allow_private=allow_private)
        )
        assert isinstance(result, Summary)
        return result

    return server


def serve(*, allow_private: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    logging.getLogger().handlers[:] = [handler]
    build_server(allow_private=allow_private).run("stdio")
