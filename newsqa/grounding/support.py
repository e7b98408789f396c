"""The record checks: each key point, action record and summary sentence says only what the article does.

    evidence_found        the item cites sentences that stand in the article     (resolved with the draft)
    outside_knowledge     it names no person, place or number the article never mentions   (outside.py)
    planted_instruction   it does not repeat an instruction planted in the article         (planted.py)
    slots_stated          an action record's actor, verb and object stand in its evidence    (slots.py)
    terms_in_evidence     a key point's names, numbers and half its words stand in its evidence (terms.py)
    supported   [model]   its own evidence, read alone, states it, with the same people in the same roles

A quote that exists is not a quote that says what the item claims: small models cite a sentence near
the one that holds the fact, copy a request as if it were done, or fill a record's slots from the wrong
sentence. ``supported`` reads every item against its own evidence in one request (one verdict per
item); the headline is read against the evidence of the key points it heads. An item that fails is
re-cited when another sentence holds its names, numbers and most of its words (and, for an action
record, its slots) and a second reading of that sentence states it; otherwise it is dropped, and the
result says which check dropped it and why. Summary sentences carry no evidence of their own: the two
name and instruction rules apply to them, and a sentence cut off mid-way is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from .. import prompts
from ..schemas import Action, Dropped, Evidence, SummaryItem
from ..text.article import Article
from .base import Claim, Context, Message
from .locate import answer_sentences, resolve_refs
from .outside import OUTSIDE_KNOWLEDGE
from .planted import PLANTED_INSTRUCTION
from .slots import SLOTS_STATED, slot_failure
from .terms import TERMS_IN_EVIDENCE, terms_failure

__all__ = [
    "RECORD_CHECK_NAMES",
    "Record",
    "ReviewedRecords",
    "action_statement",
    "complete_sentences",
    "review_records",
    "support_messages",
]

RECORD_CHECK_NAMES = (
    "evidence_found",
    "outside_knowledge",
    "planted_instruction",
    SLOTS_STATED,
    TERMS_IN_EVIDENCE,
    "supported",
)
# Rule failures that another sentence may mend: the item is re-cited from it if a reading confirms it.
_MENDABLE = (SLOTS_STATED, TERMS_IN_EVIDENCE)
MAX_SUMMARY_SENTENCES = 4
# One verdict per claim: (messages, number of claims) -> "yes"/"no" per claim, in order.
BatchJudge = Callable[[list[Message], int], Awaitable[list[str]]]

_HEDGED = {
    "requested": "asked for this",
    "asked_whether": "asked whether this is so",
    "alleged": "alleged this",
    "planned": "planned or announced this",
    "reported_by_others": "reported by others",
}


@dataclass
class Record:
    """One item of a summary, as a statement its evidence should make."""

    item: SummaryItem
    text: str
    evidence: list[Evidence] = field(default_factory=list)
    action: Action | None = None  # an action record's slots, for the slots_stated check


def action_statement(action: Action) -> str:
    """An action record as one sentence a reader (or a second reading) can check against the article."""
    to = f" (of or to {action.recipient})" if action.recipient else ""
    how = f" [{_HEDGED[action.reported_as]}]" if action.reported_as in _HEDGED else ""
    return f"{action.actor} {action.action} {action.object}{to}{how}."


def support_messages(records: Sequence[Record]) -> list[Message]:
    """One request that reads every record against its own evidence, and nothing else."""
    blocks = []
    for i, r in enumerate(records):
        text = " ".join(prompts.defang(e.quote) for e in r.evidence)
        blocks.append(f"Claim {i + 1}: {prompts.defang(r.text)}\nText {i + 1}: {text}")
    task = prompts.render("support", claims="\n\n".join(blocks), count=str(len(records)))
    return [{"role": "system", "content": prompts.load("check_system")}, {"role": "user", "content": task}]


def _sentence_case(text: str) -> str:
    """A Title Case headline as a sentence: capitals kept only on acronyms, so that every capitalised
    word is not taken for a name ("DHS Approves 20,000 Troops" -> "DHS approves 20,000 troops")."""
    words = text.split()
    if sum(w[:1].isupper() for w in words) * 5 < len(words) * 3:
        return text
    return " ".join(w if w.isupper() or not w[:1].isalpha() else w.lower() for w in words)


def _rule_failure(record: Record, ctx: Context) -> tuple[str, str] | None:
    text = _sentence_case(record.text) if record.item == "headline" else record.text
    claim = Claim("answered", text, evidence=list(record.evidence))
    for check in (OUTSIDE_KNOWLEDGE, PLANTED_INSTRUCTION):
        outcome = check.run(claim, ctx)
        if isinstance(outcome, str):
            return check.name, outcome.replace("the answer", f"the {record.item.replace('_', ' ')}")
    return _cited_failure(record, record.evidence, ctx.article)


def _cited_failure(record: Record, evidence: list[Evidence], article: Article) -> tuple[str, str] | None:
    """What ``evidence`` fails to hold of ``record``: an action's slots, a key point's terms."""
    if record.action is not None:
        why = slot_failure(record.action.model_copy(update={"evidence": evidence}), article)
        return None if why is None else (SLOTS_STATED, why)
    if record.item == "key_point" and (why := terms_failure(record.text, evidence, article)):
        return TERMS_IN_EVIDENCE, why
    return None


def _sentences_stating(record: Record, article: Article) -> list[Evidence]:
    """The sentences that hold ``record``'s names, numbers and most of its words, when they differ from
    its own evidence and (for an action record) name its slots; else nothing."""
    picked = answer_sentences(article, record.text, "", [])
    found = resolve_refs(article, [f"S{k + 1}" for k in picked]).evidence
    if not found or {(e.start, e.end) for e in found} == {(e.start, e.end) for e in record.evidence}:
        return []
    return [] if _cited_failure(record, found, article) else found


_END = re.compile(r"[.!?…。！？][\"'”’)\]]*$")


def complete_sentences(text: str, limit: int = MAX_SUMMARY_SENTENCES) -> tuple[list[str], list[str]]:
    """The whole sentences of ``text`` (at most ``limit``, each once), and what was cut: a trailing
    fragment, repeats, extras."""
    if not text.strip():
        return [], []
    sentences = [s.text.strip() for s in Article.from_text(text, parse_header=False).sentences if s.text.strip()]
    cut: list[str] = []
    if sentences and not _END.search(sentences[-1]):
        cut.append(sentences.pop())
    # A sentence said twice is said once (a small model that loops writes whole sentences again).
    seen: set[str] = set()
    kept: list[str] = []
    for s in sentences:
        key = " ".join(s.lower().split())
        (cut if key in seen else kept).append(s)
        seen.add(key)
    return kept[:limit], cut + kept[limit:]


@dataclass
class ReviewedRecords:
    """The records that stand (re-cited ones with their new evidence) and those dropped, with why."""

    kept: list[int]
    evidence: dict[int, list[Evidence]]
    dropped: list[Dropped]
    recited: int = 0


async def review_records(records: Sequence[Record], article: Article, judge: BatchJudge | None) -> ReviewedRecords:
    """Run the record checks on ``records``; ``judge`` reads them against their evidence (None skips it)."""
    ctx = Context(article, "")
    out = ReviewedRecords([], {}, [])
    pending: list[int] = []
    retry: dict[int, list[Evidence]] = {}
    rule_reasons: dict[int, tuple[str, str]] = {}
    for i, r in enumerate(records):
        failed = _rule_failure(r, ctx)
        mendable = failed is not None and failed[0] in _MENDABLE and judge is not None
        if failed is not None and mendable and (found := _sentences_stating(r, article)):
            retry[i] = found  # its slots stand in another sentence: that one is read in its place
            rule_reasons[i] = failed
        elif failed is not None:
            out.dropped.append(Dropped(item=r.item, text=r.text, check=failed[0], reason=failed[1]))
        elif judge is None or r.item == "summary_sentence" or (r.item == "headline" and not r.evidence):
            out.kept.append(i)
        elif not r.evidence:
            reason = "none of its cited sentences stands in the article"
            out.dropped.append(Dropped(item=r.item, text=r.text, check="evidence_found", reason=reason))
        else:
            pending.append(i)
    if judge is None:
        return out
    failing: list[int] = []
    if pending:
        verdicts = await judge(support_messages([records[i] for i in pending]), len(pending))
        failing = [i for i, v in zip(pending, verdicts, strict=True) if v != "yes"]
        out.kept += [i for i, v in zip(pending, verdicts, strict=True) if v == "yes"]
    # A true item that cites the wrong sentence: the sentence holding its names, numbers and most of
    # its words is read in its place, in one more request for all such items.
    for i in failing:
        if found := _sentences_stating(records[i], article):
            retry[i] = found
    if retry:
        again = [Record(records[i].item, records[i].text, ev, records[i].action) for i, ev in retry.items()]
        second = await judge(support_messages(again), len(again))
        for i, v in zip(retry, second, strict=True):
            if v == "yes":
                out.kept.append(i)
                out.evidence[i] = retry[i]
                out.recited += 1
    for i in [*failing, *rule_reasons]:
        if i in out.evidence:
            continue
        if i in rule_reasons:
            check, why = rule_reasons[i]
            reason = f"{why}; the sentence that holds it is not read to state it"
        else:
            check, reason = "supported", "a reading of its own evidence does not find it stated there"
        out.dropped.append(Dropped(item=records[i].item, text=records[i].text, check=check, reason=reason))
    out.kept.sort()
    return out
