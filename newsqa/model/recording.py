"""Recorded model exchanges: write them (``NEWSQA_RECORD_DIR``), serve them back (``NEWSQA_REPLAY_DIR``).

Both are httpx transports under the openai client, so everything above HTTP (format negotiation,
validation, re-asks, retries, the cache) runs for real. Recording scrubs credentials and cookies,
and any echo of them in a response body. Replay matches on the normalised request body and raises
:class:`~newsqa.errors.ReplayError` for anything that was not recorded.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Any

import httpx2

from ..errors import ReplayError
from ._threaded import ThreadedTransport
from .failures import scrub

__all__ = ["RecordingTransport", "ReplayTransport", "exchange_key", "normalise_body"]

_SCRUB_HEADERS = frozenset(
    {"authorization", "api-key", "x-api-key", "cookie", "set-cookie", "openai-organization", "openai-project"}
)
_KEEP_RESPONSE_HEADERS = frozenset({"content-type", "retry-after"})
# Request fields that vary between runs without changing the meaning of a request.
_VOLATILE = frozenset({"stream_options", "user", "metadata"})
# Request fields that annotate a reply without changing it: a recording made with or without them
# serves both (the reply replayed carries the token probabilities only if it was recorded with them).
_ANNOTATIONS = frozenset({"logprobs", "top_logprobs"})


def normalise_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        return {"_raw": raw.decode("utf-8", "replace")}
    if isinstance(body, dict):
        return {k: v for k, v in body.items() if k not in _VOLATILE}
    return {"_body": body}


def exchange_key(method: str, path: str, body: bytes) -> str:
    """What a request is matched on: method, path and the canonical JSON of its body."""
    fields = {k: v for k, v in normalise_body(body).items() if k not in _ANNOTATIONS}
    canon = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
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
        # Keys asked for and not recorded: a test can tell a miss was not retried.
        self.misses: list[str] = []
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
            self.misses.append(key)
            parsed = normalise_body(body)
            messages = parsed.get("messages") or [parsed]
            summary = json.dumps(messages[-1], ensure_ascii=False)[:300]  # the part that differs: the task
            raise ReplayError(
                f"no recorded exchange {key} for {request.method} {_path(request)} in {self.directory}; "
                f"record it with NEWSQA_RECORD_DIR (last message: {summary}...)"
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

    def __init__(self, inner: httpx2.BaseTransport, directory: str | Path, *, close_inner: bool = False) -> None:
        self.inner = inner
        self.close_inner = close_inner
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        if self.close_inner:
            self.inner.close()

    async def aclose(self) -> None:
        self.close()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        body = request.read()
        response = self.inner.handle_request(request)
        content = response.read()
        key = exchange_key(request.method, _path(request), body)
        # Credentials go, and so does any echo of them (an API error may quote the key back).
        secrets = [v.split(" ", 1)[-1] for k, v in request.headers.items() if k.lower() in _SCRUB_HEADERS]
        record = {
            "request": {
                "method": request.method,
                "path": _path(request),
                "headers": {
                    k: v
                    for k, v in request.headers.items()
                    if k.lower() not in _SCRUB_HEADERS and k.lower().startswith(("content-type", "accept"))
                },
                "body": normalise_body(body),
            },
            "response": {
                "status": response.status_code,
                "headers": {k: v for k, v in response.headers.items() if k.lower() in _KEEP_RESPONSE_HEADERS},
                "body": scrub(content.decode("utf-8", "replace"), secrets),
            },
        }
        record = json.loads(scrub(json.dumps(record, ensure_ascii=False), secrets))
        tmp = self.directory / f".{key}.tmp"
        tmp.write_text(json.dumps(record, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        tmp.replace(self.directory / f"{key}.json")
        return httpx2.Response(response.status_code, headers=response.headers, content=content, request=request)
