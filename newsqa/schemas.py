"""The pydantic models that are newsqa's contract.

Each result type is defined once, here. The same class gives the ``--json`` output, the tool
definitions for chatbots and validation. What the *model* is asked to fill in is derived from it by
:func:`draft_model`: every :class:`Evidence` becomes a short reference the model can produce
(``"S12"`` for sentence 12, or a verbatim quote), and fields marked as run metadata are left out.
newsqa then turns each reference back into an :class:`Evidence` with offsets it computed itself.
"""

from __future__ import annotations

import functools
import types
import typing
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.config import JsonDict

__all__ = [
    "Action",
    "ActionList",
    "Answer",
    "Dropped",
    "Entities",
    "Evidence",
    "KeyPoint",
    "Refusal",
    "Summary",
    "Usage",
    "Verdict",
    "draft_model",
    "is_evidence_list",
    "sentence_actions_for",
    "verdicts_for",
]

# Fields with this marker are filled by newsqa, never by the model.
_META: JsonDict = {"newsqa_meta": True}
MAX_REFS = 3


class Usage(BaseModel):
    """Tokens spent, summed over every request a result needed (re-asks and retries included)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0
    requests: int = 0

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            prompt_tokens=self.prompt_tokens + other.prompt_tokens,
            completion_tokens=self.completion_tokens + other.completion_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
            requests=self.requests + other.requests,
        )


class Evidence(BaseModel):
    """A span of the article: ``article.text[start:end] == quote`` always holds."""

    model_config = ConfigDict(frozen=True)

    quote: str
    start: int = Field(ge=0)
    end: int = Field(ge=0)
    chunk_id: str | None = Field(default=None, description="the chunk the span was read from, if chunked")


class _Result(BaseModel):
    model: str | None = Field(default=None, description="the model that answered", json_schema_extra=_META)
    cached: bool = Field(default=False, description="true when served from the response cache", json_schema_extra=_META)
    usage: Usage = Field(default_factory=Usage, description="tokens spent by this call", json_schema_extra=_META)
    warnings: list[str] = Field(
        default_factory=list,
        description="what newsqa noticed about the input (suspect text quarantined, an encoding guessed)",
        json_schema_extra=_META,
    )


class Refusal(BaseModel):
    """Why newsqa did not let an answer stand: the grounding check that refused it, and its reason."""

    check: str = Field(description="the name of the grounding check that refused the answer")
    reason: str = Field(description="why, in words a reader can check against the article")


class Answer(_Result):
    """An answer to one question, grounded in quotes from the article."""

    question: str = Field(json_schema_extra=_META)
    status: Literal["answered", "not_in_article"] = Field(
        description='"not_in_article" when the article does not state the answer'
    )
    evidence: list[Evidence] = Field(
        default_factory=list, description="the sentences of the article that state the answer"
    )
    answer: str | None = Field(description="a short answer taken from the article; null when not_in_article")
    unsupported: list[str] = Field(
        default_factory=list,
        description="names or numbers in the answer that none of its evidence contains",
        json_schema_extra=_META,
    )
    refusal: Refusal | None = Field(
        default=None,
        description="when not_in_article: which grounding check refused the answer, and why",
        json_schema_extra=_META,
    )
    checks: list[str] = Field(
        default_factory=list,
        description="the grounding checks the answer passed, in the order they ran",
        json_schema_extra=_META,
    )


YesNo = Literal["yes", "no"]


class Verdict(BaseModel):
    """A second reading of an answer: does the evidence text itself state it?"""

    verdict: YesNo


@functools.lru_cache(maxsize=32)
def verdicts_for(n: int) -> type[BaseModel]:
    """One verdict per numbered claim, in order: exactly ``n`` of them."""
    return create_model(
        "Verdicts",
        verdicts=(list[YesNo], Field(min_length=n, max_length=n)),
    )


class KeyPoint(BaseModel):
    point: str = Field(description="one fact from the article, in one sentence")
    evidence: list[Evidence] = Field(default_factory=list, description="the sentences that state it")


ReportedAs = Literal["done", "requested", "asked_whether", "alleged", "planned", "reported_by_others"]


# A summary holds at most this many who-did-what records; a long article's parts can find more.
SUMMARY_ACTIONS = 8


class Action(BaseModel):
    """Who did or requested what, of whom, and how the article reports it."""

    actor: str = Field(
        description="who acted or asked: every party to a joint action (all co-signers), as the article names them"
    )
    # No example verbs: a small model copies them into every record, whatever the article says.
    action: str = Field(description="the verb phrase the article itself uses for it, in its words")
    object: str = Field(description="what was requested or done")
    recipient: str | None = Field(default=None, description="of or to whom, as the article says; null if no one")
    reported_as: ReportedAs = Field(
        default="done",
        description="how the article reports it: done, requested, asked_whether, alleged, planned, or "
        "reported_by_others (the article attributes it to reports or sources)",
    )
    evidence: list[Evidence] = Field(default_factory=list, description="the sentences that state it")


class ActionList(BaseModel):
    """Every distinct action or request an article reports, once each."""

    actions: list[Action] = Field(default_factory=list, max_length=8)


@functools.lru_cache(maxsize=64)
def sentence_actions_for(sentence_ids: tuple[int, ...]) -> type[BaseModel]:
    """The draft of an actions pass over chosen sentences: one field per sentence ("S3", 1-based, in
    article order), holding the record that sentence states (an :class:`Action` without evidence: the
    sentence is its evidence) or null.

    One slot per sentence, filled in order: a small model asked for a list repeats one record until
    the list is full; asked sentence by sentence, it reads each sentence once and can cite no other.
    """
    record = draft_model(Action, omit=("evidence",))
    fields: dict[str, Any] = {
        f"S{k + 1}": (record | None, Field(description=f"the record sentence S{k + 1} states, or null"))
        for k in sentence_ids
    }
    return create_model("SentenceActions", __config__=ConfigDict(extra="ignore"), **fields)


SummaryItem = Literal["headline", "key_point", "action", "summary_sentence"]


class Dropped(BaseModel):
    """An item of a summary that newsqa did not let stand: which check stopped it, and why."""

    item: SummaryItem
    text: str = Field(description="the item as the model wrote it")
    check: str = Field(description="the grounding check that stopped it")
    reason: str


class Entities(BaseModel):
    # Bounded lists bound generation: small models otherwise repeat a name until max_tokens. (String
    # lengths are not bounded: llama.cpp's grammar compiler cannot expand maxLength of this size.)
    people: list[str] = Field(default_factory=list, max_length=8)
    organizations: list[str] = Field(default_factory=list, max_length=8)
    places: list[str] = Field(default_factory=list, max_length=8)


class Summary(_Result):
    """A grounded summary of the article."""

    headline: str = Field(description="a factual headline of at most 15 words")
    summary: str = Field(description="2 to 4 complete sentences")
    key_points: list[KeyPoint] = Field(default_factory=list, max_length=5)
    entities: Entities = Field(default_factory=Entities)
    actions: list[Action] = Field(default_factory=list, max_length=SUMMARY_ACTIONS)
    dropped: list[Dropped] = Field(
        default_factory=list,
        description="items the grounding checks stopped (their evidence does not state them, say), with the reason",
        json_schema_extra=_META,
    )


# -- drafts: what the model fills in --------------------------------------------------------------

_REF_DESCRIPTION = 'sentence ids such as "S3" (or exact quotes) from the article that support this'


def is_evidence_list(annotation: Any) -> bool:
    return get_origin(annotation) is list and get_args(annotation) == (Evidence,)


def _is_meta(field: Any) -> bool:
    extra = field.json_schema_extra
    return isinstance(extra, dict) and bool(extra.get("newsqa_meta"))


@functools.lru_cache(maxsize=256)
def draft_model(model: type[BaseModel], first: tuple[str, ...] = (), omit: tuple[str, ...] = ()) -> type[BaseModel]:
    """The model-facing twin of ``model``: evidence as references, no run metadata.

    Works for any user model: nested models, ``list[...]`` and ``X | None`` are rewritten recursively.
    ``first`` names top-level fields the model should fill before the others (models write JSON in
    schema order, and what they write first shapes the rest); ``omit`` names top-level fields another
    request fills.
    """
    fields: dict[str, Any] = {}
    items = sorted(model.model_fields.items(), key=lambda kv: kv[0] not in first)
    for name, field in items:
        if _is_meta(field) or name in omit:
            continue
        ann = _draft_annotation(field.annotation)
        if field.metadata:
            params = (ann, *field.metadata)
            ann = Annotated[params]
        if is_evidence_list(field.annotation):
            fields[name] = (ann, Field(description=_REF_DESCRIPTION, max_length=MAX_REFS))
        else:
            # Every draft field is required: small models follow "required" more reliably than
            # defaults, and OpenAI's strict schemas demand it anyway.
            fields[name] = (ann, Field(description=field.description))
    draft = create_model(
        model.__name__,
        __doc__=model.__doc__,
        __config__=ConfigDict(extra="ignore"),
        **fields,
    )
    return typing.cast(type[BaseModel], draft)


def _draft_annotation(ann: Any) -> Any:
    if ann is Evidence:
        return str
    origin = get_origin(ann)
    if origin is list:
        return list[_draft_annotation(get_args(ann)[0])]  # type: ignore[misc]
    if origin in (Union, types.UnionType):
        args = tuple(_draft_annotation(a) for a in get_args(ann))
        return functools.reduce(lambda a, b: a | b, args)
    if origin is Annotated:
        inner, *meta = get_args(ann)
        params = (_draft_annotation(inner), *meta)
        return Annotated[params]
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return draft_model(ann)
    return ann
