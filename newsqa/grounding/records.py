"""Who-did-what records that say one thing each: no record twice, no party in two roles by mistake.

Small models fill a record's slots from whatever stands nearby: the actor copied into the recipient
slot, the object repeated as the recipient, the same request written out five times. A recipient that
is the record's own actor or object, or that its evidence never names (see :mod:`.slots`), is taken
out (the record stays, with what it does say). Records that name the same actor and action, one
object's words all in the other's, and the same recipient or none on one side (by their content
words) are merged, their evidence joined. Each repair is counted, so the result can say what was
mended and why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from ..schemas import Action
from ..text.article import Article
from ..text.words import content_words
from .slots import without_unstated_recipient

__all__ = ["tidy_actions"]


def _key(text: str | None) -> frozenset[str]:
    return frozenset(content_words(text or ""))


def tidy_actions(actions: Sequence[Action], article: Article) -> tuple[list[Action], list[str]]:
    """``actions`` with misplaced recipients removed and duplicates merged, and a note per kind of repair.

    Two records are the same when actor and action say the same, one object's words are all in the
    other's ("requested troops" and "requested 20,000 National Guard troops") and their recipients say
    the same or one names none: the fuller one stays, with the recipient and the evidence of both.
    """
    repairs: Counter[str] = Counter()
    kept: list[Action] = []
    for action in actions:
        recipient = action.recipient
        if recipient is not None and _key(recipient) and _key(recipient) in (_key(action.actor), _key(action.object)):
            same = "actor" if _key(recipient) == _key(action.actor) else "object"
            repairs[f"recipient was the record's own {same}"] += 1
            action = action.model_copy(update={"recipient": None})
        action, unstated = without_unstated_recipient(action, article)
        if unstated:
            repairs["recipient not named by the record's evidence"] += 1
        k = next((i for i, other in enumerate(kept) if _same_record(other, action)), None)
        if k is None:
            kept.append(action)
            continue
        repairs["the same record twice (merged)"] += 1
        first, fuller = kept[k], max(kept[k], action, key=lambda a: len(_key(a.object)))
        evidence = [*first.evidence, *(e for e in action.evidence if e not in first.evidence)]
        recipient = first.recipient or action.recipient
        kept[k] = fuller.model_copy(update={"evidence": evidence, "recipient": recipient})
    notes = [f"{n} action record(s) repaired: {why}" for why, n in repairs.items()]
    return kept, notes


def _same_record(a: Action, b: Action) -> bool:
    if (_key(a.actor), _key(a.action)) != (_key(b.actor), _key(b.action)):
        return False
    if a.recipient and b.recipient and _key(a.recipient) != _key(b.recipient):
        return False
    x, y = _key(a.object), _key(b.object)
    return x <= y or y <= x
