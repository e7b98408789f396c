"""The whole pipeline on the sample article, replaying exchanges recorded from the embedded model."""

from __future__ import annotations

import json
import re

import pytest

import newsqa
from newsqa import Answer, Summary

from .conftest import EXCHANGES, FIXTURES


def test_who_requested_what(sample: newsqa.Article, replay_client: newsqa.ModelClient) -> None:
    a = newsqa.ask(sample, "Who requested what?", client=replay_client)
    assert a.status == "answered"
    assert "Homeland Security" in (a.answer or "") and "20,000" in (a.answer or "")
    assert a.evidence
    for ev in a.evidence:
        assert sample.text[ev.start : ev.end] == ev.quote
    assert any("20,000 National Guard troops" in ev.quote for ev in a.evidence)
    assert a.model and a.usage.total_tokens > 0 and not a.cached


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("How many agents were drawn from other federal agencies?", "2,000"),
        ("What is DHS offering people who leave voluntarily?", "$1,000"),
    ],
)
def test_factual_questions(
    sample: newsqa.Article, replay_client: newsqa.ModelClient, question: str, expected: str
) -> None:
    a = newsqa.ask(sample, question, client=replay_client)
    assert a.status == "answered" and expected in (a.answer or "")
    assert any(expected in ev.quote for ev in a.evidence)


def test_unanswerable_question(sample: newsqa.Article, replay_client: newsqa.ModelClient) -> None:
    a = newsqa.ask(sample, "What did the Governor of Texas say?", client=replay_client)
    assert a.status == "not_in_article" and a.answer is None and a.evidence == []


def test_summary_validates_and_is_grounded(sample: newsqa.Article, replay_client: newsqa.ModelClient) -> None:
    s = newsqa.summarize(sample, client=replay_client)
    assert isinstance(s, Summary)
    assert s.headline and 1 <= len(re.findall(r"[.!?](\s|$)", s.summary)) <= 6
    assert s.key_points
    for item in [*s.key_points, *s.actions]:
        assert item.evidence, "unsupported items are dropped"
        for ev in item.evidence:
            assert sample.text[ev.start : ev.end] == ev.quote
    Summary.model_validate_json(s.model_dump_json())


def test_async_twin(sample: newsqa.Article, replay_client: newsqa.ModelClient) -> None:
    import asyncio

    async def main() -> Answer:
        async with replay_client:
            return await newsqa.aask(sample, "Who requested what?", client=replay_client)

    a = asyncio.run(main())
    assert isinstance(a, Answer) and a.status == "answered"


def test_unrecorded_request_fails_loudly_and_is_not_retried(sample: newsqa.Article, replay: object) -> None:
    client = newsqa.ModelClient(transport=replay, cache=False)  # type: ignore[arg-type]
    with pytest.raises(newsqa.ReplayError, match="no recorded exchange"):
        newsqa.ask(sample, "A question nobody recorded?", client=client)
    assert replay.played == []  # type: ignore[attr-defined]
    assert len(replay.misses) == 1  # type: ignore[attr-defined]  # asked once: a replay miss is not retried


SECRET = re.compile(r"((^|[^A-Za-z0-9])sk-[A-Za-z0-9_-]{20,}|Bearer [A-Za-z0-9._-]{20,}|\"authorization\"\s*:)", re.I)


def test_fixtures_hold_no_secrets() -> None:
    files = [p for p in FIXTURES.rglob("*") if p.is_file()]
    assert any(p.parent == EXCHANGES for p in files)
    for p in files:
        text = p.read_text(encoding="utf-8", errors="replace")
        assert not SECRET.search(text), p
        if p.parent == EXCHANGES:  # recorded exchanges keep no credential or cookie header at all
            headers = json.loads(text)["request"]["headers"]
            assert not {"authorization", "api-key", "cookie", "openai-organization"} & {h.lower() for h in headers}, p


def test_follow_up_needs_the_conversation(sample: newsqa.Article, replay_client: newsqa.ModelClient) -> None:
    session = newsqa.Session(sample, client=replay_client)
    first = session.ask("What was requested?")
    assert first.status == "answered" and "20,000" in (first.answer or "")
    second = session.ask("Who is reviewing it?")  # "it" is the request: only the conversation says so
    assert second.status == "answered"
    assert "Pentagon" in (second.answer or "")


def test_streamed_answer(sample: newsqa.Article, replay_client: newsqa.ModelClient) -> None:
    *pieces, final = list(newsqa.ask(sample, "Who requested what?", client=replay_client, stream=True))
    assert len(pieces) > 3 and all(isinstance(p, str) for p in pieces)
    assert final.status == "answered" and "".join(pieces).strip() == (final.answer or "").strip()
