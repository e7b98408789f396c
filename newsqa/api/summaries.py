"""summarize: a grounded summary; a long article is summarised in parts whose notes are then combined."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol, cast

from pydantic import BaseModel

from .. import prompts
from ..grounding.locate import citable, resolve_refs
from ..grounding.records import tidy_actions
from ..model.client import Completion, ModelClient
from ..model.loop import run_sync
from ..progress import ProgressCallback, report, reporting
from ..schemas import Entities, Evidence, Summary, draft_model
from ..text.article import Article
from ..text.chunking import Chunk
from ..text.words import normalise
from .common import ArticleInput, as_article, budget, chunks_for, default_client, fits, meta
from .drafts import Resolver, public

__all__ = ["asummarize", "summarize"]

SUMMARY_MAX_TOKENS = 1200
Note = tuple[str, list[Evidence]]


class _KeyPointDraft(Protocol):
    point: str
    evidence: list[str]


class _ActionDraft(Protocol):
    actor: str
    action: str
    object: str
    recipient: str | None
    evidence: list[str]


class SummaryDraft(Protocol):
    """The shape of a summary draft, as the model fills it (see ``schemas.draft_model(Summary)``)."""

    key_points: list[_KeyPointDraft]
    actions: list[_ActionDraft]


def _draft(done: Completion[BaseModel]) -> SummaryDraft:
    return cast(SummaryDraft, done.value)


async def asummarize(
    article: ArticleInput,
    *,
    client: ModelClient | None = None,
    cache: bool = True,
    on_progress: ProgressCallback | None = None,
) -> Summary:
    """A grounded summary; long articles are summarised chunk by chunk, then combined.

    ``on_progress`` receives each stage as it begins, and each part of a long article as it is done.
    """
    with reporting(on_progress):
        summary = await _summarize(as_article(article), client, cache)
        report("done", "summarized")
        return summary


async def _summarize(art: Article, client: ModelClient | None, cache: bool) -> Summary:
    cl = client or default_client()
    room = budget(cl, SUMMARY_MAX_TOKENS)
    draft_type = draft_model(Summary)
    if fits(art, cl, room):
        report("summarizing", f"reading the article ({len(art.sentences)} sentences) and summarizing it")
        messages = prompts.messages_for(prompts.article_block(art), prompts.load("summarize"))
        done = await cl.acomplete(messages, draft_type, max_tokens=SUMMARY_MAX_TOKENS, use_cache=cache)

        def resolve(refs: list[str]) -> list[Evidence]:
            return citable(art, resolve_refs(art, refs).evidence)

        summary = public(Summary, done.value, resolve, drop_unsupported=True, meta=meta([done], art))
        return _ground_entities(summary, art)

    chunks = chunks_for(art, cl, room)
    sem = asyncio.Semaphore(cl.concurrency)
    finished = 0
    report("summarizing", f"summarizing a long article in {len(chunks)} parts", 0, len(chunks))

    async def summarize_chunk(chunk: Chunk) -> Completion[BaseModel]:
        nonlocal finished
        async with sem:
            messages = prompts.messages_for(prompts.article_block(art, chunk.sentences), prompts.load("summarize"))
            done = await cl.acomplete(messages, draft_type, max_tokens=SUMMARY_MAX_TOKENS, use_cache=cache)
        finished += 1
        report("summarizing", f"summarized part {finished} of {len(chunks)}", finished, len(chunks))
        return done

    parts = await asyncio.gather(*(summarize_chunk(c) for c in chunks))
    # Every note carries the verified evidence of the chunk summary it came from.
    notes: list[Note] = []
    for chunk, part in zip(chunks, parts, strict=True):
        allowed = set(chunk.sentences)
        for kp in _draft(part).key_points:
            ev = citable(art, resolve_refs(art, kp.evidence, chunks=chunks, allowed_sentences=allowed).evidence)
            if ev:
                notes.append((kp.point, ev))
        for act in _draft(part).actions:
            ev = citable(art, resolve_refs(art, act.evidence, chunks=chunks, allowed_sentences=allowed).evidence)
            if ev:
                notes.append((_action_note(act), ev))
    report("combining", f"combining {len(notes)} notes into one summary")
    done, completions, final_notes = await _reduce(cl, notes, draft_type, room, cache)
    summary = public(
        Summary, done.value, _note_resolver(final_notes), drop_unsupported=True, meta=meta([*parts, *completions], art)
    )
    return _ground_entities(summary, art)


def summarize(
    article: ArticleInput,
    *,
    client: ModelClient | None = None,
    cache: bool = True,
    on_progress: ProgressCallback | None = None,
) -> Summary:
    """Sync twin of :func:`asummarize`."""
    return run_sync(asummarize(article, client=client, cache=cache, on_progress=on_progress))


def _action_note(act: _ActionDraft) -> str:
    rec = f" of {act.recipient}" if act.recipient else ""
    return f"{act.actor} {act.action} {act.object}{rec}."


def _note_resolver(notes: Sequence[Note]) -> Resolver:
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
    cl: ModelClient, notes: list[Note], draft_type: type[BaseModel], room: int, cache: bool
) -> tuple[Completion[BaseModel], list[Completion[BaseModel]], list[Note]]:
    """Combine notes into one summary; when they do not fit one call, combine groups first (hierarchically)."""
    completions: list[Completion[BaseModel]] = []
    sem = asyncio.Semaphore(cl.concurrency)

    async def combine(group: Sequence[Note]) -> Completion[BaseModel]:
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
        if sum(costs) <= room or len(notes) <= 1:
            return await combine(notes), completions, notes
        groups: list[list[Note]] = [[]]
        used = 0
        for note, cost in zip(notes, costs, strict=True):
            if groups[-1] and used + cost > room:
                groups.append([])
                used = 0
            groups[-1].append(note)
            used += cost
        results = await asyncio.gather(*(combine(g) for g in groups))
        merged: list[Note] = []
        for group, done in zip(groups, results, strict=True):
            resolve = _note_resolver(group)
            for kp in _draft(done).key_points:
                if ev := resolve(kp.evidence):
                    merged.append((kp.point, ev))
            for act in _draft(done).actions:
                if ev := resolve(act.evidence):
                    merged.append((_action_note(act), ev))
        if not merged:
            break
        notes = merged
    # The notes would not shrink: combine what fits, most important (earliest) first.
    kept, used = [], 0
    for note in notes:
        cost = cl.tokenizer.count(note[0]) + 8
        if used + cost > room:
            break
        kept.append(note)
        used += cost
    return await combine(kept), completions, kept


def _ground_entities(summary: Summary, article: Article) -> Summary:
    """Keep only entities the article names, each in the first category the model put it in; and
    action records that say one thing each (see :mod:`newsqa.grounding.records`)."""
    actions, notes = tidy_actions(summary.actions)
    text = normalise(article.text).replace(",", "")
    seen: set[str] = set()
    kept: dict[str, list[str]] = {}
    for field in ("people", "organizations", "places"):
        kept[field] = []
        for name in getattr(summary.entities, field):
            key = normalise(name).replace(",", "")
            if key and key in text and key not in seen:
                seen.add(key)
                kept[field].append(name.strip())
    return summary.model_copy(
        update={"entities": Entities(**kept), "actions": actions, "warnings": [*summary.warnings, *notes]}
    )
