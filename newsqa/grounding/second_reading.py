"""The second reading: does the evidence, read alone, state the answer?

Answering is generative and leans towards an answer; judging one short text is a far easier task
for a small model, and it cannot drift to other parts of the article. The model sees only the
evidence sentences, the question and the proposed answer.
"""

from __future__ import annotations

from collections.abc import Sequence

from .. import prompts
from ..schemas import Evidence
from .base import Check, Claim, Context, Message, Outcome

__all__ = ["SECOND_READING", "YES_THRESHOLD", "check_messages"]

# The probability of "yes" an answer needs to stand, where the endpoint reports token probabilities
# (else the model's word decides). Chosen on the SQuAD 2.0 tune split by benchmarks/calibrate.py: the
# smallest threshold whose false refusals of correct drafts stay within its budget there.
YES_THRESHOLD = 0.5


def check_messages(question: str, answer: str, evidence: Sequence[Evidence]) -> list[Message]:
    """The messages of a second reading: the evidence alone, the question and the answer."""
    text = "\n".join(prompts.defang(e.quote) for e in evidence)
    task = prompts.render("check", text=text, question=prompts.defang(question), answer=prompts.defang(answer))
    return [{"role": "system", "content": prompts.load("check_system")}, {"role": "user", "content": task}]


async def _second_reading(claim: Claim, ctx: Context) -> Outcome:
    if ctx.judge is None:
        return None
    judgement = await ctx.judge(check_messages(ctx.question, claim.answer or "", claim.evidence))
    if judgement.says_yes(YES_THRESHOLD):
        return None
    return "a second reading of the evidence alone does not find the answer in it"


SECOND_READING = Check(
    "second_reading",
    "the model, shown only the evidence, the question and the answer, confirms the evidence states it",
    _second_reading,
    needs_model=True,
)
