"""newsqa: grounded, schema-validated answers about news articles.

>>> import newsqa
>>> answer = newsqa.ask(newsqa.Article.from_file("article.txt"), "Who requested what?")
>>> answer.answer, [e.quote for e in answer.evidence]
"""

from __future__ import annotations

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
    "KeyPoint",
    "LocalModelError",
    "ModelClient",
    "ModelError",
    "NewsQAError",
    "QuestionError",
    "RefusalError",
    "ReplayError",
    "RetriesExhaustedError",
    "Span",
    "Summary",
    "TruncatedOutputError",
    "Usage",
    "ValidationExhaustedError",
    "__version__",
    "aask",
    "aextract",
    "ask",
    "asummarize",
    "chunk_article",
    "default_client",
    "extract",
    "summarize",
]
