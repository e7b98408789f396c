"""Token log-probabilities: read from a reply, kept in the cache, and what they say about a choice."""

from __future__ import annotations

import math

import pytest

import newsqa
from newsqa.model.cache import Cache
from newsqa.model.logprobs import TokenLogprob, from_json, from_openai, option_probability, to_json
from newsqa.schemas import Verdict
from newsqa.testing import FakeOpenAIServer, ScriptedTransport, chat_completion, verdict_completion

CHECK = [{"role": "user", "content": "Does the text say it?"}]


def test_the_deciding_token_divides_belief_among_the_options() -> None:
    tokens = [
        TokenLogprob('{"', 0.0),
        TokenLogprob("verdict", 0.0),
        TokenLogprob(' "', 0.0),
        # The model put 0.6 on "yes", 0.2 on "no" and 0.2 on a capital "Yes" (counted as yes).
        TokenLogprob("no", math.log(0.2), (("yes", math.log(0.6)), ("Yes", math.log(0.2)), ("no", math.log(0.2)))),
    ]
    shares = option_probability(tokens, ("yes", "no"))
    assert shares == pytest.approx({"yes": 0.8, "no": 0.2})


def test_mass_on_tokens_no_option_begins_is_set_aside() -> None:
    tokens = [TokenLogprob('"y', math.log(0.3), (("maybe", math.log(0.6)), ("n", math.log(0.1))))]
    assert option_probability(tokens, ("yes", "no")) == pytest.approx({"yes": 0.75, "no": 0.25})


def test_no_deciding_token_no_probability() -> None:
    assert option_probability([TokenLogprob("{", 0.0)], ("yes", "no")) is None
    assert from_openai(None) is None and from_openai({"content": None}) is None
    assert from_openai({"content": [{"token": 3, "logprob": "x"}]}) is None
    assert from_json("not a list of tokens") is None


def test_round_trip_through_json() -> None:
    tokens = [TokenLogprob("yes", -0.1, (("yes", -0.1), ("no", -2.3)))]
    assert from_json(to_json(tokens)) == tokens


def test_a_reply_with_logprobs_keeps_them_and_so_does_its_cache_entry(tmp_path: object) -> None:
    cache = Cache(tmp_path)  # type: ignore[arg-type]
    t = ScriptedTransport([verdict_completion("yes", 0.7)])
    with newsqa.ModelClient(transport=t, cache=cache) as c:
        done = c.complete(CHECK, Verdict, with_logprobs=True)
        again = c.complete(CHECK, Verdict, with_logprobs=True)
    assert t.requests[0]["logprobs"] is True and t.requests[0]["top_logprobs"] >= 2
    assert option_probability(done.logprobs or [], ("yes", "no")) == pytest.approx({"yes": 0.7, "no": 0.3})
    assert again.cached and again.logprobs == done.logprobs
    assert len(t.requests) == 1


def test_a_cache_entry_without_logprobs_is_asked_again_when_they_are_wanted(tmp_path: object) -> None:
    cache = Cache(tmp_path)  # type: ignore[arg-type]
    t = ScriptedTransport([chat_completion('{"verdict": "no"}'), verdict_completion("no", 0.1)])
    with newsqa.ModelClient(transport=t, cache=cache) as c:
        assert c.complete(CHECK, Verdict).logprobs is None
        assert c.complete(CHECK, Verdict).cached  # not wanted: the entry serves
        wanted = c.complete(CHECK, Verdict, with_logprobs=True)
    assert not wanted.cached and wanted.logprobs is not None
    assert len(t.requests) == 2


def test_an_endpoint_that_rejects_logprobs_still_answers_and_is_not_asked_again() -> None:
    rejected = (400, {}, b'{"error": {"message": "logprobs is not supported by this server"}}')
    body = chat_completion('{"verdict": "yes"}')
    with (
        FakeOpenAIServer([rejected, body, body]) as server,
        newsqa.ModelClient(base_url=server.base_url, model="m", cache=False, max_retries=0) as c,
    ):
        first = c.complete(CHECK, Verdict, with_logprobs=True)
        second = c.complete(CHECK, Verdict, with_logprobs=True)
    assert first.value.verdict == "yes" and first.logprobs is None and second.logprobs is None
    assert "logprobs" in server.requests[0] and "logprobs" not in server.requests[1]
    assert "logprobs" not in server.requests[2]
