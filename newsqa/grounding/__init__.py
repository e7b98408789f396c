"""Grounding: whether a model's draft stands in the article, decided by named checks.

locate.py          references -> verified spans of the article (and the sentences an answer's words stand in)
base.py            Claim, Context, Check: what every check works on, and what a check is
outside.py         outside_knowledge
citation.py        evidence_found, numbers_in_evidence
planted.py         planted_instruction
answer_kinds.py    answer_kind
alignment.py       answer_adds, question_terms (measured as candidates by benchmarks/squad.py; not in the order)
confidence.py      draft_confidence
second_reading.py  second_reading (asks the model)
pipeline.py        the order, and the driver that runs it

Summaries:
support.py         the record checks: the rules above, slots_stated, terms_in_evidence, then supported (asks the model)
slots.py           slots_stated: an action record's actor, verb and object stand in its own evidence
terms.py           terms_in_evidence: a key point's names, numbers and half its words stand in its own evidence
records.py         action records that say one thing each (repeats merged, misplaced recipients out)
"""

from .base import Check, Claim, Context
from .pipeline import ANSWER_CHECKS, CHECK_NAMES, Decision, Grounding, claim_from_draft

__all__ = ["ANSWER_CHECKS", "CHECK_NAMES", "Check", "Claim", "Context", "Decision", "Grounding", "claim_from_draft"]
