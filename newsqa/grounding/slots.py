"""The slots of a who-did-what record, each named by the record's own evidence.

A quote that exists is not a record that stands: small models copy a verb from the prompt's examples
("sent a letter urging") into every record, put whichever organisation is nearby in the actor or
recipient slot, and cite a sentence that says none of it. A record is an extraction, so every slot
must be found where the record says it comes from (rules only, no model; the ``supported`` reading
then judges what the slots say together):

    actor       named in its evidence, or in the sentence just before it ("She said ..."): a content
                word, or the same acronym ("DHS" for "Department of Homeland Security")
    action      its verb stands in the evidence, in any form ("requested", "a request"; "sent", "send"),
                or another verb of the same act: asking ("asked" for "approached with a request")
                or saying ("stated" for "is quoted as saying"), the two acts reporters vary words for
    object      at least half its content words in the evidence, and every number it gives
    recipient   named in the evidence (or the sentence before); one that is not is taken out and the
                record kept, with a note, since a record without a recipient still says something true

A failing actor, action or object drops the record, with the slot and why.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from ..schemas import Action, Evidence
from ..text.article import Article
from ..text.words import content_words, normalise
from .locate import sentences_before

__all__ = ["SLOTS_STATED", "slot_failure", "without_unstated_recipient"]

SLOTS_STATED = "slots_stated"

# Words that come before a verb phrase's main verb ("has asked", "was reportedly seeking").
_AUXILIARY = frozenset(
    """a an the to has have had is are was were be been being will would shall should can could may might
    must did does do also reportedly allegedly formally publicly again then not jointly officially""".split()
)
# English irregular past forms, to their base: "sent" must meet "send" in the evidence.
_IRREGULAR = {
    "said": "say", "sent": "send", "sought": "seek", "told": "tell", "drew": "draw", "drawn": "draw",
    "took": "take", "taken": "take", "gave": "give", "given": "give", "made": "make", "met": "meet",
    "wrote": "write", "written": "write", "brought": "bring", "began": "begin", "begun": "begin",
    "held": "hold", "led": "lead", "left": "leave", "paid": "pay", "won": "win", "lost": "lose",
    "thought": "think", "went": "go", "gone": "go", "came": "come", "found": "find", "kept": "keep",
    "spoke": "speak", "spoken": "speak", "chose": "choose", "chosen": "choose", "struck": "strike",
    "ran": "run", "rose": "rise", "risen": "rise", "fell": "fall", "fallen": "fall", "stood": "stand",
    "sold": "sell", "bought": "buy", "built": "build", "spent": "spend", "threw": "throw",
    "thrown": "throw", "forbade": "forbid", "forbidden": "forbid", "withdrew": "withdraw",
    "withdrawn": "withdraw", "overtook": "overtake", "undertook": "undertake", "bore": "bear",
    "borne": "bear", "swore": "swear", "sworn": "swear", "sat": "sit", "lent": "lend", "dealt": "deal",
    "meant": "mean", "heard": "hear", "shot": "shoot", "fled": "flee", "fought": "fight", "caught": "catch",
    "taught": "teach", "felt": "feel", "understood": "understand", "became": "become", "forgave": "forgive",
    "froze": "freeze", "frozen": "freeze", "hid": "hide", "hidden": "hide", "knew": "know", "known": "know",
    "saw": "see", "seen": "see", "showed": "show", "shown": "show", "grew": "grow", "grown": "grow",
    "wore": "wear", "broke": "break", "broken": "break", "stole": "steal", "stolen": "steal",
    "drove": "drive", "driven": "drive", "rode": "ride", "woke": "wake", "sank": "sink", "sunk": "sink",
    "got": "get", "gotten": "get", "done": "do",
}  # fmt: skip
# Reporters vary the verb of a request or a statement more than any other; within each family a verb
# the model chose names the same act as the article's. ``reported_as`` keeps what kind of act it was.
_FAMILIES = {
    "asking": "ask request seek call urge demand appeal petition press plead implore invite",
    "saying": "say state tell add assert comment remark declare quote write argue insist",
}
_FAMILY: dict[str, str] = {}  # filled below, once _verb_form exists
_WORD = re.compile(r"[a-z][a-z'-]*")
_CAPS = re.compile(r"\b[A-Z][A-Z&]{1,}s?\b")
_CAPITALISED_RUN = re.compile(r"[A-Z][\w'-]*(?:\s+(?:of|for|and|the|on|&)?\s*[A-Z][\w'-]*)*")
_NUMBER = re.compile(r"\d[\d,.]*\d|\d")


def _verb_form(word: str) -> str:
    """A verb's word reduced to a comparable stem: irregular forms to their base, regular endings cut."""
    w = _IRREGULAR.get(word, word)
    for suffix, repl in (("ying", "y"), ("ied", "y"), ("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", "")):
        if len(w) > len(suffix) + 2 and w.endswith(suffix):
            w = w[: -len(suffix)] + repl
            break
    w = w.rstrip("e")[:5]
    return _FAMILY.get(w, w)


