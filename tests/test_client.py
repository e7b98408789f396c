"""The model client against scripted HTTP replies: validation, re-asks, retries, negotiation, errors."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from pydantic import BaseModel

import newsqa
from newsqa import ModelClient
from newsqa.schemas import Answer, Verdict, draft_model
from newsqa.testing import ScriptedTransport, chat_completion

GOOD = {"evidence": ["S1"], "status": "answered", "answer": "DHS asked the Pentagon for 20,000 troops"}
MESSAGES = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
DRAFT = draft_model(Answer)


def client(replies: list[Any], **kw: Any) -> tuple[ModelClient, ScriptedTransport]:
    t = ScriptedTransport(replies)
    kw.setdefault("cache", False)
    kw.setdefault("backoff", 0.001)
    return ModelClient(transport=t, **kw), t


def status(code: int, headers: dict[str, str] | None = None) -> httpx2.Response:
    return httpx2.Response(code, json={"error": {"message": f"status {code}"}}, headers=headers or {})


def test_validation_failure_reasks_with_the_error_then_succeeds() -> None:
    c, t = client(['{"status": "maybe"}', GOOD])
    done = c.complete(MESSAGES, DRAFT)
    assert done.value.answer == GOOD["answer"]
    assert len(t.requests) == 2
    feedback = t.requests[1]["messages"][-1]["content"]
    assert "status" in feedback and "could not be used" in feedback
    assert t.requests[1]["messages"][-2] == {"role": "assistant", "content": '{"status": "maybe"}'}
    assert done.usage.total_tokens == 30 and done.usage.requests == 2


def test_validation_exhausted_is_typed_and_carries_usage() -> None:
    c, _ = client(["nope", "still no", "{}"], max_reasks=2)
    with pytest.raises(newsqa.ValidationExhaustedError) as info:
        c.complete(MESSAGES, DRAFT)
    assert info.value.attempts == 3 and info.value.usage is not None and info.value.usage.total_tokens == 45
    assert info.value.last_output == "{}"


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The client's retry waits, recorded instead of slept."""
    import newsqa.model.client

    seen: list[float] = []

    async def record(seconds: float) -> None:
        seen.append(seconds)

    monkeypatch.setattr(newsqa.model.client, "_sleep", record)
    return seen


def test_429_with_retry_after_is_honoured_then_succeeds(waits: list[float]) -> None:
    c, _ = client([status(429, {"retry-after": "3"}), GOOD])
    done = c.complete(MESSAGES, DRAFT)
    assert waits and waits[0] >= 3
    assert done.value.status == "answered" and done.usage.requests == 2


@pytest.mark.parametrize("value", ["soon", "Wed, 99 Foo 2026", "", "-5"])
def test_unparseable_retry_after_is_ignored(waits: list[float], value: str) -> None:
    c, _ = client([status(429, {"retry-after": value}), GOOD])
    assert c.complete(MESSAGES, DRAFT).value.status == "answered"
    assert len(waits) == 1 and 0 <= waits[0] <= 0.001


def test_repeated_5xx_ends_in_typed_error() -> None:
    c, t = client([status(500), status(502), status(503), status(500)], max_retries=3)
    with pytest.raises(newsqa.RetriesExhaustedError) as info:
        c.complete(MESSAGES, DRAFT)
    assert len(t.requests) == 4 and info.value.attempts == 4


def test_connection_errors_are_retried() -> None:
    c, t = client([httpx2.ConnectError("reset"), httpx2.ReadTimeout("slow"), GOOD])
    assert c.complete(MESSAGES, DRAFT).value.answer
    assert len(t.requests) == 3


def test_truncated_output() -> None:
    body = chat_completion('{"evidence": ["S1"], "stat', finish_reason="length")
    c, _ = client([body])
    with pytest.raises(newsqa.TruncatedOutputError, match="max_tokens"):
        c.complete(MESSAGES, DRAFT)


def test_refusal() -> None:
    c, _ = client([chat_completion(None, refusal="I can't help with that.")])
    with pytest.raises(newsqa.RefusalError, match="can't help"):
        c.complete(MESSAGES, DRAFT)


def test_empty_choices_are_reasked() -> None:
    c, t = client([{"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": []}, GOOD])
    assert c.complete(MESSAGES, DRAFT).value.answer
    assert len(t.requests) == 2


def test_auth_error_is_not_retried_and_hides_the_key() -> None:
    key = "sk-test-" + "A" * 32
    resp = httpx2.Response(401, json={"error": {"message": f"Incorrect API key provided: {key}"}})
    c, t = client([resp], api_key=key)
    with pytest.raises(newsqa.BackendError) as info:
        c.complete(MESSAGES, DRAFT)
    assert info.value.status_code == 401 and len(t.requests) == 1
    assert key not in str(info.value) and key not in repr(c)


