"""Test kit: record and replay model exchanges at the HTTP level, and a scripted model.

All three are httpx transports, handed to the openai client through ``ModelClient(transport=...)``,
so everything above HTTP (schema negotiation, validation, re-asks, retries, the cache) runs for real.

- :class:`RecordingTransport` wraps a real transport and writes each exchange to a directory,
  with credentials and cookies scrubbed.
- :class:`ReplayTransport` serves recorded exchanges matched on the normalised request body and
  raises :class:`~newsqa.errors.ReplayError` for anything unrecorded.
- :class:`ScriptedTransport` answers from a queue of canned replies, for unit tests of your own code.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx2

from ._transport import ThreadedTransport
from .errors import ReplayError

__all__ = [
    "RecordingTransport",
    "ReplayTransport",
    "ScriptedTransport",
    "chat_completion",
    "exchange_key",
]

_SCRUB_HEADERS = frozenset(
    {"authorization", "api-key", "x-api-key", "cookie", "set-cookie", "openai-organization", "openai-project"}
)
_KEEP_RESPONSE_HEADERS = frozenset({"content-type", "retry-after"})
# Request fields that vary between runs without changing the meaning of a request.
_VOLATILE = frozenset({"stream_options", "user", "metadata"})


def _normalise_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return {"_raw": raw.decode("utf-8", "replace")}
    if isinstance(body, dict):
        return {k: v for k, v in body.items() if k not in _VOLATILE}
    return {"_body": body}


def exchange_key(method: str, path: str, body: bytes) -> str:
    """What a request is matched on: method, path and the canonical JSON of its body."""
    canon = json.dumps(_normalise_body(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(f"{method} {path}\n{canon}".encode()).hexdigest()[:24]


def _path(request: httpx2.Request) -> str:
    # Match on the API route only: the same exchange replays whatever host or /v1 prefix served it.
    p = request.url.path
    return p[p.index("/chat/") :] if "/chat/" in p else p


class ReplayTransport(ThreadedTransport):
    """Serve exchanges recorded by :class:`RecordingTransport` from ``directory``.

    ``played`` holds the keys served so far; :meth:`unplayed` lists recordings a test never asked for.
    """

    def __init__(self, directory: str | Path, *, latency: float = 0.0) -> None:
        self.directory = Path(directory)
        self.latency = latency
        self.played: list[str] = []
        self._index: dict[str, Path] | None = None

    def _exchanges(self) -> dict[str, Path]:
        if self._index is None:
            self._index = {p.stem: p for p in sorted(self.directory.glob("*.json"))}
        return self._index

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        body = request.read()
        key = exchange_key(request.method, _path(request), body)
        path = self._exchanges().get(key)
        if path is None:
            summary = json.dumps(_normalise_body(body))[:300]
            raise ReplayError(
                f"no recorded exchange {key} for {request.method} {_path(request)} in {self.directory}; "
                f"record it with NEWSQA_RECORD_DIR (request: {summary}...)"
            )
        self.played.append(key)
        if self.latency:
            time.sleep(self.latency)
        data = json.loads(path.read_text(encoding="utf-8"))
        resp = data["response"]
        return httpx2.Response(
            resp["status"],
            headers=resp.get("headers", {}),
            content=resp["body"].encode(),
            request=request,
        )

    def unplayed(self) -> list[str]:
        return sorted(set(self._exchanges()) - set(self.played))


class RecordingTransport(ThreadedTransport):
    """Pass requests to ``inner`` and write each exchange to ``directory`` (secrets scrubbed)."""

    def __init__(self, inner: httpx2.BaseTransport, directory: str | Path) -> None:
        self.inner = inner
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        body = request.read()
        response = self.inner.handle_request(request)
        content = response.read()
        key = exchange_key(request.method, _path(request), body)
        record = {
            "request": {
                "method": request.method,
                "path": _path(request),
                "headers": {
                    k: v
                    for k, v in request.headers.items()
                    if k.lower() not in _SCRUB_HEADERS and k.lower().startswith(("content-type", "accept"))
                },
                "body": _normalise_body(body),
            },
            "response": {
                "status": response.status_code,
                "headers": {k: v for k, v in response.headers.items() if k.lower() in _KEEP_RESPONSE_HEADERS},
                "body": content.decode("utf-8", "replace"),
            },
        }
        tmp = self.directory / f".{key}.tmp"
        tmp.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(self.directory / f"{key}.json")
        return httpx2.Response(response.status_code, headers=response.headers, content=content, request=request)


def chat_completion(
    content: str | None,
    *,
    model: str = "scripted",
    finish_reason: str = "stop",
    prompt_tokens: int = 10,
    completion_tokens: int = 5,
    refusal: str | None = None,
) -> dict[str, Any]:
    """An OpenAI chat-completion response body, for scripted replies."""
    return {
        "id": "chatcmpl-scripted",
        "object": "chat.completion",
        "created": 0,
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": content, "refusal": refusal},
                "finish_reason": finish_reason,
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
        },
    }


Reply = str | dict[str, Any] | httpx2.Response | Exception | Callable[[httpx2.Request], httpx2.Response]


class ScriptedTransport(ThreadedTransport):
    """Answer each request with the next scripted reply.

    A reply is the assistant's text (``str``), a JSON-able model output (``dict`` with no ``choices``),
    a full response body (``dict`` with ``choices``), an ``httpx2.Response``, an exception to raise,
    or a callable taking the request. ``requests`` keeps the parsed request bodies.
    """

    def __init__(self, replies: Iterable[Reply]) -> None:
        self._replies: Iterator[Reply] = iter(list(replies))
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        with self._lock:
            self.requests.append(_normalise_body(request.read()))
            try:
                reply = next(self._replies)
            except StopIteration:
                raise ReplayError(f"ScriptedTransport ran out of replies after {len(self.requests) - 1}") from None
        if isinstance(reply, Exception):
            raise reply
        if callable(reply):
            return reply(request)
        if isinstance(reply, httpx2.Response):
            return reply
        if isinstance(reply, dict) and "choices" not in reply:
            reply = json.dumps(reply)
        body = chat_completion(reply) if isinstance(reply, str) else reply
        return httpx2.Response(200, json=body, request=request)
