"""Grounding: whether a model's draft stands in the article, decided by named checks.

locate.py          references -> verified spans of the article (and the sentences an answer's words stand in)
base.py            Claim, Context, Check: what every check works on, and what a check is
outside.py         outside_knowledge
citation.py        evidence_found, numbers_in_evidence
planted.py         planted_instruction
answer_kinds.py    answer_kind
second_reading.py  second_reading (asks the model)
pipeline.py        the order, and the driver that runs it
"""

from .base import Check, Claim, Context
from .pipeline import ANSWER_CHECKS, CHECK_NAMES, Decision, Grounding, claim_from_draft

__all__ = ["ANSWER_CHECKS", "CHECK_NAMES", "Check", "Claim", "Context", "Decision", "Grounding", "claim_from_draft"]
