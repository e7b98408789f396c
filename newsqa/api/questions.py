"""ask: a question about an article, answered with verified evidence or an honest refusal.

article -> sentences the model may see (all, or the best passages of a long article) -> prompt
-> the model's draft (validated; re-asked once when a grounding check can be mended)
-> grounding: evidence located, then the named checks of :mod:`newsqa.grounding` -> Answer.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Collection, Sequence
from typing import Protocol, TypedDict, cast

from pydantic import BaseModel, Field, create_model

from .. import prompts
from ..grounding import Claim, Context, Grounding, claim_from_draft
from ..grounding.answer_kinds import repaired
from ..grounding.base import Judge, Judgement
from ..grounding.locate import unsupported_terms
from ..grounding.pipeline import AnswerDraft
from ..model.client import Completion, Message, ModelClient
from ..model.logprobs import TokenLogprob, option_probabilities, option_probability
from ..progress import ProgressCallback, report, reporting
from ..schemas import Answer, Refusal, Usage, Verdict, draft_model
from .common import ArticleInput, as_article, check_question, default_client, meta, passages

__all__ = ["AskOptions", "aask", "aask_many", "draft_claim", "drafts_for"]

log = logging.getLogger("newsqa")

ANSWER_MAX_TOKENS = 300
# A question about a long article is answered from the best passages, not from as much text as fits:
# the answer stands in a few sentences, distractors mislead small models, and every token read costs
# (on 2 CPU cores, 1,500 tokens take the embedded model ~75 s to read; 6,000 take ~5 min).
ASK_CONTEXT_TOKENS = 1500
# ... but an article of ordinary news length is read whole: cutting it would cost more accuracy than tokens.
WHOLE_ARTICLE_TOKENS = 4000
# Sentences first, then the decision, then the answer: asked to decide first, the embedded model
# refused 15 of 48 answerable short-article dev questions; the decision is checked afterwards instead.
ANSWER_ORDER = ("evidence",)


class AskOptions(TypedDict, total=False):
    """The options of :func:`aask` that its twins (``ask``, ``astream``) pass on unchanged."""

    client: ModelClient | None
    cache: bool
    history: Sequence[tuple[str, str]]
    check: bool | None
    skip: Collection[str]
    on_progress: ProgressCallback | None


def _task(question: str, history: Sequence[tuple[str, str]]) -> str:
    task = prompts.render("ask", question=prompts.defang(question))
    if history:
        turns = "\n".join(
            f"Earlier question: {prompts.defang(hq)}\nEarlier answer: {prompts.defang(ha)}" for hq, ha in history
        )
        task = f"{turns}\n\n{task}"
    return task


def answered_shares(tokens: list[TokenLogprob] | None) -> list[float]:
    """The probability the model gave "answered" at each status token of a reply (one per draft)."""
    found = option_probabilities(tokens or [], ("answered", "not_in_article"), after='"status"')
    return [s["answered"] for s in found]


def draft_confidence(tokens: list[TokenLogprob] | None) -> float | None:
    """The probability the model gave "answered" at the status token of its draft (None: not reported)."""
    shares = answered_shares(tokens)
    return shares[0] if shares else None


def _judge(cl: ModelClient, cache: bool, into: list[Completion[Verdict] | Completion[BaseModel]]) -> Judge:
    """The model as the checks' judge: one yes/no reading, its probabilities asked for, its cost kept."""

    async def judge(messages: list[Message]) -> Judgement:
        report("checking", "checking the answer against its evidence")
        done = await cl.acomplete(messages, Verdict, max_tokens=20, use_cache=cache, with_logprobs=True)
        into.append(done)
        shares = option_probability(done.logprobs, ("yes", "no")) if done.logprobs else None
        return Judgement(done.value.verdict, shares["yes"] if shares else None)

    return judge


def _skipped(check: bool | None, skip: Collection[str]) -> set[str]:
    out = set(skip)
    if check is False:
        out.add("second_reading")
    return out


