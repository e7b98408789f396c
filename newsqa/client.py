"""One model interface over any OpenAI-compatible endpoint, the embedded model included.

A request goes: cache lookup -> response-format negotiation -> HTTP call with transient retries
(tenacity; the openai client's own retries are off, so there is one retry layer) -> checks
(refusal, truncation) -> pydantic validation -> re-ask with the error, a bounded number of times
-> cache store. Usage is summed over every attempt.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import os
import re
import threading
import time
import weakref
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ValidationError

from . import prompts
from .cache import Cache, cache_key
from .errors import (
    BackendError,
    ConfigurationError,
    NewsQAError,
    RefusalError,
    ReplayError,
    RetriesExhaustedError,
    TruncatedOutputError,
    ValidationExhaustedError,
)
from .schemas import Usage
from .tokens import Tokenizer, encoding_for_model, get_tokenizer

if TYPE_CHECKING:
    import httpx2
    from openai import AsyncOpenAI

__all__ = ["EMBEDDED_MODEL", "Completion", "ModelClient", "ResponseFormat"]

log = logging.getLogger("newsqa")

T = TypeVar("T", bound=BaseModel)
R = TypeVar("R")
ResponseFormat = Literal["auto", "json_schema", "json_object", "prompt"]
EMBEDDED_MODEL = "qwen2.5-coder-1.5b-instruct-q4_k_m"
EMBEDDED_URL = "http://embedded.newsqa.invalid/v1"
OPENAI_DEFAULT_MODEL = "gpt-4o-mini"
_FORMATS = ("json_schema", "json_object", "prompt")
# What each endpoint accepted, so a process probes an endpoint's response formats once.
_NEGOTIATED: dict[str, str] = {}
_CONTEXT_WINDOWS = {"gpt-4o": 128_000, "gpt-4.1": 1_000_000, "gpt-5": 400_000, "o3": 200_000, "o4": 200_000}


@dataclass
class Completion(Generic[T]):
    """A validated model output and what it cost."""

    value: T
    raw: str
    model: str
    usage: Usage = field(default_factory=Usage)
    cached: bool = False
    attempts: int = 0


def _redact_url(url: str) -> str:
    parts = urlsplit(url)
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def _scrub(text: str, secrets: Sequence[str | None]) -> str:
    for s in secrets:
        if s and len(s) >= 4:
            text = text.replace(s, "[redacted]")
    return re.sub(r"\b(sk-|Bearer\s+)[A-Za-z0-9_*.\-]{4,}", r"\1[redacted]", text)


def _extract_json(raw: str) -> str:
    """The JSON object in a reply: tolerate code fences and chatter around it (plain-prompt backends)."""
    s = raw.strip()
    if s.startswith("```"):
        s = re.sub(r"^```[a-zA-Z]*\s*|\s*```$", "", s)
    if not s.startswith("{"):
        i, j = s.find("{"), s.rfind("}")
        if 0 <= i < j:
            s = s[i : j + 1]
    return s


def _short_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        errs = exc.errors(include_url=False)
        parts = [f"{'.'.join(str(p) for p in e['loc']) or 'reply'}: {e['msg']}" for e in errs[:5]]
        return "; ".join(parts)
    return str(exc)[:300]


@functools.lru_cache(maxsize=1)
def _ssl_context() -> Any:
    # Loading the CA bundle takes ~60 ms; every client of the process (one per event loop) shares it.
    import httpcore2

    return httpcore2.default_ssl_context()


# Schemas are built once per draft type; callers treat the result as read-only.
@functools.lru_cache(maxsize=64)
def _json_schema(schema: type[BaseModel]) -> dict[str, Any]:
    return schema.model_json_schema()


@functools.lru_cache(maxsize=64)
def _strict_schema(schema: type[BaseModel]) -> dict[str, Any]:
    from openai.lib._pydantic import to_strict_json_schema

    return to_strict_json_schema(schema)


class ModelClient:
    """A configured model endpoint.

    With no ``base_url`` and no ``api_key`` (neither as arguments nor as ``OPENAI_BASE_URL`` /
    ``OPENAI_API_KEY``) it is the embedded local model; otherwise that OpenAI-compatible endpoint.
    ``transport`` (an httpx2 transport) replaces the network, for record/replay and tests.
    """

    def __init__(
        self,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        model: str | None = None,
        response_format: ResponseFormat | None = None,
        temperature: float = 0.0,
        top_p: float | None = None,
        seed: int | None = None,
        timeout: float = 300.0,
        max_retries: int = 4,
        max_reasks: int = 2,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        cache: Cache | bool | None = True,
        transport: httpx2.BaseTransport | httpx2.AsyncBaseTransport | None = None,
        gguf: str | None = None,
        n_ctx: int | None = None,
        context_window: int | None = None,
        concurrency: int | None = None,
    ) -> None:
        env = os.environ
        base_url = base_url or env.get("OPENAI_BASE_URL") or None
        api_key = api_key or env.get("OPENAI_API_KEY") or None
        self.model = model or env.get("NEWSQA_MODEL") or None
        if base_url is not None:
            parts = urlsplit(base_url)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConfigurationError(f"base URL must be an http(s) URL with a host, got {_redact_url(base_url)!r}")
        self.embedded = base_url is None and api_key is None
        if self.embedded:
            self.kind = "embedded"
            self.base_url = EMBEDDED_URL
            self._api_key = "embedded"  # the openai client needs some key; nothing checks it
            self.gguf = gguf or env.get("NEWSQA_GGUF") or None
            self.model = self.model or EMBEDDED_MODEL
            self.n_ctx: int | None = n_ctx or int(env.get("NEWSQA_N_CTX", "8192"))
        else:
            self.base_url = base_url or "https://api.openai.com/v1"
            host = urlsplit(self.base_url).hostname or ""
            self.kind = "openai" if host == "api.openai.com" else "compatible"
            self._api_key = api_key or "not-needed"
            self.gguf = None
            self.n_ctx = None
            if self.model is None:
                if self.kind != "openai":
                    raise ConfigurationError(
                        f"no model set for {_redact_url(self.base_url)}: pass --model or set NEWSQA_MODEL"
                    )
                self.model = OPENAI_DEFAULT_MODEL
        fmt = response_format or env.get("NEWSQA_RESPONSE_FORMAT") or "auto"
        if fmt not in ("auto", *_FORMATS):
            raise ConfigurationError(f"response format must be one of auto, {', '.join(_FORMATS)}; got {fmt!r}")
        self.response_format = fmt
        if not 0.0 <= temperature <= 2.0:
            raise ConfigurationError("temperature must be between 0 and 2")
        self.temperature, self.top_p, self.seed = temperature, top_p, seed
        self.timeout, self.max_retries, self.max_reasks = timeout, max_retries, max_reasks
        self.backoff, self.max_backoff = backoff, max_backoff
        self.concurrency = concurrency or (1 if self.embedded else 4)
        self._context_window = context_window or (
            int(env["NEWSQA_CONTEXT_WINDOW"]) if env.get("NEWSQA_CONTEXT_WINDOW") else None
        )
        if cache is True:
            self.cache: Cache | None = Cache()
        else:
            self.cache = cache or None
        self._transport = transport
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncOpenAI] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        _LIVE.add(self)

    async def aclose(self) -> None:
        """Close the HTTP connections this client opened on the running event loop."""
        with self._lock:
            client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()

    async def __aenter__(self) -> ModelClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"ModelClient(kind={self.kind!r}, base_url={_redact_url(self.base_url)!r}, model={self.model!r})"

    # -- facts about the endpoint -------------------------------------------------------------------
    @property
    def identity(self) -> str:
        """Names the endpoint in cache keys: never a credential."""
        if self.embedded:
            return f"embedded:{self.gguf or EMBEDDED_MODEL}"
        return _redact_url(self.base_url)

    def describe(self) -> str:
        if self.embedded:
            return f"embedded model {self.model} (local, in-process)"
        return f"{self.model} at {_redact_url(self.base_url)}"

    @property
    def context_window(self) -> int:
        if self._context_window:
            return self._context_window
        if self.embedded and self.n_ctx:
            return self.n_ctx
        for prefix, size in _CONTEXT_WINDOWS.items():
            if (self.model or "").startswith(prefix):
                return size
        return 8192

    @property
    def exact_tokens(self) -> bool:
        """Whether :attr:`tokenizer` is the answering model's own (else an approximation)."""
        import importlib.util

        return (
            self.embedded
            and self._transport is None
            and not os.environ.get("NEWSQA_REPLAY_DIR")
            and importlib.util.find_spec("llama_cpp") is not None
        )

    @property
    def tokenizer(self) -> Tokenizer:
        """Counts tokens: the embedded model's own vocabulary when it runs here, else tiktoken (offline)."""
        if self.exact_tokens:
            try:
                from .local import model_tokenizer

                return model_tokenizer(self.gguf)
            except (ImportError, NewsQAError) as exc:
                log.info("counting tokens with tiktoken instead of the model's vocabulary: %s", exc)
        return get_tokenizer(encoding_for_model(None if self.embedded else self.model))

    def _format(self) -> str:
        if self.response_format != "auto":
            return self.response_format
        if self.embedded:
            return "json_object"
        return _NEGOTIATED.get(self.identity, "json_schema")

    # -- transport ----------------------------------------------------------------------------------
    def _make_transport(self) -> Any:
        env = os.environ
        if self._transport is not None:
            transport = self._transport
        elif env.get("NEWSQA_REPLAY_DIR"):
            from .testing import ReplayTransport

            transport = ReplayTransport(env["NEWSQA_REPLAY_DIR"])
        elif self.embedded:
            from .local import local_transport

            transport = local_transport(self.gguf, n_ctx=self.n_ctx or 8192)
        else:
            transport = None
        if env.get("NEWSQA_RECORD_DIR") and not env.get("NEWSQA_REPLAY_DIR"):
            import httpx2

            from .testing import RecordingTransport

            inner = transport if isinstance(transport, httpx2.BaseTransport) else httpx2.HTTPTransport()
            transport = RecordingTransport(inner, env["NEWSQA_RECORD_DIR"], close_inner=inner is not transport)
        return transport

    def _openai(self) -> AsyncOpenAI:
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._clients.get(loop)
            if client is None:
                from openai import AsyncOpenAI

                transport = self._make_transport()
                if transport is not None:
                    import httpx2

                    http_client = httpx2.AsyncClient(transport=transport, timeout=self.timeout)
                else:
                    from openai import DefaultAsyncHttpxClient

                    http_client = DefaultAsyncHttpxClient(verify=_ssl_context(), timeout=self.timeout)
                client = AsyncOpenAI(
                    base_url=self.base_url,
                    api_key=self._api_key,
                    max_retries=0,
                    timeout=self.timeout,
                    http_client=http_client,
                )
                self._clients[loop] = client
            return client

    # -- the call -----------------------------------------------------------------------------------
    def cache_key(self, messages: list[dict[str, str]], schema: type[BaseModel], max_tokens: int) -> str:
        return cache_key(
            {
                "endpoint": self.identity,
                "model": self.model,
                "messages": messages,
                "schema": _json_schema(schema),
                "sampling": {
                    "temperature": self.temperature,
                    "top_p": self.top_p,
                    "seed": self.seed,
                    "max_tokens": max_tokens,
                },
                "prompt_version": prompts.prompt_version(),
            }
        )

    def complete(
        self, messages: list[dict[str, str]], schema: type[T], *, max_tokens: int = 512, use_cache: bool = True
    ) -> Completion[T]:
        return run_sync(self.acomplete(messages, schema, max_tokens=max_tokens, use_cache=use_cache))

    async def acomplete(
        self,
        messages: list[dict[str, str]],
        schema: type[T],
        *,
        max_tokens: int = 512,
        use_cache: bool = True,
        on_delta: Callable[[str | None], None] | None = None,
    ) -> Completion[T]:
        """Ask for an object of ``schema``; re-ask with the validation error up to ``max_reasks`` times.

        With ``on_delta`` the reply is streamed: it is called with each piece of text as it arrives, and
        with ``None`` whenever a new request starts (a retry or re-ask), so partial output can be reset.
        A cache hit streams nothing: the whole value comes back at once.
        """
        key = self.cache_key(messages, schema, max_tokens)
        if use_cache and self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                try:
                    value = schema.model_validate(hit.value)
                    return Completion(value, json.dumps(hit.value), hit.model, Usage(), cached=True)
                except ValidationError:
                    log.warning("ignoring a cache entry that no longer validates against %s", schema.__name__)
        usage = Usage()
        convo = [dict(m) for m in messages]
        raw: str | None = None
        last_error = "no reply"
        for _ in range(self.max_reasks + 1):
            response, requests = await self._send(convo, schema, max_tokens, usage, on_delta)
            usage = usage + _usage_of(response, requests)
            choices = response.choices or []
            if not choices:
                last_error = "the reply had no choices"
                continue
            choice = choices[0]
            message = choice.message
            if getattr(message, "refusal", None):
                raise RefusalError(
                    f"the model refused: {message.refusal[:200]}",
                    attempts=usage.requests,
                    usage=usage,
                    last_output=message.refusal,
                )
            raw = message.content or ""
            if choice.finish_reason == "length":
                raise TruncatedOutputError(
                    f"the model's output was cut off at max_tokens={max_tokens} (finish_reason=length)",
                    attempts=usage.requests,
                    usage=usage,
                    last_output=raw,
                )
            try:
                value = schema.model_validate_json(_extract_json(raw))
            except (ValidationError, ValueError) as exc:
                last_error = _short_error(exc)
                log.info("invalid model output (%s); re-asking", last_error)
                convo += [
                    {"role": "assistant", "content": raw[:4000]},
                    {"role": "user", "content": prompts.render("reask", error=last_error)},
                ]
                continue
            model_name = getattr(response, "model", None) or self.model or "unknown"
            if use_cache and self.cache is not None:
                self.cache.set(key, model_name, value.model_dump(mode="json"), usage.model_dump())
            return Completion(value, raw, model_name, usage, cached=False, attempts=usage.requests)
        raise ValidationExhaustedError(
            f"no valid {schema.__name__} after {self.max_reasks + 1} attempts: {last_error}",
            attempts=usage.requests,
            usage=usage,
            last_output=raw,
        )

    def _request_kwargs(
        self, convo: list[dict[str, str]], schema: type[BaseModel], max_tokens: int, fmt: str
    ) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"model": self.model, "temperature": self.temperature, "max_tokens": max_tokens}
        if self.top_p is not None:
            kwargs["top_p"] = self.top_p
        if self.seed is not None:
            kwargs["seed"] = self.seed
        msgs = [dict(m) for m in convo]
        if fmt == "json_schema":
            kwargs["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema.__name__, "schema": _strict_schema(schema), "strict": True},
            }
        elif fmt == "json_object":
            kwargs["response_format"] = {"type": "json_object", "schema": _json_schema(schema)}
        else:
            spec = json.dumps(_json_schema(schema), separators=(",", ":"))
            msgs[-1]["content"] += "\n\n" + prompts.render("json_fallback", schema=spec)
        kwargs["messages"] = msgs
        return kwargs

    async def _send(
        self,
        convo: list[dict[str, str]],
        schema: type[BaseModel],
        max_tokens: int,
        usage: Usage,
        on_delta: Callable[[str | None], None] | None = None,
    ) -> tuple[Any, int]:
        """One logical request: transient failures retried with backoff; format downgraded if refused."""
        import openai
        from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

        client = self._openai()
        sent = 0
        while True:
            fmt = self._format()
            kwargs = self._request_kwargs(convo, schema, max_tokens, fmt)
            retrying = AsyncRetrying(
                stop=stop_after_attempt(self.max_retries + 1),
                wait=self._wait,
                retry=retry_if_exception(_is_transient),
                reraise=True,
            )
            try:
                async for attempt in retrying:
                    with attempt:
                        sent += 1
                        if on_delta is None:
                            return await client.chat.completions.create(**kwargs), sent
                        on_delta(None)
                        return await _streamed(client, kwargs, on_delta), sent
            except openai.BadRequestError as exc:
                if self.response_format == "auto" and not self.embedded and _format_refused(exc):
                    nxt = _FORMATS[_FORMATS.index(fmt) + 1] if fmt != "prompt" else None
                    if nxt:
                        log.info("%s refused response_format %s; trying %s", self.describe(), fmt, nxt)
                        _NEGOTIATED[self.identity] = nxt
                        continue
                raise self._backend_error(exc, sent, usage) from exc
            except Exception as exc:
                replay = _replay_error(exc)
                if replay is not None:
                    raise replay from None
                if _is_transient(exc):
                    raise RetriesExhaustedError(
                        f"{self.describe()} kept failing after {sent} attempts: {self._describe_exc(exc)}",
                        attempts=usage.requests + sent,
                        usage=usage,
                    ) from exc
                if isinstance(exc, openai.APIError):
                    raise self._backend_error(exc, sent, usage) from exc
                raise

    def _backend_error(self, exc: Exception, sent: int, usage: Usage) -> BackendError:
        status = getattr(exc, "status_code", None)
        return BackendError(
            f"{self.describe()} answered {status or 'an error'}: {self._describe_exc(exc)}",
            status_code=status,
            attempts=usage.requests + sent,
            usage=usage,
        )

    def _describe_exc(self, exc: BaseException) -> str:
        msg = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        return _scrub(str(msg), [self._api_key])[:300]

    def _wait(self, retry_state: Any) -> float:
        """Exponential backoff with full jitter, but never less than the server's Retry-After."""
        import random

        n = retry_state.attempt_number
        delay = random.uniform(0, min(self.max_backoff, self.backoff * 2 ** (n - 1)))
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        after = _retry_after(exc)
        if after is not None:
            delay = max(delay, min(after, self.max_backoff * 4))
        return delay


