"""ask: a question about an article, answered with verified evidence or an honest refusal.

article -> sentences the model may see (all, or the best passages of a long article) -> prompt
-> the model's draft (validated; re-asked once when a grounding check can be mended)
-> grounding: evidence located, then the named checks of :mod:`newsqa.grounding` -> Answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterator, Sequence
from typing import Literal, cast, overload

from pydantic import BaseModel

from .. import prompts
from ..grounding import Claim, Context, Grounding, claim_from_draft
from ..grounding.locate import unsupported_terms
from ..grounding.pipeline import AnswerDraft
from ..model.client import Completion, Message, ModelClient
from ..model.loop import run_sync
from ..schemas import Answer, Verdict, draft_model
from .common import ArticleInput, as_article, check_question, default_client, meta, passages

__all__ = ["aask", "ask", "draft_claim"]

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


def _task(question: str, history: Sequence[tuple[str, str]]) -> str:
    task = prompts.render("ask", question=prompts.defang(question))
    if history:
        turns = "\n".join(
            f"Earlier question: {prompts.defang(hq)}\nEarlier answer: {prompts.defang(ha)}" for hq, ha in history
        )
        task = f"{turns}\n\n{task}"
    return task


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

    async def judge(messages: list[Message]) -> str:
        done = await cl.acomplete(messages, Verdict, max_tokens=20, use_cache=cache)
        completions.append(done)
        return done.value.verdict

    ctx = Context(art, q, chunks, set(ids) if ids is not None else None, judge)
    messages = prompts.messages_for(prompts.article_block(art, ids), _task(q, history))
    done = await cl.acomplete(
        messages,
        draft_model(Answer, first=ANSWER_ORDER),
        max_tokens=ANSWER_MAX_TOKENS,
        use_cache=cache,
        on_delta=on_delta,
        review=grounding.reviewer(ctx),
    )
    completions.append(done)
    claim = claim_from_draft(cast(AnswerDraft, done.value), ctx)
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
) -> Answer:
    """Answer ``question`` from ``article`` with verified evidence, or say the article does not.

    ``history`` holds earlier (question, answer) turns of a conversation, for follow-up questions.
    ``skip`` names grounding checks to turn off (see :data:`newsqa.grounding.CHECK_NAMES`);
    ``check=False`` is short for skipping ``second_reading`` (one request fewer). A refused answer
    says which check refused it and why (``Answer.refusal``); an answer lists the checks it passed.
    """
    grounding = Grounding(skip=_skipped(check, skip))
    claim, ctx, completions = await draft_claim(
        article, question, client=client, cache=cache, history=history, on_delta=on_delta, grounding=grounding
    )
    decision = await grounding.decide(claim, ctx)
    if decision.refusal is not None:
        log.info("not_in_article: %s (check %s)", decision.refusal.reason, decision.refusal.check)
    answer = (claim.answer or "").strip() if decision.stands else None
    evidence = claim.evidence if decision.stands else []
    return Answer(
        question=ctx.question,
        status="answered" if decision.stands else "not_in_article",
        answer=answer,
        evidence=evidence,
        unsupported=unsupported_terms(answer, evidence),
        refusal=decision.refusal,
        checks=decision.passed,
        **meta(completions, ctx.article),
    )


@overload
def ask(
    article: ArticleInput,
    question: str,
    *,
    stream: Literal[False] = False,
    client: ModelClient | None = None,
    cache: bool = True,
    history: Sequence[tuple[str, str]] = (),
    check: bool | None = None,
    skip: Collection[str] = (),
) -> Answer: ...


@overload
def ask(
    article: ArticleInput,
    question: str,
    *,
    stream: Literal[True],
    client: ModelClient | None = None,
    cache: bool = True,
    history: Sequence[tuple[str, str]] = (),
    check: bool | None = None,
    skip: Collection[str] = (),
) -> Iterator[str | Answer]: ...


def ask(
    article: ArticleInput,
    question: str,
    *,
    stream: bool = False,
    client: ModelClient | None = None,
    cache: bool = True,
    history: Sequence[tuple[str, str]] = (),
    check: bool | None = None,
    skip: Collection[str] = (),
) -> Answer | Iterator[str | Answer]:
    """Sync twin of :func:`aask`.

    With ``stream=True`` it returns an iterator instead: pieces of the answer text (``str``) as the model
    writes them, then the validated :class:`Answer`, which is authoritative (evidence checks may still
    turn a streamed answer into ``not_in_article``).
    """
    if stream:
        from .streaming import stream_sync

        return stream_sync(article, question, client=client, cache=cache, history=history, check=check, skip=skip)
    return run_sync(aask(article, question, client=client, cache=cache, history=history, check=check, skip=skip))
