"""newsqa: grounded, schema-validated answers about news articles.

>>> import newsqa
>>> answer = newsqa.ask(newsqa.Article.from_file("article.txt"), "Who requested what?")
>>> answer.answer, [e.quote for e in answer.evidence]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .api import aask, aextract, ask, asummarize, default_client, extract, summarize
    from .article import Article, Span
    from .cache import Cache, CacheStats
    from .chunking import Chunk, chunk_article
    from .client import Completion, ModelClient
    from .errors import (
        ArticleError,
        ArticleNotFoundError,
        ArticleTooLargeError,
        BackendError,
        BinaryArticleError,
        ConfigurationError,
        EmptyArticleError,
        FetchError,
        LocalModelError,
        ModelError,
        NewsQAError,
        QuestionError,
        RefusalError,
        ReplayError,
        RetriesExhaustedError,
        TruncatedOutputError,
        ValidationExhaustedError,
    )
    from .schemas import Action, Answer, Entities, Evidence, KeyPoint, Summary, Usage
    from .session import Session
    from .streaming import astream
    from .web import article_from_html, fetch_article

from . import errors as _errors  # no dependencies: cheap to load eagerly

# The public names load on first use (PEP 562), so `import newsqa` and `newsqa --help` stay fast:
# pydantic models, asyncio and the HTTP stack are imported only by the code that needs them.
_LAZY = {
    **dict.fromkeys(["aask", "aextract", "ask", "asummarize", "default_client", "extract", "summarize"], "api"),
    **dict.fromkeys(["Article", "Span"], "article"),
    **dict.fromkeys(["Cache", "CacheStats"], "cache"),
    **dict.fromkeys(["Chunk", "chunk_article"], "chunking"),
    **dict.fromkeys(["Completion", "ModelClient"], "client"),
    **dict.fromkeys(_errors.__all__, "errors"),
    **dict.fromkeys(["Action", "Answer", "Entities", "Evidence", "KeyPoint", "Summary", "Usage"], "schemas"),
    "Session": "session",
    "astream": "streaming",
    **dict.fromkeys(["article_from_html", "fetch_article"], "web"),
}

__version__ = "0.1.0"

__all__ = [
    "Action",
    "Answer",
    "Article",
    "ArticleError",
    "ArticleNotFoundError",
    "ArticleTooLargeError",
    "BackendError",
    "BinaryArticleError",
    "Cache",
    "CacheStats",
    "Chunk",
    "Completion",
    "ConfigurationError",
    "EmptyArticleError",
    "Entities",
    "Evidence",
    "FetchError",
    "KeyPoint",
    "LocalModelError",
    "ModelClient",
    "ModelError",
    "NewsQAError",
    "QuestionError",
    "RefusalError",
    "ReplayError",
    "RetriesExhaustedError",
    "Session",
    "Span",
    "Summary",
    "TruncatedOutputError",
    "Usage",
    "ValidationExhaustedError",
    "__version__",
    "aask",
    "aextract",
    "article_from_html",
    "ask",
    "astream",
    "asummarize",
    "chunk_article",
    "default_client",
    "extract",
    "fetch_article",
    "summarize",
]


def __getattr__(name: str) -> object:
    import importlib

    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(f".{module}", __name__), name)
        globals()[name] = value  # later lookups skip this function
        return value
    # Submodules with optional or heavier imports: newsqa.tools, newsqa.testing, newsqa.mcp_server.
    if name in ("tools", "testing", "mcp_server"):
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'newsqa' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
