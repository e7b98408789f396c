"""The grounding driver: whether a draft answer stands, decided by named checks in a fixed order.

    answered             the model itself says the article answers (status and a non-empty answer)
    outside_knowledge    no name or number the article never mentions          (outside.py)
    evidence_found       cited evidence stands in the article        [re-ask]   (citation.py)
    numbers_in_evidence  the answer's numbers stand in its evidence  [re-ask]   (citation.py)
    planted_instruction  no echo of orders planted in the article               (planted.py)
    answer_kind          the kind of answer the question asks for               (answer_kinds.py)
    draft_confidence     the model was confident the article answers          (confidence.py)
    second_reading       the evidence alone states the answer         [model]   (second_reading.py)

Before the checks, a draft whose answer leaves out the date or amount its question asks for, when
its evidence holds exactly one, gets it added (``answer_kinds.repaired``; the result's warnings say so).

Cheap, certain checks come first and the one that costs a request comes last. The first failure
decides: a check marked [re-ask] gets the model one more try with its reason (once per answer, in
the client's one re-ask loop); any other failure refuses, and the result says which check and why.
Every check but ``answered`` can be turned off by name.
"""

from __future__ import annotations

import inspect
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from typing import Protocol, cast

from pydantic import BaseModel

from ..errors import ConfigurationError
from ..schemas import Refusal
from .answer_kinds import ANSWER_KIND
from .base import Check, Claim, Context, Outcome
from .citation import EVIDENCE_FOUND, NUMBERS_IN_EVIDENCE
from .confidence import DRAFT_CONFIDENCE
from .locate import locate_answer
from .outside import OUTSIDE_KNOWLEDGE
from .planted import PLANTED_INSTRUCTION
from .second_reading import SECOND_READING

__all__ = ["ANSWERED", "ANSWER_CHECKS", "CHECK_NAMES", "Decision", "Grounding", "claim_from_draft"]


def _answered(claim: Claim, ctx: Context) -> Outcome:
    return None if claim.answered else "the model found no answer to the question in the article"


ANSWERED = Check("answered", "the model says the article answers the question, and gives an answer", _answered)

ANSWER_CHECKS: tuple[Check, ...] = (
    ANSWERED,
    OUTSIDE_KNOWLEDGE,
    EVIDENCE_FOUND,
    NUMBERS_IN_EVIDENCE,
    PLANTED_INSTRUCTION,
    ANSWER_KIND,
    DRAFT_CONFIDENCE,
    SECOND_READING,
)
CHECK_NAMES: tuple[str, ...] = tuple(c.name for c in ANSWER_CHECKS)


class AnswerDraft(Protocol):
    """The shape of a draft answer, as the model fills it (see ``schemas.draft_model(Answer)``)."""

    status: str
    answer: str | None
    evidence: list[str]


def claim_from_draft(draft: AnswerDraft, ctx: Context, p_answered: float | None = None) -> Claim:
    """The draft with its evidence located in the article (and re-found from the answer's own words).

    ``p_answered`` is the probability the model gave "answered" while drafting, when known.
    """
    answer = draft.answer if draft.status == "answered" else None
    found = locate_answer(
        ctx.article, draft.evidence, answer, ctx.question, chunks=ctx.chunks, allowed_sentences=ctx.allowed
    )
    return Claim(draft.status, draft.answer, list(draft.evidence), found.evidence, found.rejected, p_answered)


@dataclass
class Decision:
    """The verdict on a claim: it stands (``refusal`` is None) or which check refused it and why."""

    claim: Claim
    refusal: Refusal | None = None
    passed: list[str] = field(default_factory=list)

    @property
    def stands(self) -> bool:
        return self.refusal is None


class Grounding:
    """The answer checks in order, less those turned off; decides drafts and reviews them for re-asks."""

    def __init__(self, checks: Sequence[Check] = ANSWER_CHECKS, *, skip: Collection[str] = ()) -> None:
        unknown = set(skip) - {c.name for c in checks}
        if unknown:
            raise ConfigurationError(
                f"unknown check(s) {', '.join(sorted(unknown))}; the checks are {', '.join(c.name for c in checks)}"
            )
        if ANSWERED.name in skip:
            raise ConfigurationError("the 'answered' check cannot be turned off: without it there is no answer")
        self.checks = tuple(c for c in checks if c.name not in skip)

    def reviewer(self, ctx: Context) -> _Reviewer:
        """A review for the client's re-ask loop: feedback for the first mendable failure, once."""
        return _Reviewer(self, ctx)

    def failure(self, claim: Claim, ctx: Context) -> tuple[Check, str] | None:
        """The first check (of those that need no model) that ``claim`` fails, with its reason."""
        for check in self.checks:
            if check.needs_model:
                return None
            outcome = check.run(claim, ctx)
            if isinstance(outcome, str):
                return check, outcome
        return None

    async def decide(self, claim: Claim, ctx: Context) -> Decision:
        """Run every check in order; the first failure refuses."""
        decision = Decision(claim)
        for check in self.checks:
            outcome = check.run(claim, ctx)
            if inspect.isawaitable(outcome):
                outcome = await outcome
            if outcome is not None:
                decision.refusal = Refusal(check=check.name, reason=outcome)
                return decision
            decision.passed.append(check.name)
        return decision

    async def audit(self, claim: Claim, ctx: Context) -> dict[str, str | None]:
        """Every check's outcome on ``claim``, none skipped for an earlier failure (for measuring checks)."""
        out: dict[str, str | None] = {}
        for check in self.checks:
            outcome = check.run(claim, ctx)
            if inspect.isawaitable(outcome):
                outcome = await outcome
            out[check.name] = outcome
        return out


class _Reviewer:
    def __init__(self, grounding: Grounding, ctx: Context) -> None:
        self.grounding = grounding
        self.ctx = ctx
        self.used = False

    def __call__(self, draft: BaseModel) -> str | None:
        # One grounding re-ask per answer: a model that cites wrongly twice will not be mended by a third.
        if self.used:
            return None
        claim = claim_from_draft(cast(AnswerDraft, draft), self.ctx)
        failed = self.grounding.failure(claim, self.ctx)
        if failed is None or failed[0].feedback is None:
            return None
        self.used = True
        return failed[0].feedback(claim, self.ctx)
