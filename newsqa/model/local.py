"""The embedded model, run in-process by llama-cpp-python (its file: :mod:`.weights`).

It is served to the rest of newsqa as an httpx transport that speaks the OpenAI chat-completions
protocol, so the embedded model goes through exactly the same client, validation, retries, cache
and record/replay as any remote endpoint.

Reading the article (prompt evaluation) dominates on a CPU, so the model state after a prompt is
kept: in memory for follow-ups in the same process, and on disk (under the cache directory) so that
a second ``newsqa ask`` on the same article from a new process skips reading it again. The state of
the last answer check is kept in memory too: a check between two questions neither evicts the
article's state nor makes the next check read its system prompt again.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import httpx2

from ..errors import LocalModelError
from ..progress import report
from ._threaded import ThreadedTransport
from .cache import default_cache_dir
from .cpu import safe_loading
from .grammar import GreedyGrammar, greedy_grammar
from .repetition import loop_guard
from .weights import INSTALL_HINT, MODEL_FILE, MODEL_SHA256, assemble_model

__all__ = ["LocalModelTransport", "local_transport"]

log = logging.getLogger("newsqa")

# Model states kept in memory by a transport (about 28 KB per token for the embedded model): the
# articles of a session and the last check, without reading their files again.
HELD_BYTES = 256 << 20

_transports: dict[tuple[str, int], LocalModelTransport] = {}
_transports_lock = threading.Lock()


@atexit.register
def _close_all() -> None:
    # Free models before interpreter shutdown tears down the modules their finalizers need.
    with _transports_lock:
        for t in _transports.values():
            t.unload()
        _transports.clear()


def local_transport(gguf: str | None = None, *, n_ctx: int = 8192) -> LocalModelTransport:
    """The process-wide transport for a GGUF file (the embedded model by default); the model loads on first use."""
    key = (gguf or "", n_ctx)
    with _transports_lock:
        if key not in _transports:
            _transports[key] = LocalModelTransport(gguf, n_ctx=n_ctx)
        return _transports[key]


class LocalModelTransport(ThreadedTransport):
    """Serves ``/chat/completions`` and ``/models`` from a llama-cpp-python model in this process."""

    def __init__(
        self, gguf: str | None = None, *, n_ctx: int = 8192, n_threads: int | None = None, state_cache: bool = True
    ) -> None:
        self.gguf = gguf
        self.n_ctx = n_ctx
        self.n_threads = n_threads or max(1, os.cpu_count() or 1)
        self.state_cache = state_cache and os.environ.get("NEWSQA_KV_CACHE", "1") != "0"
        self._llama: Any = None
        self._lock = threading.Lock()
        self._current_key: str | None = None  # the saved state the context now holds, if any
        # Model states kept in memory (the article's, the last check's), newest last: a follow-up and
        # its check restore them without reading a file; at most HELD_BYTES of them.
        self._held: OrderedDict[str, tuple[bytes, bytes]] = OrderedDict()
        self.load_seconds: float | None = None
        # Resolved now, so a missing or damaged model is reported before any request is attempted.
        self.model_file = self._resolve_model_file()

    def _resolve_model_file(self) -> Path:
        if self.gguf:
            p = Path(self.gguf).expanduser()
            if not p.is_file():
                raise LocalModelError(f"GGUF file not found: {p}")
            return p
        return assemble_model()

    def _load(self) -> Any:
        if self._llama is None:
            try:
                from llama_cpp import Llama
            except ImportError as exc:
                raise LocalModelError(f"llama-cpp-python is not installed; {INSTALL_HINT}") from exc
            path = self.model_file
            report("loading", f"loading the embedded model {path.name} (once per process)")
            t0 = time.perf_counter()
            try:
                with safe_loading():
                    self._llama = Llama(
                        model_path=str(path), n_ctx=self.n_ctx, n_threads=self.n_threads, n_batch=512, verbose=False
                    )
            except (ValueError, RuntimeError) as exc:
                raise LocalModelError(f"cannot load {path.name}: {exc}") from exc
            self.load_seconds = time.perf_counter() - t0
            log.info("loaded %s in %.1fs", path.name, self.load_seconds)
            _report_reading(self._llama)
        return self._llama

    def unload(self) -> None:
        """Free the model (it loads again on the next request)."""
        with self._lock:
            if self._llama is not None:
                self._llama.close()
                self._llama = None

    def tokenize_count(self, text: str) -> int:
        with self._lock:
            return len(self._load().tokenize(text.encode(), add_bos=False, special=False))

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if request.method == "GET" and path.endswith("/models"):
            name = Path(self.gguf).name if self.gguf else MODEL_FILE
            return httpx2.Response(
                200, json={"object": "list", "data": [{"id": name, "object": "model", "owned_by": "local"}]}
            )
        if request.method != "POST" or not path.endswith("/chat/completions"):
            return _error(404, f"no route {request.method} {path}")
        try:
            body = json.loads(request.read())
            messages = body["messages"]
        except (ValueError, KeyError, TypeError):
            return _error(400, "the request body must be JSON with messages")
        fmt = body.get("response_format")
        if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            # Like llama.cpp's own server: only {"type": "json_object", "schema": ...} constrains decoding.
            return _error(400, "response_format type json_schema is not supported; use json_object with a schema")
        kwargs: dict[str, Any] = {
            "messages": messages,
            "temperature": body.get("temperature", 0.0),
            "max_tokens": body.get("max_tokens"),
            "response_format": fmt,
        }
        for k in ("top_p", "seed", "stop"):
            if body.get(k) is not None:
                kwargs[k] = body[k]
        recorder: _TokenRecorder | None = None
        if body.get("logprobs"):
            # llama-cpp-python's own logprobs need logits for every prompt token (gigabytes at this
            # context size); a logits processor sees each generated step's logits for free.
            recorder = _TokenRecorder(int(body.get("top_logprobs") or 1))
            kwargs["logits_processor"] = [recorder]
        if body.get("stream"):
            return httpx2.Response(
                200,
                headers={"content-type": "text/event-stream"},
                stream=_EventStream(self, kwargs, body.get("model"), recorder),
            )
        with self._lock:
            llama = self._load()
            key = self._state_key(messages)
            self._prepare(llama, messages, key)
            constrained, grammar = _constrained(llama, kwargs)
            try:
                out = llama.create_chat_completion(**constrained)
            except ValueError as exc:  # e.g. the prompt does not fit the context window
                self._current_key = None
                return _error(400, str(exc))
            finally:
                if grammar is not None:
                    grammar.close()
            self._keep(llama, messages, key)
            if recorder is not None and out.get("choices"):
                out["choices"][0]["logprobs"] = {"content": recorder.content(llama)}
        out["model"] = body.get("model") or out.get("model")
        return httpx2.Response(200, json=out)

    def _stream(
        self, kwargs: dict[str, Any], model: str | None, recorder: _TokenRecorder | None = None
    ) -> Generator[bytes, None, None]:
        """Server-sent events in the OpenAI format, holding the model for the whole generation."""
        with self._lock:
            llama = self._load()
            key = self._state_key(kwargs["messages"])
            self._prepare(llama, kwargs["messages"], key)
            self._current_key = None
            constrained, grammar = _constrained(llama, kwargs)
            try:
                chunks = llama.create_chat_completion(**constrained, stream=True)
                n = 0
                for chunk in chunks:
                    chunk["model"] = model or chunk.get("model")
                    n += sum(1 for c in chunk.get("choices", []) if c.get("delta", {}).get("content"))
                    yield b"data: " + json.dumps(chunk).encode() + b"\n\n"
            except ValueError as exc:
                err = {"error": {"message": str(exc), "type": "invalid_request_error"}}
                yield b"data: " + json.dumps(err).encode() + b"\n\n"
                return
            finally:
                if grammar is not None:
                    grammar.close()
            if recorder is not None:
                # Each token's probability is known once the next is chosen: all of them come at the end.
                tokens = {
                    "index": 0,
                    "delta": {},
                    "logprobs": {"content": recorder.content(llama)},
                    "finish_reason": None,
                }
                extra = {"id": "logprobs", "object": "chat.completion.chunk", "created": int(time.time()),
                         "model": model or "", "choices": [tokens]}  # fmt: skip
                yield b"data: " + json.dumps(extra).encode() + b"\n\n"
            prompt = max(0, int(llama.n_tokens) - n)
            usage = {"prompt_tokens": prompt, "completion_tokens": n, "total_tokens": prompt + n}
            tail = {
                "id": "usage",
                "object": "chat.completion.chunk",
                "created": int(time.time()),
                "model": model or "",
                "choices": [],
                "usage": usage,
            }
            yield b"data: " + json.dumps(tail).encode() + b"\n\n"
            self._keep(llama, kwargs["messages"], key)
        yield b"data: [DONE]\n\n"

    # -- saved model states: articles on disk and in memory, the last check in memory --------------------
    def _state_dir(self) -> Path:
        return default_cache_dir() / "kv"

    def _state_key(self, messages: list[dict[str, Any]]) -> str | None:
        """Names the model state after reading the system prompt and the article (the shared prefix)."""
        if not self.state_cache or len(messages) < 2:
            return None
        content = messages[1].get("content")
        if not isinstance(content, str) or "</article>" not in content:
            return None
        prefix = json.dumps([messages[0], content[: content.index("</article>")]], ensure_ascii=False)
        ident = f"{self.gguf or MODEL_SHA256}:{self.n_ctx}"
        return hashlib.sha256((ident + "\0" + prefix).encode()).hexdigest()[:32]

    def _prepare(self, llama: Any, messages: list[dict[str, Any]], key: str | None) -> None:
        """Put the model in the best saved state for this prompt: the article's own, else the last
        state read with the same system prompt (its system part is reused: a new article costs only
        its own tokens). A prompt without an article (a check) starts from the last one read with its
        system prompt, kept in memory. llama-cpp-python then reads only what differs from the state."""
        if not key:
            name = self._prefix_name(messages)
            if name and name != self._current_key and name in self._held:
                try:
                    self._set_state(llama, *self._held[name], name)
                except ValueError as exc:
                    log.warning("discarding an unusable model state kept in memory: %s", exc)
            return
        if key == self._current_key:
            return
        if self._restore(llama, key):
            return
        latest = self._latest_for_system(messages)
        if latest and latest != self._current_key:
            self._restore(llama, latest)

    def _prefix_name(self, messages: list[dict[str, Any]]) -> str | None:
        """Names the state of a prompt without an article after its system message, which it shares."""
        if not self.state_cache or not messages or messages[0].get("role") != "system":
            return None
        return self._system_name(messages)

    def _system_name(self, messages: list[dict[str, Any]]) -> str:
        system = json.dumps(messages[0], ensure_ascii=False)
        ident = f"{self.gguf or MODEL_SHA256}:{self.n_ctx}"
        return "system-" + hashlib.sha256((ident + "\0" + system).encode()).hexdigest()[:32]

    def _keep(self, llama: Any, messages: list[dict[str, Any]], key: str | None) -> None:
        """After a request: note what the context holds, and keep its state for the next ones -- an
        article's on disk (once) and in memory, a check's in memory (replacing the previous check's)."""
        name = key or self._prefix_name(messages)
        self._current_key = name
        if name is None:
            return
        if key and name in self._held:
            self._held.move_to_end(name)
            return
        snapshot = self._snapshot(llama)
        if snapshot is None:
            return
        self._hold(name, *snapshot)
        if key:
            self._save(key, *snapshot)
            self._remember_for_system(messages, key)

    def _system_pointer(self, messages: list[dict[str, Any]]) -> Path:
        """The file naming the last article state read with this system prompt."""
        return self._state_dir() / f"{self._system_name(messages)}.latest"

    def _latest_for_system(self, messages: list[dict[str, Any]]) -> str | None:
        try:
            return self._system_pointer(messages).read_text().strip() or None
        except OSError:
            return None

    def _remember_for_system(self, messages: list[dict[str, Any]], key: str) -> None:
        try:
            pointer = self._system_pointer(messages)
            tmp = pointer.with_name(f".{pointer.name}.{os.getpid()}.tmp")
            tmp.write_text(key)
            tmp.replace(pointer)
        except OSError as exc:
            log.debug("cannot note the latest model state: %s", exc)

    def _restore(self, llama: Any, key: str) -> bool:
        """Put an article's saved state in the context: from memory, else from its file."""
        if key in self._held:
            self._held.move_to_end(key)
            try:
                self._set_state(llama, *self._held[key], key)
                return True
            except ValueError as exc:
                log.warning("discarding an unusable model state kept in memory: %s", exc)
        path = self._state_dir() / f"{key}.kv"
        try:
            raw = path.read_bytes()
        except OSError:
            return False
        try:
            hlen = int.from_bytes(raw[:4], "little")
            n = int(json.loads(raw[4 : 4 + hlen])["n_tokens"])
            ids, state = raw[4 + hlen : 4 + hlen + 4 * n], raw[4 + hlen + 4 * n :]
            if len(ids) != 4 * n or not state:
                raise ValueError("the file is cut short")
            self._set_state(llama, ids, state, key)
        except (ValueError, KeyError, IndexError) as exc:
            log.warning("discarding unusable model state %s: %s", path.name, exc)
            llama.reset()
            path.unlink(missing_ok=True)
            return False
        os.utime(path)
        self._hold(key, ids, state)
        log.info("restored %d tokens of model state from %s", len(ids) // 4, path.name)
        return True

    def _set_state(self, llama: Any, ids: bytes, state: bytes, name: str) -> None:
        import ctypes

        import llama_cpp
        import numpy as np

        tokens = np.frombuffer(ids, dtype=np.intc)
        buf = (ctypes.c_uint8 * len(state)).from_buffer_copy(state)
        if llama_cpp.llama_state_set_data(llama._ctx.ctx, buf, len(state)) != len(state):
            self._held.pop(name, None)
            self._current_key = None
            llama.reset()  # whatever was half set is read again from the prompt
            raise ValueError("llama_state_set_data failed")
        llama.input_ids[: len(tokens)] = tokens
        llama.n_tokens = len(tokens)
        llama._requires_eval = True  # logits are not restored: make generate() decode again
        self._current_key = name

    def _snapshot(self, llama: Any) -> tuple[bytes, bytes] | None:
        """The context's tokens and model state, as bytes."""
        import ctypes

        import llama_cpp

        try:
            size = llama_cpp.llama_state_get_size(llama._ctx.ctx)
            buf = (ctypes.c_uint8 * size)()
            n_bytes = llama_cpp.llama_state_get_data(llama._ctx.ctx, buf, size)
        except (AttributeError, TypeError, ValueError) as exc:
            log.debug("cannot copy the model state: %s", exc)
            return None
        return llama.input_ids[: int(llama.n_tokens)].tobytes(), bytes(memoryview(buf)[:n_bytes])

    def _hold(self, name: str, ids: bytes, state: bytes) -> None:
        self._held[name] = (ids, state)
        self._held.move_to_end(name)
        total = sum(len(i) + len(s) for i, s in self._held.values())
        while total > HELD_BYTES and len(self._held) > 1:
            _, (i, s) = self._held.popitem(last=False)
            total -= len(i) + len(s)

    def _save(self, key: str, ids: bytes, state: bytes) -> None:
        d = self._state_dir()
        path = d / f"{key}.kv"
        if path.exists():
            return
        try:
            d.mkdir(parents=True, exist_ok=True)
            head = json.dumps({"n_tokens": len(ids) // 4, "n_ctx": self.n_ctx}).encode()
            tmp = d / f".{key}.{os.getpid()}.tmp"
            with tmp.open("wb") as f:
                f.write(len(head).to_bytes(4, "little"))
                f.write(head)
                f.write(ids)
                f.write(state)
            tmp.replace(path)
            self._evict(d)
        except OSError as exc:
            log.warning("cannot save model state to %s: %s", d, exc.strerror or exc)

    @staticmethod
    def _evict(d: Path, max_bytes: int = 2 << 30) -> None:
        files = sorted(d.glob("*.kv"), key=lambda p: p.stat().st_mtime, reverse=True)
        total = 0
        for p in files:
            total += p.stat().st_size
            if total > max_bytes:
                p.unlink(missing_ok=True)


def _constrained(llama: Any, kwargs: dict[str, Any]) -> tuple[dict[str, Any], GreedyGrammar | None]:
    """``kwargs`` for a JSON reply: a :class:`LoopGuard` that ends a string the model keeps repeating,
    and the response format enforced by :class:`GreedyGrammar` where it applies (same output, a third
    less time per generated token); that grammar is returned too, to be closed after the request."""
    fmt = kwargs.get("response_format")
    if not isinstance(fmt, dict) or fmt.get("type") != "json_object":
        return kwargs, None
    # After the token recorder, which must see the model's own probabilities; before the grammar,
    # which must judge the token the guard makes likeliest.
    processors = [*(kwargs.get("logits_processor") or [])]
    if (guard := loop_guard(llama)) is not None:
        processors.append(guard)
    grammar = greedy_grammar(llama, fmt, float(kwargs.get("temperature") or 0.0))
    if grammar is None:
        return ({**kwargs, "logits_processor": processors} if guard is not None else kwargs), None
    return {**kwargs, "response_format": None, "logits_processor": [*processors, grammar]}, grammar


READ_STEP = 128  # prompt tokens read between two progress reports: a report every second or two


def _report_reading(llama: Any) -> None:
    """Make ``llama`` report its reading of a prompt, a step of tokens at a time.

    Reading the prompt is most of a cold answer on a CPU (1,000 tokens take ~12 s on 2 cores), and
    llama-cpp-python reads it in one call. Reading it in consecutive slices is the same computation
    (the model's state carries over), and between slices the reader can be told how far it got.
    """
    read = llama.eval

    def eval_reporting(tokens: Any) -> None:
        if len(tokens) <= READ_STEP:
            read(tokens)
            return
        total = len(tokens)
        for i in range(0, total, READ_STEP):
            report("reading", f"reading {total} prompt tokens", i, total)
            read(tokens[i : i + READ_STEP])
        report("reading", f"reading {total} prompt tokens", total, total)

    llama.eval = eval_reporting


class _EventStream(httpx2.SyncByteStream):
    def __init__(
        self, transport: LocalModelTransport, kwargs: dict[str, Any], model: str | None, recorder: _TokenRecorder | None
    ) -> None:
        self._gen: Generator[bytes, None, None] = transport._stream(kwargs, model, recorder)

    def __iter__(self) -> Iterator[bytes]:
        yield from self._gen

    def close(self) -> None:
        self._gen.close()  # releases the model if the reader stops early


class _TokenRecorder:
    """A logits processor that leaves the logits alone and notes each step's likeliest tokens.

    It runs before the grammar, so the probabilities are the model's own (a token the schema forbids
    keeps its share). The token chosen at a step is known at the next one (the last of its input
    ids); the final step chooses the end of the reply, which OpenAI does not report either.
    """

    def __init__(self, top: int) -> None:
        self.top = max(1, min(top, 20))
        self.steps: list[list[tuple[int, float]]] = []  # each step's likeliest (token, log-probability)
        self.chosen: list[tuple[int, float]] = []  # the token each step chose, with its log-probability
        self._last: Any = None  # the latest step's full distribution, until its choice is known

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import numpy as np

        if self._last is not None:
            token = int(input_ids[-1])
            self.chosen.append((token, float(self._last[token])))
        peak = float(scores.max())
        logp = scores - (peak + float(np.log(np.exp(scores - peak).sum())))
        ids = np.argpartition(logp, -self.top)[-self.top :]
        self.steps.append([(int(t), float(logp[t])) for t in ids[np.argsort(-logp[ids])]])
        self._last = logp
        return scores

    def content(self, llama: Any) -> list[dict[str, Any]]:
        """The steps in OpenAI's ``logprobs.content`` shape."""

        def text(token: int) -> str:
            return bytes(llama.detokenize([token])).decode("utf-8", errors="replace")

        return [
            {"token": text(token), "logprob": lp, "top_logprobs": [{"token": text(t), "logprob": v} for t, v in top]}
            for top, (token, lp) in zip(self.steps, self.chosen, strict=False)
        ]


def _error(status: int, message: str) -> httpx2.Response:
    return httpx2.Response(
        status, json={"error": {"message": message, "type": "invalid_request_error", "code": status}}
    )
