"""A counting, OpenAI-compatible chat server on 127.0.0.1 that every system in the peer benchmark talks to.

Token counts are only comparable when the same thing counts them and the same thing answers. This
server counts every request's prompt with one tokenizer (cl100k, OpenAI's per-message framing) and
answers in a way that does not favour anyone:

* a question is answered with the first words of the prompt's sentence that shares most words with it,
  as free text, or, when the request asks for JSON, as a schema instance citing that sentence's id;
* anything else (a summary, a map or reduce step, a refinement) gets the first words of the prompt's
  first sentences, up to the same number of words, again as text or as a schema instance.

So completions are about the same size for everyone and the difference in tokens is what each
system chooses to send: prompt framing, chunking, number of calls. ``latency`` delays every reply,
for the concurrency benchmark.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from newsqa.testing import FakeOpenAIServer
from newsqa.text.tokens import get_tokenizer

ANSWER_WORDS = 25
SUMMARY_WORDS = 90
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'\[])")
_TAGGED = re.compile(r"\[(S\d+)\]\s*([^\n\[]+)")
_NOTE = re.compile(r"^\s*\[?(P\d+)\]?[:.]?\s+(.+)$", re.M)
_WORD = re.compile(r"[a-z0-9]+")
_QUESTION = re.compile(r"(?:Question|question|Query|query)\s*:\s*(.+?\?)", re.S)


@dataclass
class Record:
    prompt_tokens: int
    completion_tokens: int
    schema_tokens: int
    json: bool
    started: float
    ended: float


@dataclass
class Counter:
    records: list[Record] = field(default_factory=list)
    in_flight: int = 0
    max_in_flight: int = 0

    def totals(self) -> dict[str, int]:
        return {
            "calls": len(self.records),
            "prompt_tokens": sum(r.prompt_tokens for r in self.records),
            "completion_tokens": sum(r.completion_tokens for r in self.records),
            "schema_tokens": sum(r.schema_tokens for r in self.records),
        }


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if len(w) > 3}


def _first_words(text: str, n: int) -> str:
    words = text.split()
    return " ".join(words[:n])


def _sentences(prompt: str) -> list[tuple[str | None, str]]:
    """(id, text) of the sentences the prompt shows: newsqa's tagged ones, numbered notes, or plain prose."""
    tagged = [(m.group(1), m.group(2).strip()) for m in _TAGGED.finditer(prompt)]
    if tagged:
        return tagged
    notes = [(m.group(1), m.group(2).strip()) for m in _NOTE.finditer(prompt)]
    if notes:
        return notes
    body = re.sub(r"\s+", " ", prompt)
    return [(None, s) for s in _SENTENCE.split(body) if len(s.split()) >= 4]


def _question(prompt: str, last_user: str = "") -> str | None:
    found = _QUESTION.findall(prompt)
    if found:
        return found[-1].strip()
    # A chat message that is only the question (LangChain's RAG prompt sends it so).
    return last_user.strip() if last_user.strip().endswith("?") and len(last_user) < 400 else None


def _best(sentences: list[tuple[str | None, str]], question: str) -> tuple[str | None, str]:
    q = _words(question)
    return max(sentences, key=lambda s: len(q & _words(s[1])), default=(None, ""))


class _Filler:
    """Fills a JSON schema from a pool of sentences, spending about ``budget`` words on its strings."""

    def __init__(self, sentences: list[tuple[str | None, str]], budget: int, answer: tuple[str | None, str] | None):
        self.pool = sentences or [(None, "")]
        self.budget = budget
        self.answer = answer
        self.next = 0

    def _take(self) -> tuple[str | None, str]:
        if self.answer is not None:
            return self.answer
        s = self.pool[self.next % len(self.pool)]
        self.next += 1
        return s

    def fill(self, schema: dict[str, Any], defs: dict[str, Any], name: str = "") -> Any:
        if "$ref" in schema:
            return self.fill(defs[schema["$ref"].split("/")[-1]], defs, name)
        if "anyOf" in schema:
            options = [o for o in schema["anyOf"] if o.get("type") != "null"]
            return self.fill(options[0], defs, name) if options else None
        if "enum" in schema:
            return schema["enum"][0]
        kind = schema.get("type")
        if kind == "object":
            return {k: self.fill(v, defs, k) for k, v in schema.get("properties", {}).items()}
        if kind == "array":
            if name == "evidence":
                ident = self.pool[(self.next - 1) % len(self.pool)][0] if self.answer is None else self.answer[0]
                return [ident] if ident else []
            count = min(schema.get("maxItems", 3), max(schema.get("minItems", 0), 3))
            if self.answer is not None:
                count = min(count, 1)
            return [self.fill(schema.get("items", {}), defs, name) for _ in range(count)]
        if kind == "string":
            ident, text = self._take()
            words = max(3, min(self.budget, ANSWER_WORDS))
            self.budget = max(0, self.budget - words)
            return _first_words(text, words)
        if kind in ("integer", "number"):
            return 1
        if kind == "boolean":
            return True
        return None


