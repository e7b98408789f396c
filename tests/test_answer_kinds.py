"""Questions that ask for a cause, a quantity, a date, a penalty or a yes/no are held to it."""

from __future__ import annotations

import pytest

import newsqa
from newsqa import Article
from newsqa.grounding.answer_kinds import question_kind, unmet
from newsqa.grounding.locate import resolve_refs
from newsqa.testing import ScriptedTransport

MINE = (
    "An explosion killed one miner and trapped twelve others at the Sago mine on January 2. "
    "Rescuers reached the men after 41 hours. "
    "Investigators said a lightning strike caused the blast. "
    "The union asked the governor to close the mine until it is inspected. "
    "The owner, Ann Pike, was charged with negligence and faces trial in March."
)


def mine() -> Article:
    return Article.from_text(MINE)


def ev(*ids: int) -> list[newsqa.Evidence]:
    return resolve_refs(mine(), [f"S{i}" for i in ids]).evidence


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Why did the mine close?", "cause"),
        ("What caused the explosion at the Sago mine?", "cause"),
        ("What was the reason for the delay?", "cause"),
        ("According to the union, how many miners were trapped?", "quantity"),
        ("How much will the repairs cost?", "quantity"),
        ("On what date did the explosion happen?", "date"),
        ("In what year was the mine opened?", "date"),
        ("What sentence did the court give the owner?", "penalty"),
        ("How long was she sentenced to prison for?", "penalty"),
        ("Did the governor close the mine?", "yes_no"),
        ("According to officials, was the mine inspected?", "yes_no"),
        ("Who reached the men?", None),
        ("What did the union ask the governor to do?", None),
        ("When did rescuers reach the men?", None),  # "after 41 hours" is a fine answer to "when"
    ],
)
def test_question_kind(question: str, kind: str | None) -> None:
    assert question_kind(question) == kind


def test_a_cause_needs_evidence_that_states_one() -> None:
    q = "What caused the explosion at the Sago mine?"
    # The sentence reporting the explosion is related, not a cause.
    assert unmet(q, "An explosion killed one miner and trapped twelve others", ev(1)) is not None
    assert unmet(q, "A lightning strike", ev(3)) is None
    assert unmet("Why were the men trapped for so long?", "Rescuers reached them after 41 hours", ev(2)) is None


def test_quantities_dates_and_penalties_must_be_in_the_answer() -> None:
    assert unmet("How many miners were trapped?", "twelve", ev(1)) is None
    assert unmet("How many miners were trapped?", "12 miners", ev(1)) is None
    assert unmet("How many miners were trapped?", "The men at the Sago mine", ev(1)) is not None
    assert unmet("On what date did the explosion happen?", "January 2", ev(1)) is None
    assert unmet("On what date did the explosion happen?", "At the Sago mine", ev(1)) is not None
    assert unmet("What sentence did the court give the owner?", "She was charged with negligence", ev(5)) is not None
    assert unmet("What sentence did the court give the owner?", "Three years in prison", ev(5)) is None


def test_a_yes_or_no_needs_the_claim_in_its_evidence() -> None:
    # Asked for is not done: the union's request holds the claim's words but does not say it happened.
    assert unmet("Did the governor close the Sago mine?", "Yes, the governor closed the mine", ev(4)) is not None
    # ... which is the right evidence when the question is about the request or the future.
    assert unmet("Did the union ask the governor to close the mine?", "Yes", ev(4)) is None
    assert unmet("Will the governor close the Sago mine?", "The union asked him to", ev(4)) is None
    assert unmet("Did the governor order an inspection of the Sago mine?", "Yes", ev(1)) is not None
    assert unmet("Was Ann Pike charged with negligence?", "Yes", ev(5)) is None


def test_a_related_answer_of_the_wrong_kind_is_refused_without_a_check() -> None:
    related = {"evidence": ["S1"], "status": "answered", "answer": "An explosion killed one miner at the Sago mine"}
    t = ScriptedTransport([related], verdict="yes")  # the check would have said yes
    a = newsqa.ask(mine(), "What caused the explosion?", client=newsqa.ModelClient(transport=t, cache=False))
    assert a.status == "not_in_article" and a.answer is None and a.evidence == []
    assert len(t.requests) == 1  # refused before the check is asked
    cause = {"evidence": ["S3"], "status": "answered", "answer": "A lightning strike"}
    t = ScriptedTransport([cause], verdict="yes")
    a = newsqa.ask(mine(), "What caused the explosion?", client=newsqa.ModelClient(transport=t, cache=False))
    assert a.status == "answered" and a.answer == "A lightning strike" and len(t.requests) == 2


def test_an_answer_missing_the_asked_date_or_amount_is_completed_from_its_evidence() -> None:
    import newsqa
    from newsqa.testing import ScriptedTransport

    art = newsqa.Article.from_text(
        "The council met on Monday. In 1749 the British government gave land to the Ohio Company. "
        "It also approved 300 new homes."
    )
    replies = [
        {"evidence": ["S2"], "status": "answered", "answer": "The British government gave land to the Ohio Company"},
        {"evidence": ["S3"], "status": "answered", "answer": "new homes"},
        {"evidence": ["S3"], "status": "answered", "answer": "It approved new homes"},
    ]
    client = newsqa.ModelClient(transport=ScriptedTransport(replies, verdict="yes"), cache=False)
    when = newsqa.ask(art, "When did the British government give land?", client=client)
    assert when.answer == "1749 — The British government gave land to the Ohio Company"
    assert any("1749" in w and "date" in w for w in when.warnings)
    many = newsqa.ask(art, "How many homes did it approve?", client=client)
    assert many.status == "answered" and many.answer is not None and many.answer.startswith("300 — ")
    # Nothing to add when the question asks for neither, or the evidence holds no single candidate.
    what = newsqa.ask(art, "What did it approve?", client=client)
    assert what.answer == "It approved new homes" and not what.warnings
