"""What every grounding check works on, and what a check is.

A :class:`Claim` is a model's draft answer with its evidence located in the article; a
:class:`Context` is what the claim is judged against (the article, the question, the sentences the
model was shown). A :class:`Check` is one named rule with a one-line purpose: given both, it returns
None (pass) or the reason it refuses. Checks that a second try can mend carry the feedback for it.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from ..schemas import Evidence
from ..text.article import Article
from ..text.chunking import Chunk
from ..text.hostile import instruction_like, quarantined

__all__ = ["Check", "Claim", "Context", "Judge", "Judgement", "Outcome"]

Message = dict[str, str]


@dataclass(frozen=True)
class Judgement:
    """The model's reply to one yes/no question about a text."""

    verdict: str  # "yes" or "no"
    # The probability the model gave "yes" (from token log-probabilities), when the endpoint reports them.
    p_yes: float | None = None

    def says_yes(self, threshold: float) -> bool:
        """Yes, by the model's probability against ``threshold`` when known, else by its word."""
        return self.p_yes >= threshold if self.p_yes is not None else self.verdict == "yes"


# Asks the model one yes/no question about a text.
Judge = Callable[[list[Message]], Awaitable[Judgement]]
Outcome = str | None  # None passes; a string is the reason for refusing


@dataclass(frozen=True)
class Context:
    """What a claim is judged against."""

    article: Article
    question: str
    chunks: Sequence[Chunk] | None = None
    allowed: set[int] | None = None  # 0-based sentences the model saw (None: all of them)
    judge: Judge | None = None  # the model, for checks that need a second reading

    @functools.cached_property
    def planted(self) -> tuple[str, ...]:
        """Sentences of the article that give orders to an AI or stand in an imitated chat turn."""
        suspect = quarantined(self.article)
        return tuple(s.text for k, s in enumerate(self.article.sentences) if k in suspect or instruction_like(s.text))


@dataclass
class Claim:
    """A draft answer: what the model said, and its evidence as located in the article."""

    status: str
    answer: str | None
    refs: list[str] = field(default_factory=list)  # what the model cited
    evidence: list[Evidence] = field(default_factory=list)  # what stands in the article
    rejected: list[str] = field(default_factory=list)  # citations that do not
    # The probability the model gave "answered" at that token of its draft, when the endpoint reports it.
    p_answered: float | None = None
    notes: list[str] = field(default_factory=list)  # repairs made to the draft, for the result's warnings

    @property
    def answered(self) -> bool:
        return self.status == "answered" and bool(self.answer and self.answer.strip())


@dataclass(frozen=True)
class Check:
    """One named grounding rule.

    ``run`` returns None to pass or the reason to refuse (a coroutine for checks that ask the model).
    ``feedback`` builds the message for one more try when a failure is one the model can mend
    (citing the wrong sentence, say); without it a failure refuses at once.
    """

    name: str
    purpose: str
    run: Callable[[Claim, Context], Outcome | Awaitable[Outcome]]
    feedback: Callable[[Claim, Context], str] | None = None
    needs_model: bool = False

    def __repr__(self) -> str:
        return f"Check({self.name!r})"