def request_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema a request asks the reply to follow: its response format's, or its forced tool's."""
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        return dict(fmt["json_schema"]["schema"])
    if fmt.get("type") == "json_object" and fmt.get("schema"):
        return dict(fmt["schema"])
    tools = body.get("tools") or []
    if tools:
        return dict(tools[0].get("function", {}).get("parameters") or {})
    return None


def schema_tokens(body: dict[str, Any]) -> int:
    """Tokens of the schemas a request sends beside its messages (response format, tool definitions)."""
    fmt = body.get("response_format") or {}
    parts = [fmt.get("schema") or (fmt.get("json_schema") or {}).get("schema"), *(body.get("tools") or [])]
    tok = get_tokenizer()
    return sum(tok.count(json.dumps(p, separators=(",", ":"))) for p in parts if p)


def reply_for(body: dict[str, Any]) -> tuple[str, bool]:
    """The reply text for one chat request, and whether it is JSON."""
    messages = body.get("messages", [])
    prompt = "\n".join(str(m.get("content") or "") for m in messages)
    users = [str(m.get("content") or "") for m in messages if m.get("role") in ("user", "human")]
    user = "\n".join(users)
    sentences = _sentences(user)
    if len(sentences) < 2:  # the text is in the system message (LangChain's RAG prompt puts it there)
        user = "\n".join(str(m.get("content") or "") for m in messages if m.get("role") != "assistant")
        sentences = _sentences(user)
    question = _question(user, users[-1] if users else "")
    answer = _best(sentences, question) if question else None
    schema = request_schema(body)
    if schema is None and "JSON" in prompt and "schema" in prompt.lower():
        match = re.search(r"(\{.*\})", prompt, re.S)
        if match:
            try:
                schema = json.loads(match.group(1))
            except ValueError:
                schema = None
    if schema is not None:
        filler = _Filler(sentences, ANSWER_WORDS if answer else SUMMARY_WORDS, answer)
        return json.dumps(filler.fill(schema, schema.get("$defs", {}))), True
    if answer is not None:
        return _first_words(answer[1], ANSWER_WORDS), False
    text = " ".join(s for _, s in sentences)
    return _first_words(text, SUMMARY_WORDS), False


def count_prompt(messages: list[dict[str, Any]]) -> int:
    # OpenAI's chat framing: 3 tokens per message and 3 to prime the reply.
    tok = get_tokenizer()
    return 3 + sum(3 + tok.count(str(m.get("content") or "")) + tok.count(str(m.get("role") or "")) for m in messages)


class CountingServer:
    """Use as a context manager; ``base_url`` is the endpoint, ``counter`` what it saw."""

    def __init__(self, *, latency: float = 0.0) -> None:
        self.latency = latency
        self.counter = Counter()
        self._lock = threading.Lock()
        self._server = FakeOpenAIServer(self._behaviour)
        self.base_url = self._server.base_url

    def _behaviour(self, body: dict[str, Any]) -> tuple[int, dict[str, str], str]:
        status, payload = self._handle(body)
        return status, {}, json.dumps(payload)

    def _handle(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        started = time.perf_counter()
        if "_raw" in body or "_body" in body:
            return 400, {"error": {"message": "body is not a JSON object"}}
        with self._lock:
            self.counter.in_flight += 1
            self.counter.max_in_flight = max(self.counter.max_in_flight, self.counter.in_flight)
        try:
            if self.latency:
                time.sleep(self.latency)
            text, is_json = reply_for(body)
            prompt_tokens = count_prompt(body.get("messages", []))
            completion_tokens = get_tokenizer().count(text)
        finally:
            with self._lock:
                self.counter.in_flight -= 1
        with self._lock:
            self.counter.records.append(
                Record(prompt_tokens, completion_tokens, schema_tokens(body), is_json, started, time.perf_counter())
            )
        message: dict[str, Any] = {"role": "assistant", "content": text}
        finish = "stop"
        if body.get("tools"):  # a forced tool call (LangChain's and Instructor's structured output)
            name = body["tools"][0].get("function", {}).get("name", "tool")
            call = {"id": "call_fake", "type": "function", "function": {"name": name, "arguments": text}}
            message, finish = {"role": "assistant", "content": None, "tool_calls": [call]}, "tool_calls"
        return 200, {
            "id": f"chatcmpl-fake{len(self.counter.records)}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model") or "fake",
            "choices": [{"index": 0, "message": message, "finish_reason": finish}],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }

    def reset(self) -> None:
        with self._lock:
            self.counter = Counter()

    def __enter__(self) -> CountingServer:
        self._server.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.__exit__(*exc)
