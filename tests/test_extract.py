"""extract(): any user model, drafted for the model, evidence verified on the way back."""

from __future__ import annotations

from pydantic import BaseModel, Field

import newsqa
from newsqa.schemas import draft_model
from newsqa.testing import ScriptedTransport


class Person(BaseModel):
    name: str
    title: str | None = None
    evidence: list[newsqa.Evidence] = Field(default_factory=list)


class Requests(BaseModel):
    requester: str = Field(description="who asked")
    requested: str
    people: list[Person]
    mentioned_count: int | None = None


def test_draft_of_a_user_model_swaps_evidence_for_references() -> None:
    schema = draft_model(Requests).model_json_schema()
    person = schema["$defs"]["Person"]
    assert person["properties"]["evidence"]["items"] == {"type": "string"}
    assert set(person["required"]) == {"name", "title", "evidence"}
    assert schema["properties"]["requester"]["description"] == "who asked"


def test_extract_verifies_nested_evidence(sample: newsqa.Article) -> None:
    reply = {
        "requester": "DHS",
        "requested": "20,000 National Guard troops",
        "people": [
            {"name": "Tricia McLaughlin", "title": "Assistant Secretary", "evidence": ["S5", "made-up quote here"]},
            {"name": "Donald Trump", "title": "President", "evidence": ["S2"]},
        ],
        "mentioned_count": None,
    }
    t = ScriptedTransport([reply])
    out = newsqa.extract(sample, Requests, client=newsqa.ModelClient(transport=t, cache=False))
    assert isinstance(out, Requests) and out.requester == "DHS"
    first = out.people[0].evidence
    assert len(first) == 1 and "Tricia McLaughlin" in first[0].quote  # the fabricated quote was dropped
    assert sample.text[first[0].start : first[0].end] == first[0].quote
    prompt = t.requests[0]["messages"][-1]["content"]
    assert '"requester"' in prompt and "[S1]" in prompt