async def _streamed(client: AsyncOpenAI, kwargs: dict[str, Any], on_delta: Callable[[str | None], None]) -> Any:
    """Stream one completion, passing text on as it comes; return it assembled like a plain response."""
    from types import SimpleNamespace

    stream = await client.chat.completions.create(**kwargs, stream=True, stream_options={"include_usage": True})
    parts: list[str] = []
    refusal: list[str] = []
    finish: str | None = None
    usage = None
    model = None
    seen_choice = False
    async for chunk in stream:
        model = chunk.model or model
        usage = chunk.usage or usage
        for choice in chunk.choices:
            seen_choice = True
            delta = choice.delta
            if delta.content:
                parts.append(delta.content)
                on_delta(delta.content)
            if getattr(delta, "refusal", None):
                refusal.append(delta.refusal)
            finish = choice.finish_reason or finish
    if seen_choice and finish is None:
        # The stream ended without a finish reason: it was cut off. Treat it as a dropped connection.
        import httpx2
        import openai

        raise openai.APIConnectionError(request=httpx2.Request("POST", "http://stream/"))
    message = SimpleNamespace(content="".join(parts), refusal="".join(refusal) or None)
    choices = [SimpleNamespace(message=message, finish_reason=finish)] if seen_choice else []
    return SimpleNamespace(model=model, usage=usage, choices=choices)


