"""Test kit: scripted and recorded models for your own tests, and real servers for fault tests.

All transports here are httpx transports, handed to the openai client through
``ModelClient(transport=...)``, so everything above HTTP (schema negotiation, validation, re-asks,
retries, the cache) runs for real. Production code never imports this module.

- :class:`ScriptedTransport` answers from a queue of canned replies, for unit tests of your own code.
- :class:`ReplayTransport` / :class:`RecordingTransport` (from :mod:`newsqa.model.recording`) serve
  and write recorded exchanges.
- :class:`FakeOpenAIServer` is a real HTTP server on 127.0.0.1 with scripted behaviours.
- :func:`llama_server` runs ``llama_cpp.server`` on 127.0.0.1, to record fixtures over real HTTP.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx2

from .errors import LocalModelError, ReplayError
from .model._threaded import ThreadedTransport
from .model.recording import RecordingTransport, ReplayTransport, exchange_key, normalise_body

__all__ = [
    "FakeOpenAIServer",
    "RecordingTransport",
    "ReplayTransport",
    "ScriptedTransport",
    "chat_completion",
    "exchange_key",
    "llama_server",
    "streamed_completion",
]


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


def choice_completion(reply: dict[str, Any], field: str, shares: dict[str, float]) -> dict[str, Any]:
    """A chat completion of ``reply`` (a JSON object) with OpenAI-shaped token log-probabilities in
    which the string value of ``field`` was chosen among ``shares`` (option -> probability)."""
    import math

    def lp(p: float) -> float:
        return math.log(max(p, 1e-9))

    text = json.dumps(reply)
    value = json.dumps(reply[field])
    at = text.index(json.dumps(field) + ": " + value) + len(json.dumps(field) + ": ")
    pieces = [text[:at], value[0], value[1:-1], text[at + len(value) - 1 :]]
    content = [{"token": t, "logprob": 0.0, "top_logprobs": [{"token": t, "logprob": 0.0}]} for t in pieces if t]
    ranked = sorted(shares.items(), key=lambda kv: -kv[1])
    content[2] = {
        "token": reply[field],
        "logprob": lp(shares[reply[field]]),
        "top_logprobs": [{"token": w, "logprob": lp(p)} for w, p in ranked],
    }
    body = chat_completion(text)
    body["choices"][0]["logprobs"] = {"content": content}
    return body


def verdict_completion(verdict: str, p_yes: float) -> dict[str, Any]:
    """A chat completion of ``{"verdict": ...}`` with OpenAI-shaped token log-probabilities."""
    return choice_completion({"verdict": verdict}, "verdict", {"yes": p_yes, "no": 1 - p_yes})


def check_reply(body: dict[str, Any], verdict: str = "yes") -> dict[str, Any] | None:
    """The reply to one of newsqa's check requests (an answer's second reading, a summary's items
    read against their evidence) with ``verdict`` throughout; None for any other request. For rule-based
    fakes (:class:`FakeOpenAIServer` with a callable) that script only drafts."""
    if not _is_check(body):
        return None
    n = _claims_asked(body)
    return {"verdicts": [verdict] * n} if n else {"verdict": verdict}


def asks_for_actions(body: dict[str, Any]) -> bool:
    """Whether ``body`` is the actions pass: the request for each chosen sentence's who-did-what record."""
    from .prompts import load

    head = load("actions").split("$sentences")[0].strip()
    messages = body.get("messages") or [{}]
    return head in str(messages[-1].get("content", ""))


def actions_reply(body: dict[str, Any], records: Iterable[dict[str, Any]] = ()) -> dict[str, Any]:
    """The reply to an actions pass (see :func:`asks_for_actions`) that holds ``records``.

    Each record is an :class:`~newsqa.schemas.Action` as a dict with ``"evidence": ["S3"]``; it is
    written under that sentence, and every other sentence asked about gets null. A record whose
    sentence was not asked about, or a second record for one sentence, raises :class:`ReplayError`:
    a script that cannot be laid out would test nothing.
    """
    import re

    messages = body.get("messages") or [{}]
    asked = re.findall(r"^(S\d+): ", str(messages[-1].get("content", "")), flags=re.M)
    out: dict[str, Any] = dict.fromkeys(asked)
    for record in records:
        key = next(iter(record.get("evidence") or []), None)
        if key not in out or out[key] is not None:
            why = "was not asked about" if key not in out else "already holds a record"
            raise ReplayError(f"a scripted action record cites {key}, which {why} (asked: {', '.join(asked)})")
        out[key] = {k: v for k, v in record.items() if k != "evidence"}
    return out


