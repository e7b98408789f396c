"""The one exception tree of newsqa.

    NewsQAError
    ├── ConfigurationError          bad settings: options, environment, missing extras
    ├── QuestionError               a question that cannot be asked (empty, too long)  (CLI exit 2)
    ├── ArticleError                input that cannot be read as an article  (CLI exit 2)
    │   ├── ArticleNotFoundError
    │   ├── EmptyArticleError
    │   ├── BinaryArticleError
    │   ├── ArticleTooLargeError
    │   └── FetchError              a URL that may not or could not be fetched (SSRF guard, timeout, type)
    ├── ModelError                  the model or its backend failed          (CLI exit 3)
    │   ├── BackendError            a non-retryable API error (auth, bad request, ...)
    │   ├── RetriesExhaustedError   transient failures (429, 5xx, timeouts) outlasted the retry budget
    │   ├── ValidationExhaustedError  every re-ask still produced invalid output
    │   ├── RefusalError            the model refused to answer
    │   ├── TruncatedOutputError    finish_reason == "length"
    │   └── LocalModelError         the embedded model cannot be assembled or loaded
    └── ReplayError                 test kit: a request with no recorded exchange

Lower-level errors (openai, sqlite, OS) are mapped into the most specific of these and chained.
Messages never contain credentials: they are built from our own fields, never from request headers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .schemas import Usage

__all__ = [
    "ArticleError",
    "ArticleNotFoundError",
    "ArticleTooLargeError",
    "BackendError",
    "BinaryArticleError",
    "ConfigurationError",
    "EmptyArticleError",
    "FetchError",
    "LocalModelError",
    "ModelError",
    "NewsQAError",
    "QuestionError",
    "RefusalError",
    "ReplayError",
    "RetriesExhaustedError",
    "TruncatedOutputError",
    "ValidationExhaustedError",
]


class NewsQAError(Exception):
    """Base of every error newsqa raises on purpose."""


class ConfigurationError(NewsQAError):
    """Settings that cannot work: a malformed URL, an unknown option, a missing extra."""


class QuestionError(NewsQAError):
    """The question is empty or too long."""


class ArticleError(NewsQAError):
    """The input cannot be used as an article."""


class ArticleNotFoundError(ArticleError):
    pass


class EmptyArticleError(ArticleError):
    pass


class BinaryArticleError(ArticleError):
    pass


class ArticleTooLargeError(ArticleError):
    pass


class FetchError(ArticleError):
    """A URL that newsqa refuses to fetch (scheme, private address) or could not fetch."""


class ModelError(NewsQAError):
    """The model or its backend did not produce a usable result.

    ``usage`` sums the tokens spent on every attempt before the failure, ``attempts`` counts the
    requests sent and ``last_output`` holds the last raw text the model returned, if any.
    """

    def __init__(
        self,
        message: str,
        *,
        attempts: int = 0,
        usage: Usage | None = None,
        last_output: str | None = None,
    ) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.usage = usage
        self.last_output = last_output


class BackendError(ModelError):
    """A non-retryable error from the API (authentication, bad request, not found...)."""

    def __init__(self, message: str, *, status_code: int | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.status_code = status_code


class RetriesExhaustedError(ModelError):
    pass


class ValidationExhaustedError(ModelError):
    pass


class RefusalError(ModelError):
    pass


class TruncatedOutputError(ModelError):
    pass


class LocalModelError(ModelError):
    pass


class ReplayError(NewsQAError):
    """A replayed test asked for an exchange that was never recorded."""
