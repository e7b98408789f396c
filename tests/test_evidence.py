"""Evidence is never taken on trust: every span returned stands in the article, whatever the model says."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

import newsqa
from newsqa import Article
from newsqa.evidence import locate_quote, resolve_refs, unsupported_terms
from newsqa.schemas import MAX_REFS

TEXT = (
    "The Department of Homeland Security, or DHS, has reportedly approached the Pentagon with a request "
    "for 20,000 National Guard troops.\n\nAssistant Secretary Tricia McLaughlin said, ‘DHS requested "
    "20,000 National Guard members.’ The plan — still under review — was criticised."
)


def art() -> Article:
    return Article.from_text(TEXT)


def test_sentence_ids() -> None:
    a = art()
    r = resolve_refs(a, ["S1", "[S2]", "s3", "S99", "S0"])
    assert [e.quote for e in r.evidence] == [s.text for s in a.sentences[:3]]
    assert r.rejected == ["S99", "S0"]


def test_exact_normalised_and_fuzzy_quotes() -> None:
    a = art()
    exact = "approached the Pentagon"
    assert a.text[slice(*locate_quote(a, exact))] == exact  # type: ignore[misc]
    # straight quotes, plain dash, other case, squashed whitespace
    s, e = locate_quote(a, "said, 'dhs requested 20,000 national guard members.") or (0, 0)
    assert a.text[s:e] == "said, ‘DHS requested 20,000 National Guard members."
    s, e = locate_quote(a, "The plan - still under review - was criticised.") or (0, 0)
    assert a.text[s:e] == "The plan — still under review — was criticised."
    # a paraphrase close enough to one sentence maps to that sentence, exactly as written
    s, e = locate_quote(
        a,
        "The Department of Homeland Security, or DHS, reportedly approached the Pentagon "
        "with a request for 20,000 National Guard troops.",
    ) or (0, 0)
    assert a.text[s:e] == a.sentences[0].text


def test_fabrications_are_rejected() -> None:
    a = art()
    r = resolve_refs(
        a, ["The Governor of Texas said the plan was illegal.", "DHS requested 50,000 troops from Mexico."]
    )
    assert r.evidence == [] and len(r.rejected) == 2


def test_allowed_sentences_limit_ids() -> None:
    r = resolve_refs(art(), ["S1", "S2"], allowed_sentences={1})
    assert len(r.evidence) == 1 and r.rejected == ["S1"]


def test_unsupported_terms() -> None:
    a = art()
    ev = resolve_refs(a, ["S1"]).evidence
    assert unsupported_terms("DHS asked the Pentagon for 20,000 National Guard troops", ev) == []
    assert unsupported_terms("DHS asked Texas for 30,000 troops", ev) == ["Texas", "30,000"]


hostile = st.one_of(
    st.text(max_size=300),
    st.sampled_from(["S1", "S-1", "S999999", "[S2]", "S1, S2", "S2 and S3", "", " ", "S"]),
    st.builds(lambda s, i, j: s[i:j], st.just(TEXT), st.integers(0, len(TEXT)), st.integers(0, len(TEXT))),
    # look-alikes: Cyrillic/Greek letters, fullwidth digits, zero-width joiners inside real text
    st.builds(lambda s, i: s[:i] + "\u0430\u200d\uff12" + s[i:], st.just(TEXT[:120]), st.integers(0, 120)),
    st.builds(lambda s: s.upper(), st.just(TEXT[20:90])),
)


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=300) | st.just(TEXT),
    st.lists(hostile, max_size=6),
)
def test_evidence_invariant(text: str, refs: list[str]) -> None:
    try:
        a = Article.from_text(text)
    except newsqa.ArticleError:
        return
    r = resolve_refs(a, refs)
    for ev in r.evidence:
        assert 0 <= ev.start <= ev.end <= len(a.text)
        assert a.text[ev.start : ev.end] == ev.quote
    assert len(r.evidence) + len(r.rejected) >= 0


@settings(max_examples=100, deadline=None)
@given(
    st.lists(hostile, max_size=MAX_REFS),
    st.sampled_from(["answered", "not_in_article"]),
    st.text(max_size=200) | st.none(),
)
def test_pipeline_never_returns_unverified_evidence(refs: list[str], status: str, answer: str | None) -> None:
    from newsqa.testing import ScriptedTransport

    reply = {"evidence": refs, "status": status, "answer": answer}
    client = newsqa.ModelClient(transport=ScriptedTransport([reply] * 4), cache=False)
    a = art()
    result = newsqa.ask(a, "Who requested what?", client=client)
    for ev in result.evidence:
        assert a.text[ev.start : ev.end] == ev.quote
    if result.status == "answered":
        assert result.evidence and result.answer
    else:
        assert result.answer is None and result.evidence == []


def test_a_number_missing_from_the_evidence_is_reasked_then_refused() -> None:
    from newsqa.testing import ScriptedTransport

    # 20,000 stands in the article, but not in the sentence cited for it.
    made_up = {"evidence": ["S3"], "status": "answered", "answer": "The plan asked for 20,000 troops"}
    t = ScriptedTransport([made_up, made_up])
    a = newsqa.ask(art(), "How many troops?", client=newsqa.ModelClient(transport=t, cache=False))
    assert a.status == "not_in_article" and len(t.requests) == 2
    assert "20,000" in t.requests[1]["messages"][-1]["content"]
    fixed = {"evidence": ["S1"], "status": "answered", "answer": "20,000 National Guard troops"}
    t = ScriptedTransport([made_up, fixed])
    a = newsqa.ask(art(), "How many troops?", client=newsqa.ModelClient(transport=t, cache=False))
    assert a.status == "answered" and a.answer == "20,000 National Guard troops"
    foreign = {"evidence": ["S1"], "status": "answered", "answer": "DHS asked for 50,000 troops"}
    t = ScriptedTransport([foreign])  # a number the article never mentions: refused without a re-ask
    assert newsqa.ask(art(), "How many?", client=newsqa.ModelClient(transport=t, cache=False)).answer is None


def test_a_number_in_a_neighbouring_sentence_is_found_without_a_reask() -> None:
    from newsqa.testing import ScriptedTransport

    # The model cites S3 but the number stands in S2, which shares words with the answer.
    reply = {"evidence": ["S3"], "status": "answered", "answer": "DHS requested 20,000 National Guard members"}
    t = ScriptedTransport([reply])
    a = newsqa.ask(art(), "What did DHS request?", client=newsqa.ModelClient(transport=t, cache=False))
    assert a.status == "answered" and len(t.requests) == 1
    assert any("20,000 National Guard members" in e.quote for e in a.evidence)
    assert all(art().text[e.start : e.end] == e.quote for e in a.evidence)


REFUSED = {"status": "not_in_article", "evidence": [], "answer": None}


def test_a_refusal_gets_a_second_opinion_kept_when_its_evidence_covers_the_question() -> None:
    from newsqa.testing import ScriptedTransport

    second = {"evidence": ["S1"], "status": "answered", "answer": "20,000 National Guard troops"}
    t = ScriptedTransport([REFUSED, second])
    q = "How many National Guard troops did DHS request from the Pentagon?"
    a = newsqa.ask(art(), q, client=newsqa.ModelClient(transport=t, cache=False))
    assert a.status == "answered" and a.answer == "20,000 National Guard troops"
    assert a.usage.requests == 2
    # The first request decides before citing; the second cites first.
    orders = [list(r["response_format"]["schema"]["properties"]) for r in t.requests]
    assert orders == [["status", "evidence", "answer"], ["evidence", "status", "answer"]]


def test_a_second_opinion_from_merely_related_evidence_is_not_kept() -> None:
    from newsqa.testing import ScriptedTransport

    # S1 is about the request, not about what it costs: the refusal stands.
    related = {"evidence": ["S1"], "status": "answered", "answer": "20,000 National Guard troops"}
    t = ScriptedTransport([REFUSED, related])
    a = newsqa.ask(
        art(), "How much will the deployment cost taxpayers?", client=newsqa.ModelClient(transport=t, cache=False)
    )
    assert a.status == "not_in_article" and a.answer is None and len(t.requests) == 2


def test_question_coverage() -> None:
    from newsqa.evidence import question_coverage

    ev = resolve_refs(art(), ["S1"]).evidence
    assert question_coverage("Who requested National Guard troops from the Pentagon?", ev) == 1.0
    assert question_coverage("How much will the deployment cost taxpayers?", ev) == 0.0
    assert question_coverage("Who?", ev) == 1.0  # nothing to cover
