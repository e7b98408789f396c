"""The public operations: ask, summarize, extract (and their async twins).

article -> sentences the model may see (all of them, or the best chunks of a long article)
-> prompt -> ModelClient (validated draft) -> evidence verified against the article (and, for an
answer, re-found from its own words, held to the kind of answer the question asks for, and confirmed
by a second reading of that evidence) -> result.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar, get_args, get_origin

from pydantic import BaseModel

from . import prompts
from .answer_kinds import unmet
from .article import Article
from .chunking import Chunk, chunk_article
from .client import Completion, ModelClient, run_sync
from .errors import QuestionError
from .evidence import regrounded, resolve_refs, unsupported_terms
from .injection import echoes, instruction_like
from .retrieval import rank_chunks
from .schemas import Answer, Entities, Evidence, Summary, Usage, Verdict, draft_model, is_evidence_list
from .text import normalise

__all__ = ["aask", "aextract", "ask", "asummarize", "default_client", "extract", "summarize"]

log = logging.getLogger("newsqa")
T = TypeVar("T", bound=BaseModel)

MAX_QUESTION_CHARS = 2000
ANSWER_MAX_TOKENS = 300
SUMMARY_MAX_TOKENS = 1200
# Room kept in the context window for the system prompt, the task text and a re-ask round.
PROMPT_OVERHEAD = 700
# cl100k and the models' own tokenizers disagree by a few percent on news prose; stay clear of the edge.
TOKEN_MARGIN = 1.15
# A question about a long article is answered from the best passages, not from as much text as fits:
# the answer stands in a few sentences, distractors mislead small models, and every token read costs
# (on 2 CPU cores, 1,500 tokens take the embedded model ~75 s to read; 6,000 take ~5 min).
ASK_CONTEXT_TOKENS = 1500
# ... but an article of ordinary news length is read whole: cutting it would cost more accuracy than tokens.
WHOLE_ARTICLE_TOKENS = 4000
RETRIEVAL_CHUNK_TOKENS = 250
# The fields of an answer draft the model fills first (models write JSON in schema order).
ANSWER_ORDER = ("evidence",)
# An answer is reported only if a second reading of its evidence alone confirms it states the answer.
CHECK_ANSWERS = True
# Summaries of long articles read the article in parts of up to this many tokens (or the budget, if
# smaller): fewer, larger parts mean fewer calls, less repeated prompt and fewer notes to combine.
SUMMARY_CHUNK_TOKENS = 3000

_default: ModelClient | None = None
_default_lock = threading.Lock()


def default_client() -> ModelClient:
    """The client used when none is passed: configured from the environment, made once per process."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ModelClient()
        return _default


def _article(article: Article | str | Path) -> Article:
    if isinstance(article, Article):
        return article
    if isinstance(article, Path):
        return Article.from_file(article)
    if isinstance(article, str):
        return Article.from_text(article)
    raise TypeError(f"article must be an Article, str or Path, not {type(article).__name__}")


def _budget(client: ModelClient, max_tokens: int) -> int:
    margin = 1.0 if client.exact_tokens else TOKEN_MARGIN
    return int((client.context_window - max_tokens - PROMPT_OVERHEAD) / margin)


def _fits(article: Article, client: ModelClient, budget: int) -> bool:
    # Tagging adds ~3 tokens per sentence. Prose runs ~4 characters a token and seldom under 2, so a
    # short text is known to fit without tokenizing it.
    if len(article.text) / 2 + 4 * len(article.sentences) <= budget:
        return True
    return client.tokenizer.count(article.text) + 4 * len(article.sentences) <= budget


