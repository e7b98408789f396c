"""newsqa: grounded, schema-validated answers about news articles.

>>> import newsqa
>>> answer = newsqa.ask(newsqa.Article.from_file("article.txt"), "Who requested what?")
>>> answer.answer, [e.quote for e in answer.evidence]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .api import aask, aextract, ask, astream, asummarize, default_client, extract, summarize
    from .corpus import BatchReport, abatch, batch
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
    from .faces.session import Session
    from .grounding import CHECK_NAMES
    from .model.cache import Cache, CacheStats
    from .model.client import Completion, ModelClient
    from .model.settings import Settings
    from .schemas import Action, Answer, Entities, Evidence, KeyPoint, Refusal, Summary, Usage
    from .text.article import Article, Span
    from .text.chunking import Chunk, chunk_article
    from .text.web import article_from_html, fetch_article

from . import errors as _errors  # no dependencies: cheap to load eagerly

# The public names load on first use (PEP 562), so `import newsqa` and `newsqa --help` stay fast:
# pydantic models, asyncio and the HTTP stack are imported only by the code that needs them.
_LAZY = {
    **dict.fromkeys(
        ["aask", "aextract", "ask", "astream", "asummarize", "default_client", "extract", "summarize"], "api"
    ),
    **dict.fromkeys(["Article", "Span"], "text.article"),
    **dict.fromkeys(["Cache", "CacheStats"], "model.cache"),
    **dict.fromkeys(["Chunk", "chunk_article"], "text.chunking"),
    **dict.fromkeys(["Completion", "ModelClient"], "model.client"),
    "Settings": "model.settings",
    **dict.fromkeys(["BatchReport", "abatch", "batch"], "corpus"),
    "CHECK_NAMES": "grounding",
    **dict.fromkeys(_errors.__all__, "errors"),
    **dict.fromkeys(["Action", "Answer", "Entities", "Evidence", "KeyPoint", "Refusal", "Summary", "Usage"], "schemas"),
    "Session": "faces.session",
    **dict.fromkeys(["article_from_html", "fetch_article"], "text.web"),
}
# Modules users import by their short name: newsqa.tools (chatbot tools), newsqa.mcp_server.
_MODULES = {"tools": "faces.tools", "mcp_server": "faces.mcp_server", "testing": "testing"}

__version__ = "0.1.0"

__all__ = [
    "CHECK_NAMES",
    "Action",
    "Answer",
    "Article",
    "ArticleError",
    "ArticleNotFoundError",
    "ArticleTooLargeError",
    "BackendError",
    "BatchReport",
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
    "Refusal",
    "RefusalError",
    "ReplayError",
    "RetriesExhaustedError",
    "Session",
    "Settings",
    "Span",
    "Summary",
    "TruncatedOutputError",
    "Usage",
    "ValidationExhaustedError",
    "__version__",
    "aask",
    "abatch",
    "aextract",
    "article_from_html",
    "ask",
    "astream",
    "asummarize",
    "batch",
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
    if name in _MODULES:
        return importlib.import_module(f".{_MODULES[name]}", __name__)
    raise AttributeError(f"module 'newsqa' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(__all__)
