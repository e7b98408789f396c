"""Checks that an answer stands in its own evidence: it cites something real, and its numbers are there.

Both failures are often the model citing the wrong sentence, so both earn one more try with the reason.
"""

from __future__ import annotations

from .. import prompts
from ..text.words import mentions, normalise
from .base import Check, Claim, Context, Outcome
from .locate import unsupported_terms

__all__ = ["EVIDENCE_FOUND", "NUMBERS_IN_EVIDENCE", "unsupported_numbers"]


def _refs(claim: Claim) -> str:
    return ", ".join(claim.refs) if claim.refs else "(none)"


def _evidence_found(claim: Claim, ctx: Context) -> Outcome:
    if claim.evidence:
        return None
    if not claim.refs:
        return "the answer cites no evidence"
    return f"none of the evidence the answer cites ({_refs(claim)[:200]}) stands in the article"


def _cite_again(claim: Claim, ctx: Context) -> str:
    return prompts.render("unsupported", refs=_refs(claim))


EVIDENCE_FOUND = Check(
    "evidence_found",
    "an answer needs at least one cited sentence or quote that stands in the article",
    _evidence_found,
    feedback=_cite_again,
)


def unsupported_numbers(claim: Claim, question: str) -> list[str]:
    """Numbers in the answer that neither its evidence nor the question contains."""
    if not claim.answer or not claim.evidence:
        return []
    asked = normalise(question).replace(",", "")
    terms = unsupported_terms(claim.answer, claim.evidence)
    return [t for t in terms if t[:1].isdigit() and not mentions(asked, normalise(t).replace(",", ""))]


def _numbers_in_evidence(claim: Claim, ctx: Context) -> Outcome:
    numbers = unsupported_numbers(claim, ctx.question)
    return f"the evidence does not contain {', '.join(numbers)}" if numbers else None


def _drop_the_number(claim: Claim, ctx: Context) -> str:
    # Models usually cite correctly when told, and drop a number they cannot show (the commonest fabrication).
    numbers = unsupported_numbers(claim, ctx.question)
    return f"Your evidence does not contain {', '.join(numbers)}. " + _cite_again(claim, ctx)


NUMBERS_IN_EVIDENCE = Check(
    "numbers_in_evidence",
    "every number in the answer stands in its evidence or in the question",
    _numbers_in_evidence,
    feedback=_drop_the_number,
)
