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
        "actions": actions,
    }
    client = newsqa.ModelClient(transport=ScriptedTransport([draft]), cache=False)
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
