"""One model interface over any OpenAI-compatible endpoint, the embedded model included.

A request goes: cache lookup -> response-format negotiation -> HTTP call with transient retries
(tenacity; the openai client's own retries are off, so there is one retry layer) -> checks
(refusal, truncation) -> pydantic validation -> ``review`` by the caller -> cache store.
Invalid output and a review that asks for another try share one re-ask loop and one budget
(``max_reasks``); usage is summed over every request either needed.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import random
import threading
import time
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from .. import prompts
from ..errors import (
    BackendError,
    NewsQAError,
    RefusalError,
    RetriesExhaustedError,
    TruncatedOutputError,
    ValidationExhaustedError,
)
from ..schemas import Usage
from ..text.tokens import Tokenizer, encoding_for_model, get_tokenizer
from . import formats, loop
from .cache import Cache, cache_key
from .failures import SecretFilter, is_transient, replay_error, retry_after, scrub
from .limits import Limiter
from .logprobs import TOP_LOGPROBS, TokenLogprob, from_json, from_openai, to_json
from .settings import EMBEDDED_MODEL, ResponseFormat, Settings, redact_url
from .streams import streamed
from .transports import AnyTransport, choose_transport

if TYPE_CHECKING:
    from openai import AsyncOpenAI
    from tenacity import RetryCallState

__all__ = ["EMBEDDED_MODEL", "Completion", "Message", "ModelClient", "Review"]

log = logging.getLogger("newsqa")

T = TypeVar("T", bound=BaseModel)
Message = dict[str, str]
# A review of a valid reply: None accepts it, a string is the feedback for one more try.
Review = Callable[[T], "str | None"]


@dataclass
class Completion(Generic[T]):
    """A validated model output and what it cost (``usage`` covers every retry and re-ask)."""

    value: T
    raw: str
    model: str
    usage: Usage = field(default_factory=Usage)
    cached: bool = False
    attempts: int = 0
    # The reply's tokens with their log-probabilities, when asked for and the endpoint reports them.
    logprobs: list[TokenLogprob] | None = None


_SECRETS = SecretFilter()
log.addFilter(_SECRETS)


def _short_error(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        errs = exc.errors(include_url=False)
        parts = [f"{'.'.join(str(p) for p in e['loc']) or 'reply'}: {e['msg']}" for e in errs[:5]]
        return "; ".join(parts)
    return str(exc)[:300]


@functools.lru_cache(maxsize=1)
def _ssl_context() -> Any:
    # Loading the CA bundle takes ~60 ms; every client of the process shares it.
    import httpcore2

    return httpcore2.default_ssl_context()


async def _sleep(seconds: float) -> None:
    # The one place retries wait: tests replace it to check the waits without spending them.
    await asyncio.sleep(seconds)


class ModelClient:
    """A configured model endpoint.

    ``ModelClient()`` reads :class:`Settings` from the environment once; keyword arguments (any
    :class:`Settings` field) win over it, and ``settings=`` replaces it. With no ``base_url`` and no
    ``api_key`` it is the embedded local model. ``transport`` (an httpx2 transport) replaces the
    network, for record/replay and tests. Close it like an httpx client (``with`` / ``async with``,
    or :meth:`close`) when you are done with it.
    """

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        cache: Cache | bool | None = True,
        transport: AnyTransport | None = None,
        **overrides: Any,
    ) -> None:
        if settings is None:
            settings = Settings.from_env(**overrides)
        elif overrides:
            settings = settings.replace(**{k: v for k, v in overrides.items() if v is not None})
        self.settings = settings
        if settings.api_key:
            _SECRETS.secrets.add(settings.api_key)
        self.cache: Cache | None = Cache() if cache is True else (cache or None)
        self._transport_given = transport
        self._format: ResponseFormat | None = None  # what negotiation settled on, for this client only
        self._logprobs_refused = False  # the endpoint said no to logprobs once: never ask again
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncOpenAI] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._tokenizer: Tokenizer | None = None
        self.limiter = Limiter(
            settings.in_flight_limit,
            requests_per_minute=settings.requests_per_minute,
            tokens_per_minute=settings.tokens_per_minute,
        )
        # A client dropped without close() still closes its connections, on the loops that own them.
        weakref.finalize(self, _close_on_their_loops, self._clients)
        _LIVE.add(self)

    # -- facts about the endpoint -------------------------------------------------------------------
    @property
    def kind(self) -> str:
        return self.settings.kind

    @property
    def embedded(self) -> bool:
        return self.settings.embedded

    @property
    def model(self) -> str:
        return self.settings.model_name

    @property
    def identity(self) -> str:
        return self.settings.identity

    @property
    def context_window(self) -> int:
        return self.settings.window

    @property
    def concurrency(self) -> int:
        return self.settings.parallel

    def describe(self) -> str:
        return self.settings.describe()

    def __repr__(self) -> str:
        s = self.settings
        return f"ModelClient(kind={s.kind!r}, base_url={redact_url(s.url)!r}, model={s.model_name!r})"

    @property
    def exact_tokens(self) -> bool:
        """Whether :attr:`tokenizer` is the answering model's own (else an approximation)."""
        import importlib.util

        return (
            self.embedded
            and self._transport_given is None
            and not self.settings.replay_dir
            and importlib.util.find_spec("llama_cpp") is not None
        )

    @property
    def tokenizer(self) -> Tokenizer:
        """Counts tokens: the embedded model's own vocabulary when it runs here, else tiktoken (offline)."""
        if self._tokenizer is None:
            tok: Tokenizer | None = None
            if self.exact_tokens:
                try:
                    from .vocab import model_tokenizer

                    tok = model_tokenizer(self.settings.gguf)
                except (ImportError, NewsQAError) as exc:
                    log.info("counting tokens with tiktoken instead of the model's vocabulary: %s", exc)
            self._tokenizer = tok or get_tokenizer(encoding_for_model(None if self.embedded else self.model))
        return self._tokenizer

    def _response_format(self) -> ResponseFormat:
        if self.settings.response_format != "auto":
            return self.settings.response_format
        if self._format is not None:
            return self._format
        return "json_object" if self.embedded else "json_schema"

    # -- connections --------------------------------------------------------------------------------
    def _openai(self) -> AsyncOpenAI:
        """The openai client of the running loop (one connection pool per loop and client)."""
        running = asyncio.get_running_loop()
        with self._lock:
            client = self._clients.get(running)
            if client is None:
                client = self._new_openai()
                self._clients[running] = client
            return client

    def _new_openai(self) -> AsyncOpenAI:
        import httpx2
        from openai import AsyncOpenAI, DefaultAsyncHttpxClient

        s = self.settings
        transport = choose_transport(s, self._transport_given)
        if transport is not None:
            http_client: httpx2.AsyncClient = httpx2.AsyncClient(transport=transport, timeout=s.per_attempt)  # type: ignore[arg-type]
        else:
            http_client = DefaultAsyncHttpxClient(verify=_ssl_context(), timeout=s.per_attempt)
        # The openai client needs some key; the embedded model and keyless servers check none.
        key = s.api_key or ("embedded" if s.embedded else "not-needed")
        return AsyncOpenAI(base_url=s.url, api_key=key, max_retries=0, timeout=s.per_attempt, http_client=http_client)

    async def aclose(self) -> None:
        """Close the HTTP connections this client opened on the running event loop."""
        with self._lock:
            client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()

    def close(self) -> None:
        """Close the connections of synchronous calls (those made on newsqa's shared loop)."""
        if any(lp is loop.sync_loop() for lp in list(self._clients)):
            loop.run_sync(self.aclose())

    async def __aenter__(self) -> ModelClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def __enter__(self) -> ModelClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the call -----------------------------------------------------------------------------------
    def cache_key(self, messages: list[Message], schema: type[BaseModel], max_tokens: int) -> str:
        s = self.settings
        return cache_key(
            {
                "endpoint": s.identity,
                "model": s.model_name,
                "messages": messages,
                "schema": formats.json_schema(schema),
                "sampling": {"temperature": s.temperature, "top_p": s.top_p, "seed": s.seed, "max_tokens": max_tokens},
                "prompt_version": prompts.prompt_version(),
            }
        )

    def complete(
        self,
        messages: list[Message],
        schema: type[T],
        *,
        max_tokens: int = 512,
        use_cache: bool = True,
        with_logprobs: bool = False,
    ) -> Completion[T]:
        return loop.run_sync(
            self.acomplete(messages, schema, max_tokens=max_tokens, use_cache=use_cache, with_logprobs=with_logprobs)
        )

    async def acomplete(
        self,
        messages: list[Message],
        schema: type[T],
        *,
        max_tokens: int = 512,
        use_cache: bool = True,
        on_delta: Callable[[str | None], None] | None = None,
        review: Review[T] | None = None,
        with_logprobs: bool = False,
    ) -> Completion[T]:
        """Ask for an object of ``schema``, re-asking while the reply is invalid or ``review`` objects.

        ``review`` sees each valid reply and returns None to accept it, or the feedback for another
        try; it shares the ``max_reasks`` budget with validation errors, and once the budget is spent
        the last valid reply is returned for the caller to judge. A cache hit is final: it is not
        reviewed again. With ``on_delta`` the reply is streamed: it is called with each piece of text
        as it arrives, and with ``None`` whenever a new request starts (a retry or re-ask).
        ``with_logprobs`` asks for the reply's token log-probabilities (kept in the cache with it);
        an endpoint that does not report them gives a completion whose ``logprobs`` is None.
        """
        key = self.cache_key(messages, schema, max_tokens)
        if use_cache and self.cache is not None:
            hit = self.cache.get(key)
            if hit is not None:
                try:
                    value = schema.model_validate(hit.value)
                    # An entry stored without asking for token probabilities has none (None); one whose
                    # endpoint gave none when asked has an empty list, and serves such requests too.
                    asked = hit.logprobs is not None
                    if asked or not with_logprobs or self._logprobs_refused:
                        tokens = from_json(hit.logprobs) if asked else None
                        return Completion(
                            value, json.dumps(hit.value), hit.model, Usage(), cached=True, logprobs=tokens or None
                        )
                except ValidationError:
                    log.warning("ignoring a cache entry that no longer validates against %s", schema.__name__)
        usage = Usage()
        convo = [dict(m) for m in messages]
        raw: str | None = None
        last_error = "no reply"
        budget = self.settings.max_reasks
        for attempt in range(budget + 1):
            response, requests = await self._send(convo, schema, max_tokens, usage, on_delta, with_logprobs)
            usage = usage + _usage_of(response, requests)
            choices = response.choices
            if not choices:
                last_error = "the reply had no choices"
                continue
            message = choices[0].message
            if getattr(message, "refusal", None):
                raise RefusalError(
                    f"the model refused: {str(message.refusal)[:200]}",
                    attempts=usage.requests,
                    usage=usage,
                    last_output=message.refusal,
                )
            raw = message.content or ""
            if getattr(choices[0], "finish_reason", None) == "length":
                raise TruncatedOutputError(
                    f"the model's output was cut off at max_tokens={max_tokens} (finish_reason=length)",
                    attempts=usage.requests,
                    usage=usage,
                    last_output=raw,
                )
            try:
                value = schema.model_validate_json(formats.extract_json(raw))
            except (ValidationError, ValueError) as exc:
                last_error = _short_error(exc)
                log.info("invalid model output (%s); re-asking", last_error)
                feedback = prompts.render("reask", error=last_error)
            else:
                verdict = review(value) if review is not None and attempt < budget else None
                if verdict is None:
                    model_name = getattr(response, "model", None) or self.model
                    tokens = from_openai(getattr(choices[0], "logprobs", None)) if with_logprobs else None
                    if use_cache and self.cache is not None:
                        kept = to_json(tokens or []) if with_logprobs else None
                        self.cache.set(
                            key, model_name, value.model_dump(mode="json"), usage.model_dump(), logprobs=kept
                        )
                    return Completion(value, raw, model_name, usage, attempts=usage.requests, logprobs=tokens)
                log.info("re-asking: %s", verdict[:200])
                feedback = verdict
            convo += [{"role": "assistant", "content": raw[:4000]}, {"role": "user", "content": feedback}]
        raise ValidationExhaustedError(
            f"no valid {schema.__name__} after {budget + 1} attempts: {last_error}",
            attempts=usage.requests,
            usage=usage,
            last_output=raw,
        )

    def _request_kwargs(
        self, convo: list[Message], schema: type[BaseModel], max_tokens: int, fmt: ResponseFormat, with_logprobs: bool
    ) -> dict[str, Any]:
        s = self.settings
        kwargs: dict[str, Any] = {"model": s.model_name, "temperature": s.temperature, "max_tokens": max_tokens}
        if with_logprobs and not self._logprobs_refused:
            kwargs["logprobs"] = True
            kwargs["top_logprobs"] = TOP_LOGPROBS
        if s.top_p is not None:
            kwargs["top_p"] = s.top_p
        if s.seed is not None:
            kwargs["seed"] = s.seed
        msgs = [dict(m) for m in convo]
        response_format = formats.request_format(fmt, schema)
        if response_format is not None:
            kwargs["response_format"] = response_format
        else:
            msgs[-1]["content"] += formats.prompt_schema(schema)
        kwargs["messages"] = msgs
        return kwargs

    async def _send(
        self,
        convo: list[Message],
        schema: type[BaseModel],
        max_tokens: int,
        usage: Usage,
        on_delta: Callable[[str | None], None] | None = None,
        with_logprobs: bool = False,
    ) -> tuple[Any, int]:
        """One logical request: transient failures retried with backoff; format downgraded if refused.

        ``settings.timeout`` bounds the whole of it, retries and waits included: a server that never
        answers, answers one byte a second or asks to be called back tomorrow fails in that time.
        """
        import openai
        from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt, stop_after_delay

        client = self._openai()
        s = self.settings
        deadline = time.monotonic() + s.timeout
        sent = 0

        def wait(state: RetryCallState) -> float:
            return max(0.0, min(self._wait(state), deadline - time.monotonic()))

        while True:
            fmt = self._response_format()
            kwargs = self._request_kwargs(convo, schema, max_tokens, fmt, with_logprobs)
            retrying = AsyncRetrying(
                stop=stop_after_attempt(s.max_retries + 1) | stop_after_delay(s.timeout),
                wait=wait,
                retry=retry_if_exception(is_transient),
                sleep=_sleep,
                reraise=True,
            )
            error: NewsQAError
            try:
                async for attempt in retrying:
                    with attempt:
                        sent += 1
                        remaining = deadline - time.monotonic()
                        if remaining <= 0:
                            raise TimeoutError
                        estimate = sum(len(m["content"]) for m in convo) // 4 + max_tokens
                        async with self.limiter.slot(estimate, deadline=deadline):
                            if on_delta is None:
                                call = client.chat.completions.create(**kwargs)
                            else:
                                on_delta(None)
                                call = streamed(client, kwargs, on_delta)
                            try:
                                response = await asyncio.wait_for(call, min(deadline - time.monotonic(), s.per_attempt))
                            except openai.APIStatusError as exc:
                                if "logprobs" in kwargs and "logprob" in str(exc.message).lower():
                                    raise _LogprobsRefused from None
                                if (
                                    exc.status_code in (422, 500)
                                    and "response_format" in kwargs
                                    and formats.format_refused(str(exc.message))
                                ):
                                    # llama.cpp's server answers 500 (its validation error) to a format it
                                    # does not know: a refusal like a 400, and no retry will change it.
                                    raise _FormatRefused(str(exc.message), exc.status_code) from None
                                raise
                        actual = getattr(getattr(response, "usage", None), "total_tokens", None) or estimate
                        self.limiter.spent(estimate, actual)
                        return self._chat_completion(response, sent, usage), sent
            except _LogprobsRefused:
                # Token probabilities are a refinement: an endpoint without them still answers.
                log.info("%s does not report logprobs; asking without them", self.describe())
                self._logprobs_refused = True
                continue
            except (openai.BadRequestError, _FormatRefused) as exc:
                nxt = formats.next_format(fmt)
                negotiable = s.response_format == "auto" and not self.embedded
                if negotiable and nxt and formats.format_refused(str(getattr(exc, "message", "") or exc)):
                    log.info("%s refused response_format %s; trying %s", self.describe(), fmt, nxt)
                    self._format = nxt
                    continue
                error = self._backend_error(exc, sent, usage)
            except NewsQAError as exc:
                error = exc
            except Exception as exc:
                replay = replay_error(exc)
                if replay is not None:
                    error = replay
                elif is_transient(exc):
                    what = "timed out" if isinstance(exc, TimeoutError) else self._describe_exc(exc)
                    error = RetriesExhaustedError(
                        f"{self.describe()} kept failing for {s.timeout:g}s or {sent} attempts: {what}",
                        attempts=usage.requests + sent,
                        usage=usage,
                    )
                elif isinstance(exc, openai.APIError):
                    error = self._backend_error(exc, sent, usage)
                else:
                    # A reply the openai client cannot read at all (not JSON, not UTF-8, not an object).
                    error = BackendError(
                        f"{self.describe()} sent a reply that is not an OpenAI chat completion ({type(exc).__name__})",
                        attempts=usage.requests + sent,
                        usage=usage,
                    )
            # Raised outside the except blocks, so no chained exception can carry a key the server echoed.
            raise error

    def _chat_completion(self, response: Any, sent: int, usage: Usage) -> Any:
        """``response`` if it has the shape of a chat completion; a typed error if it does not."""
        choices = getattr(response, "choices", None)
        shape_ok = isinstance(choices, list) and all(getattr(c, "message", None) is not None for c in choices)
        if not shape_ok:
            raise BackendError(
                f"{self.describe()} sent a reply that is not an OpenAI chat completion (no choices with a message)",
                attempts=usage.requests + sent,
                usage=usage,
            )
        return response

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
        return scrub(str(msg), [self.settings.api_key])[:300]

    def _wait(self, retry_state: RetryCallState) -> float:
        """Exponential backoff with full jitter, but never less than the server's Retry-After."""
        s = self.settings
        n = retry_state.attempt_number
        delay = random.uniform(0, min(s.max_backoff, s.backoff * 2 ** (n - 1)))
        exc = retry_state.outcome.exception() if retry_state.outcome else None
        after = retry_after(exc)
        if after is not None:
            delay = max(delay, min(after, s.max_backoff * 4))
            self.limiter.pause(delay)  # the server is rate-limiting this client, not one request
        return delay


class _LogprobsRefused(Exception):
    """The endpoint rejected a request for token log-probabilities (not a failure of the request)."""


class _FormatRefused(Exception):
    """The endpoint rejected the response format with a status other than 400."""

    def __init__(self, message: str, status_code: int) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


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


def _close_on_their_loops(clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncOpenAI]) -> None:
    for owner, client in list(clients.items()):
        if owner.is_closed():
            continue
        with contextlib.suppress(RuntimeError):  # the loop is shutting down
            asyncio.run_coroutine_threadsafe(client.close(), owner)
    clients.clear()


_LIVE: weakref.WeakSet[ModelClient] = weakref.WeakSet()


async def _close_live() -> None:
    for client in list(_LIVE):
        await client.aclose()


loop.on_close(_close_live)