def test_format_negotiation_downgrades_on_refusal() -> None:
    refused = httpx2.Response(400, json={"error": {"message": "response_format json_schema not supported"}})
    c, t = client([refused, GOOD], base_url="http://127.0.0.1:9/v1", model="m")
    assert c.complete(MESSAGES, DRAFT).value.answer
    assert t.requests[0]["response_format"]["type"] == "json_schema"
    assert t.requests[0]["response_format"]["json_schema"]["strict"] is True
    assert t.requests[1]["response_format"] == {"type": "json_object", "schema": DRAFT.model_json_schema()}


def test_a_500_naming_the_format_is_a_refusal_not_a_retry() -> None:
    # llama-cpp-python's server (0.3.x) answers an unknown response_format with its validation error as a 500.
    message = (
        "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', 'response_format', 'type'), "
        "'msg': \"Input should be 'text' or 'json_object'\", 'input': 'json_schema'}"
    )
    refused = httpx2.Response(500, json={"error": {"message": message, "type": "internal_server_error"}})
    c, t = client([refused, GOOD], base_url="http://127.0.0.1:9/v1", model="m")
    assert c.complete(MESSAGES, DRAFT).value.answer
    assert [r["response_format"]["type"] for r in t.requests] == ["json_schema", "json_object"]


def test_a_500_about_something_else_is_retried_as_before() -> None:
    failed = httpx2.Response(500, json={"error": {"message": "CUDA out of memory"}})
    c, t = client([failed, GOOD], base_url="http://127.0.0.1:9/v1", model="m")
    assert c.complete(MESSAGES, DRAFT).value.answer
    assert [r["response_format"]["type"] for r in t.requests] == ["json_schema", "json_schema"]


def test_embedded_uses_schema_constrained_json_object() -> None:
    c, t = client([GOOD])
    c.complete(MESSAGES, DRAFT)
    assert t.requests[0]["response_format"]["type"] == "json_object"
    assert t.requests[0]["response_format"]["schema"]["required"] == ["status", "evidence", "answer"]


def test_openai_gets_strict_json_schema() -> None:
    c, t = client([GOOD], api_key="sk-x")
    assert c.kind == "openai" and c.model == "gpt-4o-mini"
    c.complete(MESSAGES, DRAFT)
    schema = t.requests[0]["response_format"]["json_schema"]["schema"]
    assert schema["additionalProperties"] is False and set(schema["required"]) == {"evidence", "status", "answer"}


def test_prompt_fallback_parses_fenced_json() -> None:
    c, t = client(["Sure!\n```json\n" + json.dumps(GOOD) + "\n```"], response_format="prompt")
    assert c.complete(MESSAGES, DRAFT).value.answer == GOOD["answer"]
    assert "response_format" not in t.requests[0]
    assert "JSON schema" in t.requests[0]["messages"][-1]["content"]


def test_configuration_errors() -> None:
    with pytest.raises(newsqa.ConfigurationError):
        ModelClient(base_url="ftp://example.org")
    with pytest.raises(newsqa.ConfigurationError, match="no model"):
        ModelClient(base_url="http://127.0.0.1:1/v1")
    with pytest.raises(newsqa.ConfigurationError):
        ModelClient(response_format="xml")  # type: ignore[arg-type]


def test_environment_selects_backend(monkeypatch: pytest.MonkeyPatch) -> None:
    assert ModelClient(cache=False).kind == "embedded"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://user:pw@127.0.0.1:8080/v1/")
    monkeypatch.setenv("NEWSQA_MODEL", "llama")
    c = ModelClient(cache=False)
    assert c.kind == "compatible" and c.model == "llama"
    assert c.identity == "http://127.0.0.1:8080/v1"  # no credentials in cache keys


def test_one_retry_layer() -> None:
    c, _ = client([GOOD])
    import asyncio

    async def inner() -> int:
        async with c:
            return c._openai().max_retries

    assert asyncio.run(inner()) == 0


class Person(BaseModel):
    name: str
    role: str | None


def test_async_complete() -> None:
    import asyncio

    c, _ = client([{"name": "Tricia McLaughlin", "role": "Assistant Secretary"}])

    async def main() -> newsqa.Completion[Person]:
        async with c:
            return await c.acomplete(MESSAGES, Person)

    done = asyncio.run(main())
    assert done.value == Person(name="Tricia McLaughlin", role="Assistant Secretary")


