"""What kind of answer a question asks for, and whether a proposed answer can be one.

Small models answer questions the article does not answer with the nearest related sentence, and
confirm their own answer when asked again: "What caused the explosion?" gets the sentence that
reports the explosion, "What sentence did the court give?" a sentence about the trial, "Did the
President grant the pardon?" a "yes" built from the letter asking for it. Some kinds of question
carry a requirement that plain text can check, whatever the model believes:

- a cause (``why``, ``what caused``) needs evidence that states a cause or a purpose;
- a quantity (``how many``, ``how much``) needs a number in the answer;
- a calendar point (``what date``, ``in what year``) needs a date or time in the answer;
- a penalty (``what sentence``, ``how long ... sentenced``) needs a term or penalty in the answer;
- a yes/no question needs evidence that holds most of the words of its claim, and, when it asks
  whether something happened, evidence that does not merely ask for, plan or threaten it.

These are necessary conditions only: an answer that meets them may still be wrong, and the answer
check (:mod:`.second_reading`) still reads it. An answer that misses them is not an answer of the kind
asked for, so it is reported as ``not_in_article`` rather than shown.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Sequence
from typing import Literal

from ..schemas import Evidence
from ..text.words import content_words, normalise
from .base import Check, Claim, Context, Outcome

__all__ = ["ANSWER_KIND", "Kind", "missing_element", "question_kind", "repaired", "unmet"]

Kind = Literal["cause", "quantity", "date", "penalty", "yes_no"]

_LEAD = r"^(?:(?:according to|in|per|so|and|but|then|also)\b[^,?]{0,80},\s*)?"
_QUESTION_KINDS: tuple[tuple[Kind, re.Pattern[str]], ...] = (
    (
        "penalty",
        re.compile(
            r"\bwhat (?:sentences?|penalt(?:y|ies)|punishments?|prison terms?|jail terms?)\b"
            r"|\bhow (?:long|many years|many months)\b.*\b(?:sentenced|in prison|in jail|behind bars)\b"
        ),
    ),
    (
        "cause",
        re.compile(
            r"\bwhy\b|\bwhat (?:caused|causes|cause|led to|leads to|triggered|sparked|prompted|started)\b"
            r"|\b(?:the )?(?:cause|causes|reason|reasons|motive|motives) (?:of|for|behind|why)\b"
        ),
    ),
    ("quantity", re.compile(r"\bhow (?:many|much)\b|\bwhat (?:number|percentage|percent|proportion|share)\b")),
    ("date", re.compile(r"\bwhat (?:date|day|year|month|time)\b|\bwhich (?:date|day|year|month)\b")),
    (
        "yes_no",
        re.compile(_LEAD + r"(?:did|does|do|has|have|had|is|are|was|were|will|would|can|could|should|must)\b"),
    ),
)

_NUMBER_WORDS = (
    r"one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen"
    r"|seventeen|eighteen|nineteen|twenty|thirty|forty|fifty|sixty|seventy|eighty|ninety|hundred|thousand"
    r"|million|billion|trillion|dozen|half|quarter|third|once|twice|single|double"
)
_QUANTITY = re.compile(
    rf"\d|\b(?:{_NUMBER_WORDS})s?\b|\b(?:several|few|many|dozens|hundreds|thousands|millions|billions|all"
    r"|none|no one|nobody|nothing|zero|majority|minority|most|some)\b"
)
_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sept?(?:ember)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_DATE = re.compile(
    rf"\b(?:{_MONTHS})\b|\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b|\d"
    r"|\b(?:today|yesterday|tomorrow|tonight|morning|afternoon|evening|night|noon|midnight|week|weekend"
    r"|month|year|decade|century|ago|spring|summer|autumn|fall|winter|christmas|easter|day)s?\b"
)
_PENALTY = re.compile(
    r"\b(?:year|month|week|day|hour)s?\b|\b(?:life|death|fine[ds]?|prison|jail|imprisonment|probation|parole"
    r"|community service|suspended|acquitted|not guilty|cleared|pardon(?:ed)?|commuted|bail|custody|detention"
    r"|sentenc\w*|penalt\w*)\b|[$£€]|\d"
)
# Cause and purpose, as news text states them. Deliberately broad: the requirement is only that the
# evidence says *why* in some form, which the sentence merely reporting an event does not.
_CAUSAL = re.compile(
    r"\b(?:because|cause[sd]?|causing|due to|owing to|thanks to|as a result|result(?:ed|s|ing)? (?:in|from)"
    r"|led to|lead(?:s|ing)? to|blam\w*|trigger\w*|spark\w*|prompt\w*|reasons?|attribut\w*|after|so that"
    r"|in order to|in an effort to|aim(?:s|ed|ing)? to|purpose|intend\w*|to ensure|want\w* to|hop(?:e|es|ed|ing) to"
    r"|seek\w* to|sought to|concerns?|concerned|ignit\w*|started by|set off|stem(?:s|med|ming)? from|motiv\w*"
    r"|since|therefore|consequently|thus|why)\b"
)
_AUXILIARIES = frozenset("did does do has have had is are was were will would can could should must".split())
# Asked for, planned, threatened or conditional: such a sentence holds the words of a claim without
# saying that it happened ("stated it would attack" does not answer "Did it attack?").
_UNREALISED = re.compile(
    r"\b(?:would|will|shall|may|might|could|should|plans?|planned|planning|intends?|intended|threat\w*"
    r"|ask(?:s|ed|ing)?|request\w*|urg(?:e|es|ed|ing)|call(?:s|ed)? (?:on|for)|propos\w*|seek\w*|sought"
    r"|wants?|wanted|hopes?|hoped|expect\w*|consider\w*|reconsider\w*|demand\w*|if|unless|vow\w*|promis\w*)\b"
)
_ASKS_ABOUT_FACT = re.compile(_LEAD + r"(?:did|does|do|has|have|had|is|are|was|were)\b")


def question_kind(question: str) -> Kind | None:
    """The kind of answer ``question`` asks for, when it is one with a checkable requirement."""
    return _kind(normalise(question))


def _kind(q: str) -> Kind | None:
    for kind, pattern in _QUESTION_KINDS:
        if pattern.search(q):
            return kind
    return None


def unmet(question: str, answer: str, evidence: Sequence[Evidence]) -> str | None:
    """Why ``answer`` (with ``evidence``) cannot be the kind of answer ``question`` asks for, or None."""
    q = normalise(question)
    kind = _kind(q)
    a = normalise(answer)
    if kind == "quantity" and not _QUANTITY.search(a):
        return "the question asks for a quantity and the answer gives none"
    if kind == "date" and not _DATE.search(a):
        return "the question asks for a date and the answer gives none"
    if kind == "penalty" and not _PENALTY.search(a):
        return "the question asks for a penalty and the answer names none"
    if kind == "cause" and not _CAUSAL.search(normalise(" ".join(e.quote for e in evidence))):
        return "the question asks for a cause and the evidence states none"
    if kind == "yes_no":
        claim = content_words(question) - _AUXILIARIES
        held = claim & content_words(" ".join(e.quote for e in evidence))
        # A yes or a no is a statement about the question's claim; most of its words must be there.
        if claim and 3 * len(held) < 2 * len(claim):
            return "the question asks whether something happened and the evidence does not say"
        if _ASKS_ABOUT_FACT.search(q) and not _UNREALISED.search(q):
            stating = [e.quote for e in evidence if 3 * len(claim & content_words(e.quote)) >= 2 * len(claim)]
            if stating and all(_UNREALISED.search(normalise(t)) for t in stating):
                return "the evidence says it was asked for, planned or threatened, not that it happened"
    return None


def _answer_kind(claim: Claim, ctx: Context) -> Outcome:
    return unmet(ctx.question, claim.answer or "", claim.evidence)


ANSWER_KIND = Check(
    "answer_kind",
    "an answer is of the kind the question asks for (a cause, a quantity, a date, a penalty, a yes or no)",
    _answer_kind,
)


# Repair: the element a quantity or date question asks for, when the answer leaves it out and its
# evidence holds exactly one. "When" questions are included here (a repair adds, it never refuses).
_WHEN = re.compile(r"^(?:[^?]*\b)?when\b")
_YEARISH = re.compile(
    rf"\b(?:(?:{_MONTHS})\.? \d{{1,2}}(?:st|nd|rd|th)?,? \d{{4}}|\d{{1,2}} (?:{_MONTHS}) \d{{4}}"
    rf"|(?:{_MONTHS}) \d{{4}}|(?:{_MONTHS})\.? \d{{1,2}}(?:st|nd|rd|th)?|(?:1[0-9]|20)\d\d(?:s)?)\b",
    re.I,
)
_AMOUNT = re.compile(r"(?:[$£€]\s?)?\b\d[\d,.]*(?:\s?(?:%|percent|per cent|million|billion|thousand|hundred)\b)?", re.I)


def missing_element(question: str, answer: str, evidence: Sequence[Evidence]) -> str | None:
    """The date or amount ``question`` asks for when ``answer`` lacks one and its evidence holds exactly one."""
    q = normalise(question)
    kind = _kind(q)
    wants_date = kind == "date" or (kind is None and _WHEN.search(q) is not None)
    if kind == "quantity":
        if _QUANTITY.search(normalise(answer)):
            return None
        pattern = _AMOUNT
    elif wants_date:
        if _YEARISH.search(answer) or (_DATE.search(normalise(answer)) and re.search(r"\d", answer)):
            return None
        pattern = _YEARISH
    else:
        return None
    found: list[str] = []
    for e in evidence:
        for m in pattern.finditer(e.quote):
            text = m.group(0).strip().rstrip(".,")
            if text and text not in found and text.lower() not in q:
                found.append(text)
    return found[0] if len(found) == 1 else None


def repaired(claim: Claim, ctx: Context) -> Claim:
    """``claim`` with the date or amount its question asks for added from its evidence, when the answer
    left it out and the evidence holds exactly one; the repair is noted in ``claim.notes``."""
    if not claim.answered or not claim.evidence:
        return claim
    element = missing_element(ctx.question, claim.answer or "", claim.evidence)
    if element is None:
        return claim
    what = "amount" if question_kind(ctx.question) == "quantity" else "date"
    note = f"the answer did not give the {what} asked for; its evidence does, and it was added: {element}"
    answer = f"{element} — {(claim.answer or '').strip()}"
    return dataclasses.replace(claim, answer=answer, notes=[*claim.notes, note])
