"""Who-did-what records: no record twice, no recipient that is the record's own actor or object."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import newsqa
from newsqa.testing import ScriptedTransport
from newsqa.text.words import content_words

from .conftest import SAMPLE

PARTIES = ["The Department of Homeland Security", "DHS", "the Pentagon", "National Guard troops", "Tricia McLaughlin"]
ACTIONS = ["requested", "asked for", "is reviewing", "said"]


def action() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "actor": st.sampled_from(PARTIES),
            "action": st.sampled_from(ACTIONS),
            "object": st.sampled_from([*PARTIES, "20,000 troops", "assistance"]),
            "recipient": st.none() | st.sampled_from(PARTIES),
            "reported_as": st.sampled_from(["done", "requested", "reported_by_others"]),
            "evidence": st.lists(st.sampled_from(["S1", "S2", "S4"]), min_size=1, max_size=2),
        }
    )


@settings(max_examples=60, deadline=None)
@given(st.lists(action(), max_size=5))
def test_returned_actions_are_distinct_and_keep_their_roles_apart(actions: list[dict[str, Any]]) -> None:
    draft = {
        "headline": "DHS asks the Pentagon for troops",
        "summary": "DHS asked the Pentagon for 20,000 National Guard troops.",
        "key_points": [{"point": "DHS asked for troops.", "evidence": ["S1"]}],
        "entities": {"people": [], "organizations": [], "places": []},
    }
    client = newsqa.ModelClient(transport=ScriptedTransport([draft, {"actions": actions}], verdict="yes"), cache=False)
    summary = newsqa.summarize(newsqa.Article.from_file(SAMPLE), client=client)
    keys = []
    for a in summary.actions:
        if a.recipient is not None:
            r = content_words(a.recipient)
            assert r != content_words(a.actor) and r != content_words(a.object)
        keys.append(tuple(frozenset(content_words(x or "")) for x in (a.actor, a.action, a.object, a.recipient)))
    assert len(keys) == len(set(keys))  # no two returned actions are the same record
    if len(summary.actions) < len(actions):
        assert any("action record" in w for w in summary.warnings)  # and the result says so


BODY = {
    "headline": "DHS asks the Pentagon for troops",
    "summary": "DHS asked the Pentagon for 20,000 National Guard troops.",
    "key_points": [],
    "entities": {"people": [], "organizations": [], "places": []},
}


def _summarize(*replies: Any, verdict: str | None = None) -> tuple[newsqa.Summary, ScriptedTransport]:
    t = ScriptedTransport(list(replies), verdict=verdict)
    client = newsqa.ModelClient(transport=t, cache=False)
    return newsqa.summarize(newsqa.Article.from_file(SAMPLE), client=client), t


def test_an_item_its_evidence_does_not_state_is_dropped_with_the_check_and_reason() -> None:
    act = {"actor": "the Pentagon", "action": "approved", "object": "the request", "recipient": "DHS",
           "reported_as": "done", "evidence": ["S3"]}  # fmt: skip
    # Read against its own evidence: no; against the sentence that shares most of its words: no again.
    summary, t = _summarize({**BODY}, {"actions": [act]}, {"verdicts": ["no"]}, {"verdicts": ["no"]})
    assert summary.actions == [] and len(t.requests) == 4
    (d,) = summary.dropped
    assert (d.item, d.check) == ("action", "supported") and "Pentagon approved the request" in d.text
    assert "does not find it stated" in d.reason and any("dropped" in w for w in summary.warnings)
    # The reading saw the record as a statement, next to its own evidence and nothing else.
    check = t.requests[2]["messages"][-1]["content"]
    assert "Claim 1: the Pentagon approved the request (of or to DHS)." in check
    assert "Pentagon attorneys are currently reviewing the request" in check and "McLaughlin" not in check


def test_a_true_item_that_cites_the_wrong_sentence_is_re_cited_from_the_sentence_that_states_it() -> None:
    point = {"point": "About 2,000 agents were recruited from the Drug Enforcement Administration and others.",
             "evidence": ["S1"]}  # fmt: skip
    # The headline stands; the key point is not stated by its evidence, then is by the right sentence.
    summary, t = _summarize(
        {**BODY, "key_points": [point]}, {"actions": []}, {"verdicts": ["yes", "no"]}, {"verdicts": ["yes"]}
    )
    (kp,) = summary.key_points
    assert "approximately 2,000 agents" in kp.evidence[0].quote and "20,000 National Guard" not in kp.evidence[0].quote
    assert summary.dropped == [] and any("re-cited" in w for w in summary.warnings)
    assert "approximately 2,000 agents" in t.requests[3]["messages"][-1]["content"]


def test_items_naming_what_the_article_never_mentions_are_dropped_without_asking_the_model() -> None:
    point = {"point": "Governor Greg Abbott sent 5,000 troops.", "evidence": ["S1"]}
    summary, t = _summarize({**BODY, "key_points": [point]}, {"actions": []}, {"verdicts": ["yes"]})
    assert summary.key_points == [] and summary.dropped[0].check == "outside_knowledge"
    assert "Greg Abbott" in summary.dropped[0].reason
    assert "with exactly 1 verdicts" in t.requests[2]["messages"][-1]["content"]  # only the headline was read


def test_a_summary_cut_off_mid_sentence_loses_the_fragment_and_says_so() -> None:
    body = {**BODY, "summary": "DHS asked the Pentagon for 20,000 National Guard troops. Pentagon attorneys are "
            "reviewing the request. The Senators stated, "}  # fmt: skip
    summary, _ = _summarize(body, {"actions": []}, verdict="yes")
    assert (
        summary.summary
        == "DHS asked the Pentagon for 20,000 National Guard troops. Pentagon attorneys are reviewing the request."
    )
    assert [(d.item, d.check) for d in summary.dropped] == [("summary_sentence", "complete_sentences")]


def test_summary_sentences_with_outside_names_are_dropped_and_the_rest_kept() -> None:
    body = {**BODY, "summary": "DHS asked the Pentagon for 20,000 National Guard troops. Senator John Smith objected."}
    summary, _ = _summarize(body, {"actions": []}, verdict="yes")
    assert summary.summary == "DHS asked the Pentagon for 20,000 National Guard troops."
    assert summary.dropped[0].check == "outside_knowledge" and "John Smith" in summary.dropped[0].reason


def test_how_the_article_reports_an_action_is_kept_and_read() -> None:
    act = {"actor": "DHS", "action": "asked for", "object": "20,000 National Guard troops", "recipient": "the Pentagon",
           "reported_as": "reported_by_others", "evidence": ["S1"]}  # fmt: skip
    summary, t = _summarize({**BODY}, {"actions": [act]}, verdict="yes")
    (a,) = summary.actions
    assert a.reported_as == "reported_by_others" and a.recipient == "the Pentagon"
    assert "[reported by others]" in t.requests[2]["messages"][-1]["content"]


def test_an_empty_summary_text_is_not_an_error() -> None:
    summary, _ = _summarize({**BODY, "summary": "  "}, {"actions": []}, verdict="yes")
    assert summary.summary == "" and summary.dropped == []


def test_a_headline_its_key_points_do_not_bear_out_gives_way_to_the_first_key_point() -> None:
    point = {"point": "DHS asked the Pentagon for 20,000 National Guard troops.", "evidence": ["S1"]}
    body = {**BODY, "headline": "Pentagon approves 20,000 troops", "key_points": [point]}
    summary, t = _summarize(body, {"actions": []}, {"verdicts": ["no", "yes"]}, {"verdicts": ["no"]})
    assert summary.headline == "DHS asked the Pentagon for 20,000 National Guard troops"
    assert [(d.item, d.check) for d in summary.dropped] == [("headline", "supported")]
    reading = t.requests[2]["messages"][-1]["content"]
    assert "Claim 1: Pentagon approves 20,000 troops" in reading and "Claim 2: DHS asked the Pentagon" in reading


def test_a_title_case_headline_is_not_taken_for_a_row_of_names() -> None:
    point = {"point": "DHS asked the Pentagon for 20,000 National Guard troops.", "evidence": ["S1"]}
    body = {**BODY, "headline": "DHS Asks Pentagon For 20,000 National Guard Troops", "key_points": [point]}
    summary, _ = _summarize(body, {"actions": []}, verdict="yes")
    assert summary.headline == "DHS Asks Pentagon For 20,000 National Guard Troops" and summary.dropped == []
    body = {**BODY, "headline": "Texas Governor Abbott Sends 5,000 Troops", "key_points": [point]}
    summary, _ = _summarize(body, {"actions": []}, verdict="yes")
    assert summary.dropped[0].item == "headline" and summary.dropped[0].check == "outside_knowledge"


def test_a_record_whose_object_another_record_spells_out_is_merged_into_it() -> None:
    base = {"actor": "DHS", "action": "requested", "recipient": "the Pentagon", "reported_as": "requested"}
    acts = [
        {**base, "object": "National Guard troops", "evidence": ["S1"]},
        {**base, "object": "20,000 National Guard troops", "evidence": ["S5"]},
        {**base, "object": "help from local police", "evidence": ["S8"]},
    ]
    summary, _ = _summarize({**BODY}, {"actions": acts}, verdict="yes")
    assert [a.object for a in summary.actions] == ["20,000 National Guard troops", "help from local police"]
    assert len(summary.actions[0].evidence) == 2 and any("merged" in w for w in summary.warnings)
