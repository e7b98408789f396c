"""Evidence is never taken on trust: every span returned stands in the article, whatever the model says."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import newsqa
from newsqa import Article
from newsqa.grounding.locate import locate_quote, resolve_refs, unsupported_terms
from newsqa.schemas import MAX_REFS
from newsqa.text.words import mentions

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
    # A figure is found only as a whole number, never inside another one.
    assert unsupported_terms("DHS asked for 2,000 troops", ev) == ["2,000"]
    assert unsupported_terms("DHS asked for 20 troops", ev) == ["20"]


@pytest.mark.parametrize(
    ("haystack", "term", "found"),
    [
        ("20000 troops", "2000", False),
        ("in 2014.", "14", False),
        ("in 2014.", "201", False),
        ("about 1.5 times", "5", False),
        ("about 1.5 times", "1.5", True),
        ("about 11.5 times", "1.5", False),
        ("in 2014.", "2014", True),
        ("the 2014-15 season", "15", True),
        ("at 10:30 on 9/11", "9/11", True),
        ("the 21st century", "21st", True),
        ("$1000 each", "1000", True),
        ("michael maxwell", "maxwell", True),
        ("senator gorelick said", "gore", False),
        ("the annual report", "ann", False),
        ("the senators' letter", "senator", True),
        ("maxwell's letter", "maxwell", True),
        ("two republicans", "republican", True),
    ],
)
def test_mentions_finds_numbers_and_words_whole(haystack: str, term: str, found: bool) -> None:
    assert mentions(haystack, term) is found


def test_a_figure_inside_a_bigger_one_is_neither_evidence_nor_the_article() -> None:
    from newsqa.testing import ScriptedTransport

    costs = Article.from_text(COSTS)
    # "300" stands in S3, "30" nowhere: the draft cannot lean on the longer number.
    thirty = {"evidence": ["S3"], "status": "answered", "answer": "30 new jobs"}
    t = ScriptedTransport([thirty], verdict="yes")
    a = newsqa.ask(costs, "How many jobs?", client=newsqa.ModelClient(transport=t, cache=False))
    assert a.status == "not_in_article" and a.refusal is not None and a.refusal.check == "outside_knowledge"
    assert len(t.requests) == 1  # refused on the text: no second reading


def test_a_name_inside_another_word_is_not_in_the_article() -> None:
    from newsqa.grounding.outside import foreign_terms

    text = "Senator Gorelick said the annual review found nothing."
    assert foreign_terms("Gore said the review found nothing", text) == ["Gore"]
    assert foreign_terms("Gorelick said so", text) == []
    # A title written with a full stop may stand for the article's longer word.
    assert foreign_terms("Sen. Gorelick said so", text) == []
    assert foreign_terms("Se Gorelick said so", text) == ["Se Gorelick"]


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
    # Every reference is accounted for: it became evidence or was rejected, and nothing came from nowhere.
    if any(ref.strip() for ref in refs):
        assert r.evidence or r.rejected
    else:
        assert not r.evidence and not r.rejected


@settings(max_examples=100, deadline=None)
@given(
    st.lists(hostile, max_size=MAX_REFS),
    st.sampled_from(["answered", "not_in_article"]),
    st.text(max_size=200) | st.none(),
    st.sampled_from(["yes", "no"]),
)
def test_pipeline_never_returns_unverified_evidence(
    refs: list[str], status: str, answer: str | None, verdict: str
) -> None:
    from newsqa.testing import ScriptedTransport

    reply = {"evidence": refs, "status": status, "answer": answer}
    client = newsqa.ModelClient(transport=ScriptedTransport([reply] * 4, verdict=verdict), cache=False)
    a = art()
    result = newsqa.ask(a, "Who requested what?", client=client)
    for ev in result.evidence:
        assert a.text[ev.start : ev.end] == ev.quote
    if result.status == "answered":
        assert result.evidence and result.answer and verdict == "yes"
    else:
        assert result.answer is None and result.evidence == []


COSTS = "The council approved the plan on Monday. It will cost 4 million dollars. Officials expect 300 new jobs."


def test_numbers_no_sentence_holds_are_reasked_then_refused() -> None:
    from newsqa.testing import ScriptedTransport

    costs = Article.from_text(COSTS)
    # Both numbers stand in the article, but no one sentence states them together.
    made_up = {"evidence": ["S1"], "status": "answered", "answer": "It costs 4 million dollars for 300 jobs"}
    t = ScriptedTransport([made_up, made_up], verdict="yes")
    a = newsqa.ask(costs, "What will the plan bring?", client=newsqa.ModelClient(transport=t, cache=False))
    assert a.status == "not_in_article" and len(t.requests) == 2
    assert "4, 300" in t.requests[1]["messages"][-1]["content"]
    fixed = {"evidence": ["S2"], "status": "answered", "answer": "4 million dollars"}
    t = ScriptedTransport([made_up, fixed], verdict="yes")
    a = newsqa.ask(costs, "What will the plan cost?", client=newsqa.ModelClient(transport=t, cache=False))
    assert a.status == "answered" and a.answer == "4 million dollars" and len(t.requests) == 3
    foreign = {"evidence": ["S2"], "status": "answered", "answer": "It will cost 9 million dollars"}
    t = ScriptedTransport([foreign], verdict="yes")  # a number the article never mentions: no re-ask, no check
    a = newsqa.ask(costs, "What will it cost?", client=newsqa.ModelClient(transport=t, cache=False))
    assert a.answer is None and len(t.requests) == 1


def test_the_sentence_that_holds_the_answer_replaces_a_wrong_citation() -> None:
    from newsqa.testing import ScriptedTransport

    # The model cites S3 but copied its answer from S2: S2 becomes the evidence, without a re-ask.
    reply = {"evidence": ["S3"], "status": "answered", "answer": "DHS requested 20,000 National Guard members"}
    t = ScriptedTransport([reply], verdict="yes")
    a = newsqa.ask(art(), "What did DHS request?", client=newsqa.ModelClient(transport=t, cache=False))
    assert a.status == "answered" and len(t.requests) == 2  # the draft and its check
    assert [e.quote for e in a.evidence] == [art().sentences[1].text]
    # The check reads the evidence alone, not the article.
    check = t.requests[1]["messages"][-1]["content"]
    assert art().sentences[1].text in check and "Pentagon" not in check and reply["answer"] in check


def test_an_answer_the_check_does_not_find_in_its_evidence_is_refused() -> None:
    from newsqa.testing import ScriptedTransport

    related = {"evidence": ["S1"], "status": "answered", "answer": "20,000 National Guard troops"}
    t = ScriptedTransport([related], verdict="no")
    a = newsqa.ask(art(), "How many troops did the Pentagon send?", client=newsqa.ModelClient(transport=t, cache=False))
    assert a.status == "not_in_article" and a.answer is None and a.evidence == []
    assert a.usage.requests == 2


def test_the_check_can_be_switched_off_per_call_and_per_session() -> None:
    from newsqa.testing import ScriptedTransport

    related = {"evidence": ["S1"], "status": "answered", "answer": "20,000 National Guard troops"}
    t = ScriptedTransport([related], verdict="no")  # a check would refuse it
    a = newsqa.ask(art(), "What did DHS ask for?", client=newsqa.ModelClient(transport=t, cache=False), check=False)
    assert a.status == "answered" and len(t.requests) == 1
    t = ScriptedTransport([related, related], verdict="no")
    s = newsqa.Session(art(), client=newsqa.ModelClient(transport=t, cache=False), check=False)
    assert s.ask("What did DHS ask for?").status == "answered" and len(t.requests) == 1
    s.check = None  # back to the default: checked, and refused
    assert s.ask("And what did it ask for?").status == "not_in_article" and len(t.requests) == 3


def test_the_draft_cites_before_it_decides() -> None:
    from newsqa.testing import ScriptedTransport

    t = ScriptedTransport([{"status": "not_in_article", "evidence": [], "answer": None}], verdict="yes")
    a = newsqa.ask(art(), "Who won the election?", client=newsqa.ModelClient(transport=t, cache=False))
    assert a.status == "not_in_article" and len(t.requests) == 1  # nothing to check
    assert list(t.requests[0]["response_format"]["schema"]["properties"]) == ["evidence", "status", "answer"]


def test_answer_sentences() -> None:
    from newsqa.grounding.locate import answer_sentences

    costs = Article.from_text(COSTS)
    wrong = resolve_refs(costs, ["S1"]).evidence
    assert answer_sentences(costs, "300 new jobs", "What do officials expect?", wrong) == [2]
    # Already supported, or adding nothing to the question: nothing to find.
    assert answer_sentences(costs, "4 million dollars", "?", resolve_refs(costs, ["S2"]).evidence) == []
    assert answer_sentences(costs, "the council approved the plan", "Did the council approve the plan?", []) == []
    # Every missing number must stand in the sentence found; one that is nowhere finds nothing.
    assert answer_sentences(costs, "700 new jobs", "What do officials expect?", wrong) == []
    # Only sentences the model was shown.
    assert answer_sentences(costs, "300 new jobs", "?", wrong, allowed_sentences={0, 1}) == []