async def draft_claim(
    article: ArticleInput,
    question: str,
    *,
    client: ModelClient | None = None,
    cache: bool = True,
    history: Sequence[tuple[str, str]] = (),
    on_delta: Callable[[str | None], None] | None = None,
    grounding: Grounding | None = None,
) -> tuple[Claim, Context, list[Completion[Verdict] | Completion[BaseModel]]]:
    """The model's draft answer with its evidence located, before any check decides on it.

    Returns the claim, the context the checks judge it in, and the completions spent so far (the
    context's judge appends the second reading's, when it runs).
    """
    art = as_article(article)
    q = check_question(question)
    grounding = grounding or Grounding()
    cl = client or default_client()
    query = q + " " + " ".join(h[0] for h in history)
    ids, chunks = passages(art, cl, query, ANSWER_MAX_TOKENS, ASK_CONTEXT_TOKENS, WHOLE_ARTICLE_TOKENS)
    completions: list[Completion[Verdict] | Completion[BaseModel]] = []
    ctx = Context(art, q, chunks, set(ids) if ids is not None else None, _judge(cl, cache, completions))
    messages = prompts.messages_for(prompts.article_block(art, ids), _task(q, history))
    report("answering", f"reading the article ({len(art.sentences)} sentences) and answering")
    done = await cl.acomplete(
        messages,
        draft_model(Answer, first=ANSWER_ORDER),
        max_tokens=ANSWER_MAX_TOKENS,
        use_cache=cache,
        on_delta=on_delta,
        review=grounding.reviewer(ctx),
        with_logprobs=True,
    )
    completions.append(done)
    claim = claim_from_draft(cast(AnswerDraft, done.value), ctx, draft_confidence(done.logprobs))
    claim = repaired(claim, ctx)
    if claim.rejected:
        log.info("dropped evidence that is not in the article: %s", claim.rejected)
    return claim, ctx, completions


async def aask(
    article: ArticleInput,
    question: str,
    *,
    client: ModelClient | None = None,
    cache: bool = True,
    history: Sequence[tuple[str, str]] = (),
    on_delta: Callable[[str | None], None] | None = None,
    check: bool | None = None,
    skip: Collection[str] = (),
    on_progress: ProgressCallback | None = None,
) -> Answer:
    """Answer ``question`` from ``article`` with verified evidence, or say the article does not.

    ``history`` holds earlier (question, answer) turns of a conversation, for follow-up questions.
    ``skip`` names grounding checks to turn off (see :data:`newsqa.grounding.CHECK_NAMES`);
    ``check=False`` is short for skipping ``second_reading`` (one request fewer). A refused answer
    says which check refused it and why (``Answer.refusal``); an answer lists the checks it passed.
    ``on_progress`` receives each stage as it begins (see :mod:`newsqa.progress`).
    """
    with reporting(on_progress):
        grounding = Grounding(skip=_skipped(check, skip))
        claim, ctx, completions = await draft_claim(
            article, question, client=client, cache=cache, history=history, on_delta=on_delta, grounding=grounding
        )
        decision = await grounding.decide(claim, ctx)
        report("done", "answered" if decision.stands else "the article does not say")
    if decision.refusal is not None:
        log.info("not_in_article: %s (check %s)", decision.refusal.reason, decision.refusal.check)
    return _answer(claim, ctx, decision.refusal, decision.passed, completions)


