"""Long articles: retrieval for questions, map/reduce for summaries, never over the context window."""

from __future__ import annotations

import json
import re

import httpx2
import pytest

import newsqa
from newsqa.schemas import SUMMARY_ACTIONS
from newsqa.testing import ScriptedTransport, actions_reply, asks_for_actions, chat_completion
from newsqa.text.tokens import get_tokenizer

from .conftest import FIXTURES

LONG = FIXTURES / "eval" / "long" / "01_911-commission-ch12-global-strategy.txt"
WINDOW = 4096


@pytest.fixture(scope="module")
def long_article() -> newsqa.Article:
    return newsqa.Article.from_file(LONG)


def fake_model(requests: list[dict], actions_per_part: int = 1) -> ScriptedTransport:
    """Cites the first sentence (or note) it was shown, as a well-behaved model would."""

    def reply(request: httpx2.Request) -> httpx2.Response:
        body = json.loads(request.read())
        requests.append(body)
        user = body["messages"][-1]["content"]
        ids = re.findall(r"\[(S\d+|P\d+)\]", user)
        # Each record is about a sentence of its own, its slots in that sentence's words, as a
        # well-behaved model's would be: actor, verb and object all stand in its evidence.
        shown = re.findall(r"\[(S\d+|P\d+)\]\s*([^\n\[]+)", user)
        words = {i: [w for w in re.findall(r"[A-Za-z]+", t) if len(w) > 4] for i, t in shown}
        if "Question:" in user:
            out = {"evidence": [ids[0]], "status": "answered", "answer": "an answer"}
        elif asks_for_actions(body):
            asked = re.findall(r"^(S\d+): ", user, flags=re.M)
            out = actions_reply(body, [
                {"actor": words[i][0], "action": words[i][1], "object": " ".join(words[i][2:5]), "recipient": None,
                 "reported_as": "done", "evidence": [i]}
                for i in [i for i in asked if len(words.get(i, [])) >= 5][-actions_per_part:]
            ])  # fmt: skip
        else:
            out = {
                "headline": "h",
                "summary": "s.",
                # Each point in the words of what it cites (a sentence, or a note), as a faithful model's.
                "key_points": [{"point": " ".join(words.get(i, ["point"])[:6]), "evidence": [i]} for i in ids[:2]],
                "entities": {"people": [], "organizations": [], "places": ["Nowhere-in-the-text"]},
            }
        return httpx2.Response(200, json=chat_completion(json.dumps(out)), request=request)

    return ScriptedTransport([reply] * 500, verdict="yes")


def prompt_tokens(body: dict) -> int:
    tok = get_tokenizer()
    return sum(tok.count(m["content"]) for m in body["messages"])


def test_question_on_long_article_uses_best_chunks(long_article: newsqa.Article) -> None:
    requests: list[dict] = []
    client = newsqa.ModelClient(transport=fake_model(requests), cache=False, context_window=WINDOW)
    a = newsqa.ask(
        long_article, "What did the Commission recommend about biometric entry-exit screening?", client=client
    )
    assert len(requests) == 1
    shown = requests[0]["messages"][-1]["content"]
    assert prompt_tokens(requests[0]) + 300 <= WINDOW
    assert "biometric" in shown.lower() and "..." in shown
    assert a.status == "answered" and a.evidence
    ev = a.evidence[0]
    assert long_article.text[ev.start : ev.end] == ev.quote and ev.chunk_id is not None


def test_summary_of_long_article_maps_and_reduces(long_article: newsqa.Article) -> None:
    requests: list[dict] = []
    transport = fake_model(requests)
    client = newsqa.ModelClient(transport=transport, cache=False, context_window=WINDOW)
    s = newsqa.summarize(long_article, client=client)
    maps = [r for r in requests if "<article>" in r["messages"][-1]["content"]]
    reduces = [r for r in requests if "<notes>" in r["messages"][-1]["content"]]
    assert len(maps) > 5 and len(reduces) >= 1
    assert all(prompt_tokens(r) + 1200 <= WINDOW for r in requests)
    assert s.key_points and all(kp.evidence for kp in s.key_points)
    for kp in s.key_points:
        for ev in kp.evidence:
            assert long_article.text[ev.start : ev.end] == ev.quote
    assert s.entities.places == []  # not named in the article: dropped
    assert s.usage.requests == len(transport.requests)  # drafts, action lists and the items' reading


def test_a_long_summary_keeps_the_first_action_records_a_summary_holds_and_says_so(
    long_article: newsqa.Article,
) -> None:
    requests: list[dict] = []
    client = newsqa.ModelClient(transport=fake_model(requests, actions_per_part=3), cache=False, context_window=WINDOW)
    s = newsqa.summarize(long_article, client=client)
    assert len(s.actions) == SUMMARY_ACTIONS  # more were found across the parts
    starts = [a.evidence[0].start for a in s.actions]
    assert starts == sorted(starts)  # the first in the article
    assert any("left out" in w for w in s.warnings)


def test_hierarchical_reduce_when_notes_overflow(long_article: newsqa.Article) -> None:
    requests: list[dict] = []
    client = newsqa.ModelClient(transport=fake_model(requests), cache=False, context_window=2300)
    s = newsqa.summarize(long_article, client=client)
    reduces = [r for r in requests if "<notes>" in r["messages"][-1]["content"]]
    assert len(reduces) > 1
    assert all(prompt_tokens(r) + 1200 <= 2300 for r in requests)
    assert s.key_points and all(kp.evidence for kp in s.key_points)


def test_twenty_thousand_words_in_bounded_memory(long_article: newsqa.Article) -> None:
    import tracemalloc

    extra = (FIXTURES / "eval" / "articles" / "02_fema-reform-mikulski.txt").read_text()
    extra += (FIXTURES / "eval" / "articles" / "01_uscis-whistleblower-grassley.txt").read_text()
    text = long_article.text + "\n\n" + extra + "\n\n" + extra.replace("FEMA", "the agency")
    article = newsqa.Article.from_text(text)
    assert len(article.text.split()) > 20_000
    requests: list[dict] = []
    client = newsqa.ModelClient(transport=fake_model(requests), cache=False, context_window=WINDOW)
    tracemalloc.start()
    try:
        s = newsqa.summarize(article, client=client)
        a = newsqa.ask(article, "What did Senator Mikulski say about FEMA?", client=client)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert all(prompt_tokens(r) + 1200 <= WINDOW for r in requests if "<notes>" in r["messages"][-1]["content"])
    assert all(prompt_tokens(r) + 300 <= WINDOW for r in requests)
    assert s.key_points and a.status == "answered"
    assert peak < 150 * 2**20, f"peak {peak / 2**20:.0f} MiB"


def test_question_reads_a_bounded_passage_even_with_a_large_window(long_article: newsqa.Article) -> None:
    from newsqa.api.questions import ASK_CONTEXT_TOKENS

    requests: list[dict] = []
    client = newsqa.ModelClient(transport=fake_model(requests), cache=False, context_window=128_000)
    newsqa.ask(long_article, "What did the Commission recommend about biometric entry-exit screening?", client=client)
    block = requests[0]["messages"][-1]["content"].split("</article>")[0]
    shown = re.sub(r"\[S\d+\] ", "", block)
    # The window would hold the whole chapter; the question is answered from the best passages only.
    assert get_tokenizer().count(shown) <= ASK_CONTEXT_TOKENS * 1.05
    assert "biometric" in shown.lower()