_FAMILY.update({_verb_form(verb): family for family, verbs in _FAMILIES.items() for verb in verbs.split()})


def _head_verb(action: str) -> str | None:
    """The main verb of a verb phrase, as :func:`_verb_form` reduces it (None if it holds no word)."""
    for word in _WORD.findall(normalise(action)):
        if word not in _AUXILIARY and not word.endswith("ly"):
            return _verb_form(word.split("'")[0])
    return None


def _acronyms(text: str) -> set[str]:
    """Acronyms ``text`` holds, and those its runs of capitalised words make ("Homeland Security" -> "HS")."""
    out = {m.group(0).rstrip("s") for m in _CAPS.finditer(text)}
    for m in _CAPITALISED_RUN.finditer(text):
        initials = "".join(w[0] for w in m.group(0).split() if w[:1].isupper())
        # Every stretch of the run: "The Department of Homeland Security" holds "DHS".
        out |= {initials[i:j] for i in range(len(initials)) for j in range(i + 2, len(initials) + 1)}
    return out


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


class _Window:
    """The text a record's slots are looked for in: its evidence, and for parties also the sentence
    before each piece of evidence (a pronoun's antecedent)."""

    def __init__(self, evidence: Sequence[Evidence], article: Article) -> None:
        self.evidence = " ".join(e.quote for e in evidence)
        self.parties = " ".join([*sentences_before(article, evidence), self.evidence])
        self.words = content_words(self.evidence)
        self.party_words = content_words(self.parties)
        self.party_acronyms = _acronyms(self.parties)
        self.verbs = {_verb_form(w.split("'")[0]) for w in _WORD.findall(normalise(self.evidence))}

    def names(self, party: str) -> bool:
        return bool(content_words(party) & self.party_words) or bool(_acronyms(party) & self.party_acronyms)


def slot_failure(action: Action, article: Article) -> str | None:
    """Why ``action``'s evidence does not name its actor, verb or object (None when it does)."""
    if not action.evidence:
        return None  # the evidence_found check speaks for records without evidence
    window = _Window(action.evidence, article)
    if not window.names(action.actor):
        return f"its evidence does not name the actor ({action.actor})"
    verb = _head_verb(action.action)
    if verb is not None and verb not in window.verbs:
        return f"its evidence does not state the action ({action.action})"
    wanted = content_words(action.object)
    missing_numbers = _numbers(action.object) - _numbers(window.evidence)
    if missing_numbers or len(wanted & window.words) * 2 < len(wanted):
        return f"its evidence does not state the object ({action.object})"
    return None


def without_unstated_recipient(action: Action, article: Article) -> tuple[Action, bool]:
    """``action`` less a recipient its evidence never names, and whether one was taken out."""
    if action.recipient is None or not action.evidence or _Window(action.evidence, article).names(action.recipient):
        return action, False
    return action.model_copy(update={"recipient": None}), True