def _chunks(article: Article, client: ModelClient, budget: int, size: int = SUMMARY_CHUNK_TOKENS) -> list[Chunk]:
    size = max(200, min(size, budget))
    return chunk_article(article, max_tokens=size, overlap_tokens=size // 8, tokenizer=client.tokenizer)


def _select_sentences(
    article: Article, client: ModelClient, query: str, max_tokens: int, limit: int | None = None
) -> tuple[list[int] | None, list[Chunk] | None]:
    """All sentences if the article fits; else those of the best-ranked passages, up to ``limit`` tokens.

    With a ``limit``, "fits" also means no longer than WHOLE_ARTICLE_TOKENS.
    """
    budget = _budget(client, max_tokens)
    if _fits(article, client, min(budget, WHOLE_ARTICLE_TOKENS) if limit else budget):
        return None, None
    chunks = _chunks(article, client, budget, RETRIEVAL_CHUNK_TOKENS)
    budget = min(budget, limit or budget)
    picked: set[int] = set()
    used = 0
    for _score, chunk in rank_chunks(chunks, query):
        cost = chunk.token_count + 4 * len(chunk.sentences)
        if used + cost > budget:
            continue
        picked.update(chunk.sentences)
        used += cost
    return sorted(picked), chunks


def _check_question(question: str) -> str:
    if not isinstance(question, str) or not question.strip():
        raise QuestionError("the question is empty")
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionError(f"the question has {len(question):,} characters; the limit is {MAX_QUESTION_CHARS:,}")
    return " ".join(question.split())


# -- ask --------------------------------------------------------------------------------------------
async def aask(
    article: Article | str | Path,
    question: str,
    *,
    client: ModelClient | None = None,
    cache: bool = True,
    history: Sequence[tuple[str, str]] = (),
    on_delta: Callable[[str | None], None] | None = None,
    check: bool | None = None,
) -> Answer:
    """Answer ``question`` from ``article`` with verified evidence, or say the article does not.

    ``history`` holds earlier (question, answer) turns of a conversation, for follow-up questions.
    ``check=False`` skips the second reading that confirms an answer (one request fewer; evidence is
    still verified); the default is :data:`CHECK_ANSWERS`.
    """
    art = _article(article)
    q = _check_question(question)
    cl = client or default_client()
    query = q + " " + " ".join(h[0] for h in history)
    ids, chunks = _select_sentences(art, cl, query, ANSWER_MAX_TOKENS, ASK_CONTEXT_TOKENS)
    allowed = set(ids) if ids is not None else None
    task = prompts.render("ask", question=prompts.defang(q))
    if history:
        turns = "\n".join(
            f"Earlier question: {prompts.defang(hq)}\nEarlier answer: {prompts.defang(ha)}" for hq, ha in history
        )
        task = f"{turns}\n\n{task}"
    messages = prompts.messages_for(prompts.article_block(art, ids), task)
    # Sentences first, then the decision, then the answer: asked to decide first, the embedded model
    # refused 15 of 48 answerable short-article dev questions; the decision is checked afterwards instead.
    draft_type = draft_model(Answer, first=ANSWER_ORDER)
    done = await cl.acomplete(messages, draft_type, max_tokens=ANSWER_MAX_TOKENS, use_cache=cache, on_delta=on_delta)
    completions: list[Completion[Any]] = [done]
    draft: Any = done.value
    found = _grounded(art, draft, q, chunks, allowed)
    numbers = _unsupported_numbers(draft, found.evidence, q)
    if draft.status == "answered" and draft.answer and (not found.evidence or numbers) and not _foreign(draft, art):
        # Once more, with the reason: models usually cite correctly when told their citation failed,
        # and drop a number they cannot show (the commonest fabrication).
        refs = ", ".join(draft.evidence) if draft.evidence else "(none)"
        feedback = prompts.render("unsupported", refs=refs)
        if numbers and found.evidence:
            feedback = f"Your evidence does not contain {', '.join(numbers)}. " + feedback
        retry = [
            *messages,
            {"role": "assistant", "content": done.raw[:4000]},
            {"role": "user", "content": feedback},
        ]
        done = await cl.acomplete(retry, draft_type, max_tokens=ANSWER_MAX_TOKENS, use_cache=cache, on_delta=on_delta)
        completions.append(done)
        draft = done.value
        found = _grounded(art, draft, q, chunks, allowed)
        if _unsupported_numbers(draft, found.evidence, q):
            log.info("the answer's numbers are not in its evidence; reporting not_in_article")
            found.evidence = []
    if found.rejected:
        log.info("dropped evidence that is not in the article: %s", found.rejected)
    planted = [s.text for s in art.sentences if instruction_like(s.text)]
    answered = draft.status == "answered" and bool(draft.answer and draft.answer.strip()) and bool(found.evidence)
    if draft.status == "answered" and not answered:
        log.info("answer had no verifiable evidence; reporting not_in_article")
    evidence = found.evidence if answered else []
    answer = draft.answer.strip() if answered else None
    foreign = _foreign(draft, art) if answered else []
    if foreign:
        log.info("answer names %s, which the article never mentions; reporting not_in_article", foreign)
        answered = False
    elif answer and any(echoes(answer, p) for p in planted):
        log.warning("the answer repeats an instruction planted in the article; reporting not_in_article")
        answered = False
    elif answer and (reason := unmet(q, answer, evidence)):
        log.info("%s; reporting not_in_article", reason)
        answered = False
    elif answer and (CHECK_ANSWERS if check is None else check):
        verdict = await cl.acomplete(_check_messages(q, answer, evidence), Verdict, max_tokens=20, use_cache=cache)
        completions.append(verdict)
        if verdict.value.verdict != "yes":
            log.info("a second reading finds that the evidence does not state the answer; reporting not_in_article")
            answered = False
    if not answered:
        answer, evidence = None, []
    return Answer(
        question=q,
        status="answered" if answered else "not_in_article",
        answer=answer,
        evidence=evidence,
        unsupported=unsupported_terms(answer, evidence),
        **_meta(completions),
    )


def _verified(art: Article, draft: Any, chunks: list[Chunk] | None, allowed: set[int] | None) -> Any:
    found = resolve_refs(art, draft.evidence, chunks=chunks, allowed_sentences=allowed)
    # A sentence that gives orders to an AI is a planted instruction, not a source for an answer.
    found.evidence = [e for e in found.evidence if not instruction_like(e.quote)]
    return found


def _grounded(art: Article, draft: Any, question: str, chunks: list[Chunk] | None, allowed: set[int] | None) -> Any:
    """Verified evidence for an answer draft, with the sentences that hold the answer's words added.

    Small models often copy the right answer from one sentence and cite its neighbour's id.
    """
    found = _verified(art, draft, chunks, allowed)
    if draft.status == "answered" and draft.answer and draft.answer.strip():
        ev = regrounded(art, draft.answer, question, found.evidence, chunks=chunks, allowed_sentences=allowed)
        found.evidence = [e for e in ev if not instruction_like(e.quote)]
    return found


def _check_messages(question: str, answer: str, evidence: Sequence[Evidence]) -> list[dict[str, str]]:
    """A second, independent reading: the evidence alone, the question and the answer.

    Answering is generative and leans towards an answer; judging one short text is a far easier task
    for a small model, and it cannot drift to other parts of the article.
    """
    text = "\n".join(prompts.defang(e.quote) for e in evidence)
    task = prompts.render("check", text=text, question=prompts.defang(question), answer=prompts.defang(answer))
    return [{"role": "system", "content": prompts.load("check_system")}, {"role": "user", "content": task}]


def _foreign(draft: Any, art: Article) -> list[str]:
    """Names and numbers in the answer that the article never mentions.

    They cannot come from the article: the model filled a gap from its own knowledge (the classic
    answer to an unanswerable question), so no re-ask can make the answer grounded.
    """
    if draft.status != "answered" or not draft.answer:
        return []
    text = _lower_text(art)
    return [t for t in unsupported_terms(draft.answer, []) if normalise(t).replace(",", "") not in text]


def _unsupported_numbers(draft: Any, evidence: list[Evidence], question: str) -> list[str]:
    """Numbers in the answer that neither its evidence nor the question contains."""
    if draft.status != "answered" or not draft.answer or not evidence:
        return []
    asked = normalise(question).replace(",", "")
    terms = unsupported_terms(draft.answer, evidence)
    return [t for t in terms if t[:1].isdigit() and normalise(t).replace(",", "") not in asked]


@functools.lru_cache(maxsize=8)
def _lower_text_cached(text: str) -> str:
    return normalise(text).replace(",", "")


def _lower_text(article: Article) -> str:
    return _lower_text_cached(article.text)


def ask(article: Article | str | Path, question: str, *, stream: bool = False, **kw: Any) -> Any:
    """Sync twin of :func:`aask`.

    With ``stream=True`` it returns an iterator instead: pieces of the answer text (``str``) as the model
    writes them, then the validated :class:`Answer`, which is authoritative (evidence checks may still
    turn a streamed answer into ``not_in_article``).
    """
    if stream:
        from .streaming import stream_sync

        return stream_sync(article, question, kw)
    return run_sync(aask(article, question, **kw))


# -- summarize --------------------------------------------------------------------------------------
async def asummarize(
    article: Article | str | Path, *, client: ModelClient | None = None, cache: bool = True
) -> Summary:
    """A grounded summary; long articles are summarised chunk by chunk, then combined."""
    art = _article(article)
    cl = client or default_client()
    budget = _budget(cl, SUMMARY_MAX_TOKENS)
    draft_type = draft_model(Summary)
    if _fits(art, cl, budget):
        messages = prompts.messages_for(prompts.article_block(art), prompts.load("summarize"))
        done = await cl.acomplete(messages, draft_type, max_tokens=SUMMARY_MAX_TOKENS, use_cache=cache)

        def resolve(refs: list[str]) -> list[Evidence]:
            return resolve_refs(art, refs).evidence

        return _ground_entities(_public(Summary, done.value, resolve, drop_unsupported=True, meta=_meta([done])), art)

    chunks = _chunks(art, cl, budget)
    sem = asyncio.Semaphore(cl.concurrency)

    async def summarize_chunk(chunk: Chunk) -> Completion[Any]:
        async with sem:
            messages = prompts.messages_for(prompts.article_block(art, chunk.sentences), prompts.load("summarize"))
            return await cl.acomplete(messages, draft_type, max_tokens=SUMMARY_MAX_TOKENS, use_cache=cache)

    parts = await asyncio.gather(*(summarize_chunk(c) for c in chunks))
    # Every note carries the verified evidence of the chunk summary it came from.
    notes: list[tuple[str, list[Evidence]]] = []
    for chunk, part in zip(chunks, parts, strict=True):
        allowed = set(chunk.sentences)
        for kp in part.value.key_points:
            ev = resolve_refs(art, kp.evidence, chunks=chunks, allowed_sentences=allowed).evidence
            if ev:
                notes.append((kp.point, ev))
        for act in part.value.actions:
            ev = resolve_refs(art, act.evidence, chunks=chunks, allowed_sentences=allowed).evidence
            if ev:
                rec = f" of {act.recipient}" if act.recipient else ""
                notes.append((f"{act.actor} {act.action} {act.object}{rec}.", ev))
    done, completions, final_notes = await _reduce(cl, notes, draft_type, budget, cache)
    from_notes = _note_resolver(final_notes)
    summary = _public(Summary, done.value, from_notes, drop_unsupported=True, meta=_meta([*parts, *completions]))
    return _ground_entities(summary, art)


Note = tuple[str, list[Evidence]]


def _note_resolver(notes: Sequence[Note]) -> Callable[[list[str]], list[Evidence]]:
    """Map note ids ("P3") to the verified evidence the note carries."""
    index = {f"P{i + 1}": ev for i, (_, ev) in enumerate(notes)}

    def resolve(refs: list[str]) -> list[Evidence]:
        out: list[Evidence] = []
        for ref in refs:
            for r in ref.replace(",", " ").split():
                for ev in index.get(r.strip("[]").upper(), []):
                    if ev not in out:
                        out.append(ev)
        return out

    return resolve


async def _reduce(
    cl: ModelClient, notes: list[Note], draft_type: type[BaseModel], budget: int, cache: bool
) -> tuple[Completion[Any], list[Completion[Any]], list[Note]]:
    """Combine notes into one summary; when they do not fit one call, combine groups first (hierarchically)."""
    completions: list[Completion[Any]] = []
    sem = asyncio.Semaphore(cl.concurrency)

    async def combine(group: Sequence[Note]) -> Completion[Any]:
        text = "\n".join(f"[P{i + 1}] {prompts.defang(n)}" for i, (n, _) in enumerate(group))
        messages = [
            {"role": "system", "content": prompts.load("system")},
            {"role": "user", "content": prompts.render("reduce", notes=text)},
        ]
        async with sem:
            done = await cl.acomplete(messages, draft_type, max_tokens=SUMMARY_MAX_TOKENS, use_cache=cache)
        completions.append(done)
        return done

    for _ in range(8):  # each round shrinks the notes several-fold; 8 rounds is far beyond any article
        costs = [cl.tokenizer.count(n) + 8 for n, _ in notes]
        if sum(costs) <= budget or len(notes) <= 1:
            return await combine(notes), completions, notes
        groups: list[list[Note]] = [[]]
        used = 0
        for note, cost in zip(notes, costs, strict=True):
            if groups[-1] and used + cost > budget:
                groups.append([])
                used = 0
            groups[-1].append(note)
            used += cost
        results = await asyncio.gather(*(combine(g) for g in groups))
        merged: list[Note] = []
        for group, done in zip(groups, results, strict=True):
            resolve = _note_resolver(group)
            for kp in done.value.key_points:
                if ev := resolve(kp.evidence):
                    merged.append((kp.point, ev))
            for act in done.value.actions:
                if ev := resolve(act.evidence):
                    rec = f" of {act.recipient}" if act.recipient else ""
                    merged.append((f"{act.actor} {act.action} {act.object}{rec}.", ev))
        if not merged:
            break
        notes = merged
    # The notes would not shrink: combine what fits, most important (earliest) first.
    kept, used = [], 0
    for note in notes:
        cost = cl.tokenizer.count(note[0]) + 8
        if used + cost > budget:
            break
        kept.append(note)
        used += cost
    return await combine(kept), completions, kept


def summarize(article: Article | str | Path, **kw: Any) -> Summary:
    """Sync twin of :func:`asummarize`."""
    return run_sync(asummarize(article, **kw))


# -- extract ----------------------------------------------------------------------------------------
async def aextract(
    article: Article | str | Path,
    schema: type[T],
    *,
    client: ModelClient | None = None,
    cache: bool = True,
    max_tokens: int = 1200,
) -> T:
    """Fill any pydantic model from the article. ``list[Evidence]`` fields come back verified."""
    art = _article(article)
    cl = client or default_client()
    draft_type = draft_model(schema)
    query = " ".join(f"{n} {f.description or ''}" for n, f in schema.model_fields.items())
    ids, chunks = _select_sentences(art, cl, query, max_tokens)
    allowed = set(ids) if ids is not None else None
    spec = _compact_schema(draft_type)
    messages = prompts.messages_for(prompts.article_block(art, ids), prompts.render("extract", schema=spec))
    done = await cl.acomplete(messages, draft_type, max_tokens=max_tokens, use_cache=cache)

    def resolve(refs: list[str]) -> list[Evidence]:
        return resolve_refs(art, refs, chunks=chunks, allowed_sentences=allowed).evidence

    return _public(schema, done.value, resolve, drop_unsupported=False, meta=None)


def extract(article: Article | str | Path, schema: type[T], **kw: Any) -> T:
    """Sync twin of :func:`aextract`."""
    return run_sync(aextract(article, schema, **kw))


# -- helpers ----------------------------------------------------------------------------------------
@functools.lru_cache(maxsize=64)
def _compact_schema(model: type[BaseModel]) -> str:
    import json

    return json.dumps(model.model_json_schema(), separators=(",", ":"))


def _meta(completions: Sequence[Completion[Any]]) -> dict[str, Any]:
    usage = Usage()
    for c in completions:
        usage = usage + c.usage
    return {
        "model": completions[-1].model if completions else None,
        "cached": all(c.cached for c in completions),
        "usage": usage,
    }


def _public(
    model: type[T],
    draft: BaseModel,
    resolve: Callable[[list[str]], list[Evidence]],
    *,
    drop_unsupported: bool,
    meta: dict[str, Any] | None,
) -> T:
    data = _convert(draft.model_dump(), model, resolve, drop_unsupported)
    if meta:
        data.update(meta)
    return model.model_validate(data)


def _ground_entities(summary: Summary, article: Article) -> Summary:
    """Keep only entities the article names, each in the first category the model put it in."""
    text = _lower_text(article)
    seen: set[str] = set()
    kept: dict[str, list[str]] = {}
    for field in ("people", "organizations", "places"):
        kept[field] = []
        for name in getattr(summary.entities, field):
            key = normalise(name).replace(",", "")
            if key and key in text and key not in seen:
                seen.add(key)
                kept[field].append(name.strip())
    return summary.model_copy(update={"entities": Entities(**kept)})


def _convert(value: Any, ann: Any, resolve: Callable[[list[str]], list[Evidence]], drop: bool) -> Any:
    if value is None:
        return None
    if is_evidence_list(ann):
        return [e.model_dump() for e in resolve([v for v in value if isinstance(v, str)])]
    origin = get_origin(ann)
    if isinstance(ann, type) and issubclass(ann, BaseModel) and isinstance(value, dict):
        return {
            name: _convert(value[name], f.annotation, resolve, drop)
            for name, f in ann.model_fields.items()
            if name in value
        }
    if origin is list and isinstance(value, list):
        (inner,) = get_args(ann) or (Any,)
        items = [_convert(v, inner, resolve, drop) for v in value]
        if drop and isinstance(inner, type) and issubclass(inner, BaseModel):
            ev_fields = [n for n, f in inner.model_fields.items() if is_evidence_list(f.annotation)]
            if ev_fields:
                items = [it for it in items if any(it.get(n) for n in ev_fields)]
        return items
    args = get_args(ann)
    if args and isinstance(value, dict):
        for a in args:
            if isinstance(a, type) and issubclass(a, BaseModel):
                return _convert(value, a, resolve, drop)
    return value
