"""The second reading: does the evidence, read alone, state the answer?

Answering is generative and leans towards an answer; judging one short text is a far easier task
for a small model, and it cannot drift to other parts of the article. The model sees only the
evidence sentences, the question and the proposed answer.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from .. import prompts
from ..schemas import Evidence
from .base import Check, Claim, Context, Judgement, Message, Outcome

__all__ = ["COMBINER", "SECOND_READING", "YES_THRESHOLD", "check_messages", "stands"]

# How the reading is decided, where the endpoint reports token probabilities (else the model's word
# decides). Both fitted on the SQuAD 2.0 tune split by benchmarks/calibrate.py and checked on its test
# split: YES_THRESHOLD for P(yes) alone (a draft without probabilities), and COMBINER for P(yes) with
# the draft's own P(answered): a logistic regression over their log-odds (bias, weight of P(yes),
# weight of P(answered)) and the combined probability an answer needs. None: P(yes) alone decides.
YES_THRESHOLD = 0.55
COMBINER: tuple[float, float, float, float] | None = None


def _log_odds(p: float) -> float:
    p = min(max(p, 1e-4), 1 - 1e-4)
    return math.log(p / (1 - p))


def stands(judgement: Judgement, p_answered: float | None) -> bool:
    """Whether the reading confirms the answer, by the model's probabilities when it reports them."""
    if judgement.p_yes is not None and p_answered is not None and COMBINER is not None:
        bias, w_yes, w_answered, cut = COMBINER
        z = bias + w_yes * _log_odds(judgement.p_yes) + w_answered * _log_odds(p_answered)
        return 1 / (1 + math.exp(-max(min(z, 30.0), -30.0))) >= cut
    return judgement.says_yes(YES_THRESHOLD)


def check_messages(question: str, answer: str, evidence: Sequence[Evidence]) -> list[Message]:
    """The messages of a second reading: the evidence alone, the question and the answer."""
    text = "\n".join(prompts.defang(e.quote) for e in evidence)
    task = prompts.render("check", text=text, question=prompts.defang(question), answer=prompts.defang(answer))
    return [{"role": "system", "content": prompts.load("check_system")}, {"role": "user", "content": task}]


async def _second_reading(claim: Claim, ctx: Context) -> Outcome:
    if ctx.judge is None:
        return None
    judgement = await ctx.judge(check_messages(ctx.question, claim.answer or "", claim.evidence))
    if stands(judgement, claim.p_answered):
        return None
    return "a second reading of the evidence alone does not find the answer in it"


SECOND_READING = Check(
    "second_reading",
    "the model, shown only the evidence, the question and the answer, confirms the evidence states it",
    _second_reading,
    needs_model=True,
)
