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
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx2

from ._transport import ThreadedTransport
from .errors import ReplayError

__all__ = [
    "FakeOpenAIServer",
    "RecordingTransport",
    "ReplayTransport",
    "ScriptedTransport",
    "chat_completion",
    "exchange_key",
    "streamed_completion",
]

_SCRUB_HEADERS = frozenset(
    {"authorization", "api-key", "x-api-key", "cookie", "set-cookie", "openai-organization", "openai-project"}
)
_KEEP_RESPONSE_HEADERS = frozenset({"content-type", "retry-after"})
# Request fields that vary between runs without changing the meaning of a request.
_VOLATILE = frozenset({"stream_options", "user", "metadata"})


_SECRET_LIKE = re.compile(r"\b(sk-[A-Za-z0-9_-]{8,}|Bearer\s+[A-Za-z0-9._-]{8,})")


def _scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in secrets:
        if len(secret) >= 8:
            text = text.replace(secret, "[redacted]")
    return _SECRET_LIKE.sub("[redacted]", text)


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
            parsed = _normalise_body(body)
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
                "body": _normalise_body(body),
            },
            "response": {
                "status": response.status_code,
                "headers": {k: v for k, v in response.headers.items() if k.lower() in _KEEP_RESPONSE_HEADERS},
                "body": _scrub(content.decode("utf-8", "replace"), secrets),
            },
        }
        record = json.loads(_scrub(json.dumps(record, ensure_ascii=False), secrets))
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


def streamed_completion(
    content: str, *, pieces: int = 8, finish_reason: str | None = "stop", model: str = "scripted", usage: bool = True
) -> httpx2.Response:
    """An OpenAI streaming (server-sent events) response that delivers ``content`` in ``pieces``.

    ``finish_reason=None`` ends the stream without a finish reason, as a cut connection would.
    """
    step = max(1, -(-len(content) // pieces))
    events = []
    for i in range(0, len(content), step):
        piece = content[i : i + step]
        delta = {"role": "assistant", "content": piece} if i == 0 else {"content": piece}
        events.append(
            {
                "id": "c",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": None}],
            }
        )
    if finish_reason is not None:
        events.append(
            {
                "id": "c",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": model,
                "choices": [{"index": 0, "delta": {}, "finish_reason": finish_reason}],
            }
        )
        if usage:
            events.append(
                {
                    "id": "c",
                    "object": "chat.completion.chunk",
                    "created": 0,
                    "model": model,
                    "choices": [],
                    "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
                }
            )
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events)
    if finish_reason is not None:
        body += "data: [DONE]\n\n"
    return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=body.encode())


Reply = str | dict[str, Any] | httpx2.Response | Exception | Callable[[httpx2.Request], httpx2.Response]


def _is_check(body: dict[str, Any]) -> bool:
    from .prompts import load

    messages = body.get("messages") or [{}]
    return bool(messages[0].get("content") == load("check_system"))


class ScriptedTransport(ThreadedTransport):
    """Answer each request with the next scripted reply.

    A reply is the assistant's text (``str``), a JSON-able model output (``dict`` with no ``choices``),
    a full response body (``dict`` with ``choices``), an ``httpx2.Response``, an exception to raise,
    or a callable taking the request. ``requests`` keeps the parsed request bodies.

    With ``verdict`` ("yes" or "no"), newsqa's answer checks (the second reading of an answer's
    evidence) get that verdict without taking a scripted reply, so a script lists only the drafts.
    """

    def __init__(self, replies: Iterable[Reply], *, verdict: str | None = None) -> None:
        self._replies: Iterator[Reply] = iter(list(replies))
        self.requests: list[dict[str, Any]] = []
        self.verdict = verdict
        self._lock = threading.Lock()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        with self._lock:
            body = _normalise_body(request.read())
            self.requests.append(body)
            try:
                if self.verdict is not None and _is_check(body):
                    reply: Reply = {"verdict": self.verdict}
                else:
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


class FakeOpenAIServer:
    """A real HTTP server on 127.0.0.1 that answers ``/v1/chat/completions`` from a script of behaviours.

    Each request takes the next behaviour: an ``httpx2.Response``-like tuple ``(status, headers, body)``,
    a reply accepted by :class:`ScriptedTransport` (text or dict), or one of the strings ``"reset"``
    (drop the connection without answering) and ``"sleep:<seconds>"`` (answer late). For fault tests
    that need real sockets; use as a context manager, ``base_url`` gives the endpoint.
    ``script`` may also be a callable that takes each parsed request body and returns its behaviour
    (a server that answers by rule, such as the peer benchmark's counting server).
    """

    def __init__(self, script: Iterable[Any] | Callable[[dict[str, Any]], Any]) -> None:
        import http.server
        import socketserver

        self._rule = script if callable(script) else None
        self._script: Iterator[Any] = iter(()) if callable(script) else iter(list(script))
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        fake = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                raw = self.rfile.read(length)
                body = _normalise_body(raw)
                with fake._lock:
                    fake.requests.append(body)
                    behaviour = None if fake._rule else next(fake._script, None)
                if fake._rule:
                    behaviour = fake._rule(body)
                fake._respond(self, behaviour)

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 128

        self._httpd = Server(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    def _respond(self, handler: Any, behaviour: Any) -> None:
        import socket

        if behaviour is None:
            behaviour = (500, {}, json.dumps({"error": {"message": "fake server script exhausted"}}))
        if isinstance(behaviour, str) and behaviour == "reset":
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            handler.connection.close()
            handler.close_connection = True
            return
        if isinstance(behaviour, str) and behaviour.startswith("sleep:"):
            time.sleep(float(behaviour.split(":", 1)[1]))
            behaviour = (200, {}, json.dumps(chat_completion('{"late": true}')))
        if isinstance(behaviour, httpx2.Response):
            behaviour = (behaviour.status_code, dict(behaviour.headers), behaviour.read().decode())
        if not isinstance(behaviour, tuple):
            if isinstance(behaviour, dict) and "choices" not in behaviour:
                behaviour = json.dumps(behaviour)
            body = chat_completion(behaviour) if isinstance(behaviour, str) else behaviour
            behaviour = (200, {"content-type": "application/json"}, json.dumps(body))
        status, headers, body = behaviour
        data = body.encode() if isinstance(body, str) else body
        try:
            handler.send_response(status)
            headers = {"content-type": "application/json", **{k.lower(): v for k, v in headers.items()}}
            headers.pop("content-length", None)
            for k, v in headers.items():
                handler.send_header(k, v)
            handler.send_header("content-length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def __enter__(self) -> FakeOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
