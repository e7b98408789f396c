"""Streaming: partial answer text as it arrives, then the validated Answer."""

from __future__ import annotations

import asyncio
import json

import pytest

import newsqa
from newsqa.testing import ScriptedTransport, streamed_completion

REPLY = {"evidence": ["S1"], "status": "answered", "answer": "The Department of Homeland Security asked the Pentagon"}


def test_stream_yields_growing_text_then_the_answer(sample: newsqa.Article) -> None:
    t = ScriptedTransport([streamed_completion(json.dumps(REPLY), pieces=12)], verdict="yes")
    items = list(newsqa.ask(sample, "Who asked?", client=newsqa.ModelClient(transport=t, cache=False), stream=True))
    *texts, final = items
    assert isinstance(final, newsqa.Answer) and final.status == "answered"
    assert all(isinstance(x, str) for x in texts) and len(texts) > 2
    assert "".join(texts) == REPLY["answer"]
    assert t.requests[0]["stream"] is True
    assert final.usage.total_tokens == 30 and final.evidence  # the streamed draft and its check


def test_async_stream(sample: newsqa.Article) -> None:
    t = ScriptedTransport([streamed_completion(json.dumps(REPLY))], verdict="yes")

    async def main() -> list[object]:
        async with newsqa.ModelClient(transport=t, cache=False) as client:
            return [x async for x in newsqa.astream(sample, "Who asked?", client=client)]

    items = asyncio.run(main())
    assert "".join(x for x in items if isinstance(x, str)) == REPLY["answer"]


def test_stream_cut_midway_is_retried(sample: newsqa.Article) -> None:
    t = ScriptedTransport(
        [
            streamed_completion(json.dumps(REPLY), finish_reason=None),
            streamed_completion(json.dumps(REPLY)),
        ],
        verdict="yes",
    )
    client = newsqa.ModelClient(transport=t, cache=False, backoff=0.001)
    *texts, final = list(newsqa.ask(sample, "Who asked?", client=client, stream=True))
    assert final.status == "answered" and len(t.requests) == 3  # two tries, one check
    assert "".join(texts) == REPLY["answer"]  # text shown once, not twice


def test_stream_errors_are_typed(sample: newsqa.Article) -> None:
    t = ScriptedTransport([streamed_completion('{"evidence": ["S1"], "sta', finish_reason="length")])
    with pytest.raises(newsqa.TruncatedOutputError):
        list(newsqa.ask(sample, "Who asked?", client=newsqa.ModelClient(transport=t, cache=False), stream=True))


def test_cached_answer_streams_whole(sample: newsqa.Article, tmp_path) -> None:  # type: ignore[no-untyped-def]
    t = ScriptedTransport([streamed_completion(json.dumps(REPLY))], verdict="yes")
    client = newsqa.ModelClient(transport=t, cache=newsqa.Cache(tmp_path))
    list(newsqa.ask(sample, "Who asked?", client=client, stream=True))
    items = list(newsqa.ask(sample, "Who asked?", client=client, stream=True))
    assert len(items) == 1 and items[0].cached
