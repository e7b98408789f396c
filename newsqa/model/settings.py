"""How to reach a model: one immutable object, read from the environment once, validated once.

Explicit arguments win over the environment; nothing below this module reads ``os.environ`` per
request. :meth:`Settings.from_env` is the only place the ``OPENAI_*`` and ``NEWSQA_*`` variables that
choose a backend are parsed, and every bad value there is a :class:`~newsqa.errors.ConfigurationError`.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args
from urllib.parse import urlsplit

from ..errors import ConfigurationError
from ..text.web import redact_url

__all__ = [
    "EMBEDDED_MODEL",
    "EMBEDDED_URL",
    "FORMATS",
    "BackendKind",
    "ResponseFormat",
    "Settings",
    "redact_url",
]

ResponseFormat = Literal["auto", "json_schema", "json_object", "prompt"]
BackendKind = Literal["embedded", "openai", "compatible"]
# The concrete formats, strongest first: negotiation only ever moves down this list.
FORMATS: tuple[ResponseFormat, ...] = ("json_schema", "json_object", "prompt")
EMBEDDED_MODEL = "qwen2.5-coder-1.5b-instruct-q4_k_m"
EMBEDDED_URL = "http://embedded.newsqa.invalid/v1"
OPENAI_URL = "https://api.openai.com/v1"
OPENAI_DEFAULT_MODEL = "gpt-4o-mini"
_CONTEXT_WINDOWS = {"gpt-4o": 128_000, "gpt-4.1": 1_000_000, "gpt-5": 400_000, "o3": 200_000, "o4": 200_000}


@dataclass(frozen=True)
class Settings:
    """Everything that decides which model answers and how requests are made.

    With neither ``base_url`` nor ``api_key`` the embedded model answers in-process; otherwise the
    OpenAI-compatible endpoint at ``base_url`` (OpenAI itself when only a key is given).
    ``replay_dir`` / ``record_dir`` replace the network with recorded exchanges, or record them.
    """

    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    model: str | None = None
    response_format: ResponseFormat = "auto"
    temperature: float = 0.0
    top_p: float | None = None
    seed: int | None = None
    timeout: float = 300.0  # one model request, retries and waits included
    attempt_timeout: float | None = None  # one attempt of it (default: the whole timeout)
    max_retries: int = 4
    max_reasks: int = 2
    backoff: float = 0.5
    max_backoff: float = 30.0
    gguf: str | None = None
    n_ctx: int = 8192
    context_window: int | None = None
    concurrency: int | None = None
    max_in_flight: int | None = None  # requests on the wire at once, for every call of the client
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    replay_dir: str | None = None
    record_dir: str | None = None

    def __post_init__(self) -> None:
        if self.base_url is not None:
            try:
                parts = urlsplit(self.base_url)
                ok = parts.scheme in ("http", "https") and bool(parts.hostname)
                _ = parts.port  # raises on a port outside 0-65535
            except ValueError:
                ok = False
            if not ok:
                raise ConfigurationError(
                    f"base URL must be an http(s) URL with a host and a valid port, got {redact_url(self.base_url)!r}"
                )
        if self.response_format not in get_args(ResponseFormat):
            raise ConfigurationError(
                f"response format must be one of {', '.join(get_args(ResponseFormat))}; got {self.response_format!r}"
            )
        if not 0.0 <= self.temperature <= 2.0:
            raise ConfigurationError("temperature must be between 0 and 2")
        for name in ("timeout", "backoff", "max_backoff", "attempt_timeout"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ConfigurationError(f"{name} must be a positive number of seconds")
        for name in ("max_retries", "max_reasks"):
            if getattr(self, name) < 0:
                raise ConfigurationError(f"{name} must be 0 or more")
        positive = (
            "n_ctx",
            "context_window",
            "concurrency",
            "max_in_flight",
            "requests_per_minute",
            "tokens_per_minute",
        )
        for name in positive:
            value = getattr(self, name)
            if value is not None and value < 1:
                raise ConfigurationError(f"{name} must be a positive whole number")
        if self.kind == "compatible" and not self.model:
            raise ConfigurationError(f"no model set for {redact_url(self.url)}: pass --model or set NEWSQA_MODEL")

    # -- construction --------------------------------------------------------------------------
    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from the environment; ``overrides`` that are not None win."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {
            "base_url": env.get("OPENAI_BASE_URL") or None,
            "api_key": env.get("OPENAI_API_KEY") or None,
            "model": env.get("NEWSQA_MODEL") or None,
            "response_format": env.get("NEWSQA_RESPONSE_FORMAT") or "auto",
            "gguf": env.get("NEWSQA_GGUF") or None,
            "n_ctx": _env_int(env, "NEWSQA_N_CTX", 8192),
            "context_window": _env_int(env, "NEWSQA_CONTEXT_WINDOW", None),
            "max_in_flight": _env_int(env, "NEWSQA_MAX_IN_FLIGHT", None),
            "replay_dir": env.get("NEWSQA_REPLAY_DIR") or None,
            "record_dir": env.get("NEWSQA_RECORD_DIR") or None,
        }
        unknown = set(overrides) - {f.name for f in dataclasses.fields(cls)}
        if unknown:
            raise TypeError(f"unknown setting(s): {', '.join(sorted(unknown))}")
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)  # type: ignore[arg-type]

    def replace(self, **changes: object) -> Settings:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    # -- derived facts ---------------------------------------------------------------------------
    @property
    def kind(self) -> BackendKind:
        if self.base_url is None and self.api_key is None:
            return "embedded"
        host = urlsplit(self.base_url or OPENAI_URL).hostname or ""
        return "openai" if host == "api.openai.com" else "compatible"

    @property
    def embedded(self) -> bool:
        return self.kind == "embedded"

    @property
    def url(self) -> str:
        if self.embedded:
            return EMBEDDED_URL
        return self.base_url or OPENAI_URL

    @property
    def model_name(self) -> str:
        if self.model:
            return self.model
        return EMBEDDED_MODEL if self.embedded else OPENAI_DEFAULT_MODEL

    @property
    def identity(self) -> str:
        """Names the endpoint in cache keys: never a credential."""
        if self.embedded:
            return f"embedded:{self.gguf or EMBEDDED_MODEL}"
        return redact_url(self.url)

    @property
    def window(self) -> int:
        """The context window in tokens: set, the embedded model's n_ctx, a known API model's, else 8192."""
        if self.context_window:
            return self.context_window
        if self.embedded:
            return self.n_ctx
        for prefix, size in _CONTEXT_WINDOWS.items():
            if self.model_name.startswith(prefix):
                return size
        return 8192

    @property
    def in_flight_limit(self) -> int:
        """Requests on the wire at once: the embedded model reads one prompt at a time."""
        return self.max_in_flight or (1 if self.embedded else 16)

    @property
    def per_attempt(self) -> float:
        return min(self.attempt_timeout or self.timeout, self.timeout)

    @property
    def parallel(self) -> int:
        """Requests one operation may have in flight: the embedded model reads one prompt at a time."""
        return self.concurrency or (1 if self.embedded else 4)

    def describe(self) -> str:
        if self.embedded:
            return f"embedded model {self.model_name} (local, in-process)"
        return f"{self.model_name} at {redact_url(self.url)}"


def _env_int(env: Mapping[str, str], name: str, default: int | None) -> int | None:
    raw = env.get(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, got {raw[:40]!r}") from None
    if value < 1:
        raise ConfigurationError(f"{name} must be positive, got {value}")
    return value