def test_fake_server_can_answer_by_rule() -> None:
    from newsqa.testing import FakeOpenAIServer

    def rule(body: dict[str, Any]) -> dict[str, Any]:
        # Echo the question back: proves the rule sees each parsed request.
        return {"verdict": "yes" if "yes" in body["messages"][-1]["content"] else "no"}

    with FakeOpenAIServer(rule) as server:
        c = ModelClient(base_url=server.base_url, api_key="k", model="m", cache=False)
        got = [c.complete([{"role": "user", "content": t}], Verdict).value.verdict for t in ("say yes", "say n")]
    assert got == ["yes", "no"] and len(server.requests) == 2


def test_a_400_that_is_not_about_the_format_is_not_a_refusal() -> None:
    bad = httpx2.Response(
        400, json={"error": {"message": "This model's maximum context length is 8192 tokens; please reformat"}}
    )
    c, t = client([bad], base_url="http://127.0.0.1:9/v1", model="m")
    with pytest.raises(newsqa.BackendError, match="400"):
        c.complete(MESSAGES, DRAFT)
    assert len(t.requests) == 1 and t.requests[0]["response_format"]["type"] == "json_schema"


def test_negotiated_format_belongs_to_its_client() -> None:
    refused = httpx2.Response(400, json={"error": {"message": "response_format json_schema not supported"}})
    c1, _ = client([refused, GOOD, GOOD], base_url="http://127.0.0.1:9/v1", model="m")
    c1.complete(MESSAGES, DRAFT)
    c2, t2 = client([GOOD], base_url="http://127.0.0.1:9/v1", model="m")
    c2.complete(MESSAGES, DRAFT)
    assert t2.requests[0]["response_format"]["type"] == "json_schema"  # a new client negotiates afresh


def test_settings_are_read_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEWSQA_MODEL", "first")
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    c, t = client([GOOD])
    monkeypatch.setenv("NEWSQA_MODEL", "second")
    c.complete(MESSAGES, DRAFT)
    assert c.model == "first" and t.requests[0]["model"] == "first"
    assert ModelClient(cache=False, model="explicit").model == "explicit"  # arguments win


@pytest.mark.parametrize(
    ("var", "value"),
    [("NEWSQA_N_CTX", "lots"), ("NEWSQA_CONTEXT_WINDOW", "-1"), ("OPENAI_BASE_URL", "http://127.0.0.1:99999/v1")],
)
def test_bad_settings_are_configuration_errors(monkeypatch: pytest.MonkeyPatch, var: str, value: str) -> None:
    monkeypatch.setenv(var, value)
    monkeypatch.setenv("NEWSQA_MODEL", "m")
    with pytest.raises(newsqa.ConfigurationError):
        ModelClient(cache=False)


def test_strict_schema_closes_every_object() -> None:
    from newsqa.model.formats import strict_schema
    from newsqa.schemas import Summary

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "object" and "properties" in node:
                assert node["additionalProperties"] is False and node["required"] == list(node["properties"])
            assert "default" not in node or node["default"] is not None
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(strict_schema(draft_model(Summary)))
    assert "$defs" in strict_schema(draft_model(Summary))


def test_requests_in_flight_are_bounded_for_every_call_of_a_client() -> None:
    """300 concurrent asks on one client put at most max_in_flight requests on the wire."""
    import asyncio

    from newsqa.testing import FakeOpenAIServer

    def rule(body: dict[str, Any]) -> dict[str, Any]:
        if "verdict" in json.dumps(body.get("response_format", {})):
            return {"verdict": "yes"}
        return {"evidence": ["S1"], "status": "answered", "answer": "the council"}

    article = newsqa.Article.from_text("The council approved the plan on Monday.")
    with FakeOpenAIServer(rule, latency=0.01) as server:
        c = ModelClient(base_url=server.base_url, model="m", cache=False, max_in_flight=5)

        async def main() -> list[newsqa.Answer]:
            async with c:
                return await asyncio.gather(
                    *(newsqa.aask(article, f"Who approved plan {i}?", client=c) for i in range(300))
                )

        answers = asyncio.run(main())
    assert all(a.status == "answered" for a in answers)
    assert len(server.requests) == 600 and server.peak_in_flight <= 5 and c.limiter.peak_in_flight == 5


def test_a_429_pauses_every_request_of_the_client(waits: list[float]) -> None:
    c, _ = client([status(429, {"retry-after": "2"}), GOOD])
    c.complete(MESSAGES, DRAFT)
    assert c.limiter._paused_until > 0  # the whole client waits, not only the request that got the 429


def test_requests_per_minute_budget() -> None:
    from newsqa.model.limits import Limiter

    lim = Limiter(4, requests_per_minute=60)
    import asyncio

    async def take(n: int) -> None:
        for _ in range(n):
            async with lim.slot():
                pass

    asyncio.run(take(60))  # a minute's worth is available at once
    assert lim._requests is not None and lim._requests.wait_for(1) > 0.5  # the next one has to wait
