"""``newsqa mcp``: a Model Context Protocol server over stdio with two tools.

- ``ask_article(article, question)`` -> Answer
- ``summarize_article(article)`` -> Summary

``article`` is the text or an http(s) URL. Results are structured (the Answer / Summary schemas).
stdout carries the protocol only; logs go to stderr. The tools await newsqa's async API directly.
"""

import logging
import sys

from ..errors import ConfigurationError
from ..model.client import ModelClient
from ..schemas import Answer, Summary

__all__ = ["build_server", "serve"]


def build_server(*, client: ModelClient | None = None, allow_private: bool = False):  # type: ignore[no-untyped-def]
    """The MCP server (mcp's ``MCPServer``); the mcp package is an optional extra, hence no annotation."""
    try:
        from mcp.server.mcpserver import MCPServer
    except ImportError as exc:
        raise ConfigurationError('the MCP server needs the mcp package: pip install "newsqa[mcp]"') from exc

    from .tools import AskArticle, SummarizeArticle, arun_tool

    server = MCPServer(
        "newsqa",
        instructions="Grounded answers about news articles: every answer carries quotes that stand in the article.",
    )

    @server.tool(name="ask_article", description=" ".join((AskArticle.__doc__ or "").split()))
    async def ask_article(article: str, question: str) -> Answer:
        args = {"article": article, "question": question}
        result = await arun_tool("ask_article", args, client=client, allow_private=allow_private)
        if not isinstance(result, Answer):  # arun_tool returns the tool's own result type
            raise TypeError("ask_article produced no Answer")
        return result

    @server.tool(name="summarize_article", description=" ".join((SummarizeArticle.__doc__ or "").split()))
    async def summarize_article(article: str) -> Summary:
        result = await arun_tool("summarize_article", {"article": article}, client=client, allow_private=allow_private)
        if not isinstance(result, Summary):
            raise TypeError("summarize_article produced no Summary")
        return result

    return server


def serve(*, allow_private: bool = False) -> None:
    handler = logging.StreamHandler(sys.stderr)
    logging.getLogger().handlers[:] = [handler]
    build_server(allow_private=allow_private).run("stdio")
