"""What a failed request means: whether to try again, how long the server asked us to wait, whether a
recorded exchange was missing, and which secrets to scrub from what we say about it."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Sequence

from ..errors import ReplayError

__all__ = ["SecretFilter", "is_transient", "replay_error", "retry_after", "scrub"]


def scrub(text: str, secrets: Sequence[str | None]) -> str:
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "[redacted]")
    return re.sub(r"\b(sk-|Bearer\s+)[A-Za-z0-9_*.\-]{4,}", r"\1[redacted]", text)


class SecretFilter(logging.Filter):
    """Scrubs every API key a client of this process was given from newsqa's log records."""

    def __init__(self) -> None:
        super().__init__()
        self.secrets: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        if self.secrets:
            message = record.getMessage()
            scrubbed = scrub(message, list(self.secrets))
            if scrubbed != message:
                record.msg, record.args = scrubbed, ()
        return True


def replay_error(exc: BaseException) -> ReplayError | None:
    seen = 0
    cur: BaseException | None = exc
    while cur is not None and seen < 10:
        if isinstance(cur, ReplayError):
            return cur
        cur = cur.__cause__ or cur.__context__
        seen += 1
    return None


def is_transient(exc: BaseException) -> bool:
    import openai

    if replay_error(exc) is not None:
        return False
    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError, openai.RateLimitError, TimeoutError)):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code >= 500 or exc.status_code in (408, 409)
    return False


def retry_after(exc: BaseException | None) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    if ms := headers.get("retry-after-ms"):
        try:
            return float(ms) / 1000
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        import email.utils

        try:
            parsed = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None  # an unparseable Retry-After is ignored, not an error
        return max(0.0, parsed.timestamp() - time.time())