def _claims_asked(body: dict[str, Any]) -> int:
    """How many verdicts a batched reading of claims asks for (0: not such a request)."""
    import re

    messages = body.get("messages") or [{}]
    m = re.search(r"with exactly (\d+) verdicts", str(messages[-1].get("content", "")))
    return int(m.group(1)) if m else 0


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
    evidence, and the batched reading of a summary's items) get that verdict without taking a
    scripted reply, so a script lists only the drafts.
    With ``p_yes`` as well, a check that asks for token log-probabilities gets them too: the deciding
    token gives "yes" that probability and "no" the rest.
    """

    def __init__(self, replies: Iterable[Reply], *, verdict: str | None = None, p_yes: float | None = None) -> None:
        self._replies: Iterator[Reply] = iter(list(replies))
        self.requests: list[dict[str, Any]] = []
        self.verdict = verdict
        self.p_yes = p_yes
        self._lock = threading.Lock()

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        with self._lock:
            body = normalise_body(request.read())
            self.requests.append(body)
            try:
                verdict = self.verdict
                checked = check_reply(body, verdict) if verdict is not None else None
                if verdict is not None and checked is not None:
                    reply: Reply = checked
                    if self.p_yes is not None and body.get("logprobs") and "verdict" in checked:
                        reply = verdict_completion(verdict, self.p_yes)
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
        if isinstance(reply, dict) and set(reply) == {"actions"} and asks_for_actions(body):
            reply = actions_reply(body, reply["actions"])
        if isinstance(reply, dict) and "choices" not in reply:
            reply = json.dumps(reply)
        body = chat_completion(reply) if isinstance(reply, str) else reply
        return httpx2.Response(200, json=body, request=request)


class FakeOpenAIServer:
    """A real HTTP server on 127.0.0.1 that answers ``/v1/chat/completions`` from a script of behaviours.

    Each request takes the next behaviour: an ``httpx2.Response``-like tuple ``(status, headers, body)``,
    a reply accepted by :class:`ScriptedTransport` (text or dict), or one of the strings ``"reset"``
    (drop the connection without answering), ``"sleep:<seconds>"`` (answer late) and ``"drip:<seconds>"``
    (send the body one byte every <seconds>). For fault tests
    that need real sockets; use as a context manager, ``base_url`` gives the endpoint.
    ``script`` may also be a callable that takes each parsed request body and returns its behaviour
    (a server that answers by rule, such as the peer benchmark's counting server). ``latency`` delays
    every answer; ``peak_in_flight`` is the most requests it was answering at once.
    """

    def __init__(self, script: Iterable[Any] | Callable[[dict[str, Any]], Any], *, latency: float = 0.0) -> None:
        import http.server
        import socketserver

        self.latency = latency
        self.in_flight = 0
        self.peak_in_flight = 0  # the most requests it was answering at once
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
                body = normalise_body(raw)
                with fake._lock:
                    fake.requests.append(body)
                    behaviour = None if fake._rule else next(fake._script, None)
                    fake.in_flight += 1
                    fake.peak_in_flight = max(fake.peak_in_flight, fake.in_flight)
                try:
                    if fake.latency:
                        time.sleep(fake.latency)
                    if fake._rule:
                        behaviour = fake._rule(body)
                    fake._respond(self, behaviour)
                finally:
                    with fake._lock:
                        fake.in_flight -= 1

        class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
            daemon_threads = True
            allow_reuse_address = True
            request_queue_size = 512

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
        if isinstance(behaviour, str) and behaviour.startswith("drip:"):
            # Headers at once, then the body one byte at a time, every <seconds>, for at most a minute.
            delay = float(behaviour.split(":", 1)[1])
            late = json.dumps(chat_completion('{"late": true}')).encode()
            try:
                handler.send_response(200)
                handler.send_header("content-type", "application/json")
                handler.send_header("content-length", str(len(late)))
                handler.end_headers()
                handler.wfile.flush()
                deadline = time.monotonic() + 60
                for i in range(len(late)):
                    if time.monotonic() > deadline:
                        break
                    handler.wfile.write(late[i : i + 1])
                    handler.wfile.flush()
                    time.sleep(delay)
            except (BrokenPipeError, ConnectionResetError):
                pass
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


# ``python -m llama_cpp.server``, with the model loaded as newsqa loads it in process (newsqa.model.cpu:
# no AMX buffers where they crash the process).
_SERVER = (
    "import runpy\n"
    "from newsqa.model.cpu import safe_loading\n"
    "with safe_loading():\n"
    "    runpy.run_module('llama_cpp.server', run_name='__main__', alter_sys=True)\n"
)


@contextlib.contextmanager
def llama_server(
    model: Path | None = None, *, alias: str | None = None, n_ctx: int = 8192, timeout: float = 120.0
) -> Iterator[str]:
    """Run ``llama_cpp.server`` on a free 127.0.0.1 port; yield its base URL once it answers.

    Used to record fixtures over real HTTP and to measure the server's start-up; the process is
    stopped when the block ends, whatever happens inside it.
    """
    import socket
    import subprocess

    from .model.weights import assemble_model

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    cmd = [
        sys.executable,
        "-c",
        _SERVER,
        "--model",
        str(model or assemble_model()),
        "--n_ctx",
        str(n_ctx),
        "--n_threads",
        str(os.cpu_count() or 2),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    if alias:
        cmd += ["--model_alias", alias]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise LocalModelError(f"llama_cpp.server exited with status {proc.returncode}")
            if time.monotonic() > deadline:
                raise LocalModelError(f"llama_cpp.server did not answer within {timeout:g}s")
            try:
                if httpx2.get(f"{base}/models", timeout=1).status_code == 200:
                    break
            except httpx2.HTTPError:
                time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