def _usage_of(response: Any, requests: int) -> Usage:
    u = getattr(response, "usage", None)
    if u is None:
        return Usage(requests=requests)
    return Usage(
        prompt_tokens=u.prompt_tokens or 0,
        completion_tokens=u.completion_tokens or 0,
        total_tokens=u.total_tokens or 0,
        requests=requests,
    )


def _replay_error(exc: BaseException) -> ReplayError | None:
    seen = 0
    cur: BaseException | None = exc
    while cur is not None and seen < 10:
        if isinstance(cur, ReplayError):
            return cur
        cur = cur.__cause__ or cur.__context__
        seen += 1
    return None


def _is_transient(exc: BaseException) -> bool:
    import openai

    if _replay_error(exc) is not None:
        return False
    if isinstance(exc, (openai.APITimeoutError, openai.APIConnectionError, openai.RateLimitError)):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code >= 500 or exc.status_code in (408, 409)
    if isinstance(exc, openai.APIResponseValidationError):
        return False
    return False


def _retry_after(exc: BaseException | None) -> float | None:
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

        parsed = email.utils.parsedate_to_datetime(value) if value else None
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def _format_refused(exc: Exception) -> bool:
    text = str(getattr(exc, "message", "") or exc).lower()
    return any(w in text for w in ("response_format", "json_schema", "json schema", "schema", "format"))


_LIVE: weakref.WeakSet[ModelClient] = weakref.WeakSet()


async def _closing(coro: Awaitable[R]) -> R:
    """Await ``coro``, then close the connections any client opened on this (temporary) loop."""
    try:
        return await coro
    finally:
        for client in list(_LIVE):
            await client.aclose()


def run_sync(coro: Awaitable[R]) -> R:
    """Run a coroutine from sync code, even when the caller already runs an event loop (notebooks)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(_closing(coro))
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = asyncio.run(_closing(coro))
        except BaseException as exc:  # re-raised in the caller's thread
            box["error"] = exc

    t = threading.Thread(target=target, name="newsqa-sync")
    t.start()
    t.join()
    if "error" in box:
        raise box["error"]
    return box["value"]  # type: ignore[no-any-return]
