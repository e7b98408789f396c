"""The draft's own confidence: the probability the model gave "answered" when it decided to answer.

A model that answers a question its article cannot answer usually hesitates at that token, even when
it goes on to answer: on SQuAD 2.0's unanswerable questions the embedded model's median probability
of "answered" is lower than on the answerable ones it gets right. The threshold is calibrated on the
SQuAD 2.0 tune split (benchmarks/calibrate.py). Endpoints that report no token probabilities, and
replies from before they were asked for, pass: the other checks still stand.
"""

from __future__ import annotations

from .base import Check, Claim, Context, Outcome

__all__ = ["ANSWERED_THRESHOLD", "DRAFT_CONFIDENCE"]

# The probability of "answered" a draft needs, where the endpoint reports token probabilities.
ANSWERED_THRESHOLD = 0.9


def _draft_confidence(claim: Claim, ctx: Context) -> Outcome:
    p = claim.p_answered
    if p is None or p >= ANSWERED_THRESHOLD:
        return None
    return f"the model itself was unsure the article answers this (probability {p:.2f} that it does)"


DRAFT_CONFIDENCE = Check(
    "draft_confidence",
    "the model, while drafting, was confident that the article answers the question",
    _draft_confidence,
)