async def aask_many(
    article: ArticleInput,
    questions: Sequence[str],
    *,
    client: ModelClient | None = None,
    cache: bool = True,
    check: bool | None = None,
    skip: Collection[str] = (),
) -> list[Answer]:
    """Several questions about one article, each answered and verified exactly as :func:`aask` does.

    On an API endpoint the drafts come from one request (the article is read once, not once per
    question); an answer that a grounding check would re-ask is asked again on its own, with the
    re-ask. The embedded model answers them in turn: its saved state already reads the article once.
    The shared request's tokens are divided among the answers' ``usage``.
    """
    art = as_article(article)
    qs = [check_question(q) for q in questions]
    cl = client or default_client()
    if len(qs) < 2 or cl.embedded:
        return [await aask(art, q, client=cl, cache=cache, check=check, skip=skip) for q in qs]
    grounding = Grounding(skip=_skipped(check, skip))
    limit = min(ASK_CONTEXT_TOKENS * len(qs), 4 * ASK_CONTEXT_TOKENS)
    ids, chunks = passages(art, cl, " ".join(qs), ANSWER_MAX_TOKENS * len(qs), limit, WHOLE_ARTICLE_TOKENS)
    listed = "\n".join(f"Q{i + 1}: {prompts.defang(q)}" for i, q in enumerate(qs))
    messages = prompts.messages_for(prompts.article_block(art, ids), prompts.render("ask_many", questions=listed))
    done = await cl.acomplete(
        messages, drafts_for(len(qs)), max_tokens=ANSWER_MAX_TOKENS * len(qs), use_cache=cache, with_logprobs=True
    )
    drafts = cast(list[AnswerDraft], cast(_ManyDrafts, done.value).answers)
    shares = answered_shares(done.logprobs)
    confidence: list[float | None] = list(shares) if len(shares) == len(drafts) else [None] * len(drafts)
    shared = _shares(done.usage, len(qs))
    answers: list[Answer] = []
    for i, (q, draft) in enumerate(zip(qs, drafts, strict=True)):
        completions: list[Completion[Verdict] | Completion[BaseModel]] = []
        ctx = Context(art, q, chunks, set(ids) if ids is not None else None, _judge(cl, cache, completions))
        claim = repaired(claim_from_draft(draft, ctx, confidence[i]), ctx)
        failed = grounding.failure(claim, ctx)
        if failed is not None and failed[0].feedback is not None:
            answers.append(await aask(art, q, client=cl, cache=cache, check=check, skip=skip))
            continue
        decision = await grounding.decide(claim, ctx)
        answer = _answer(claim, ctx, decision.refusal, decision.passed, completions)
        answer.usage = answer.usage + shared[i]
        answer.cached = answer.cached and done.cached
        answers.append(answer)
    return answers


class _ManyDrafts(Protocol):
    answers: list[BaseModel]


@functools.lru_cache(maxsize=16)
def drafts_for(n: int) -> type[BaseModel]:
    """The draft of ``n`` answers in one reply: exactly ``n`` entries, each an answer draft."""
    item = draft_model(Answer, first=ANSWER_ORDER)
    return create_model(
        "Answers",
        answers=(list[item], Field(min_length=n, max_length=n)),  # type: ignore[valid-type]
    )


def _shares(usage: Usage, n: int) -> list[Usage]:
    """``usage`` divided among ``n`` results (the request counted once, on the first)."""

    def part(total: int, i: int) -> int:
        return total // n + (1 if i < total % n else 0)

    return [
        Usage(
            prompt_tokens=part(usage.prompt_tokens, i),
            completion_tokens=part(usage.completion_tokens, i),
            total_tokens=part(usage.total_tokens, i),
            requests=usage.requests if i == 0 else 0,
        )
        for i in range(n)
    ]


def _answer(
    claim: Claim,
    ctx: Context,
    refusal: Refusal | None,
    passed: list[str],
    completions: Sequence[Completion[Verdict] | Completion[BaseModel]],
) -> Answer:
    stands = refusal is None
    answer = (claim.answer or "").strip() if stands else None
    evidence = claim.evidence if stands else []
    return Answer(
        question=ctx.question,
        status="answered" if stands else "not_in_article",
        answer=answer,
        evidence=evidence,
        unsupported=unsupported_terms(answer, evidence),
        refusal=refusal,
        checks=passed,
        **meta(completions, ctx.article, notes=claim.notes if stands else []),
    )
