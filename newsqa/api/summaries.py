"""summarize: a grounded summary; a long article is summarised in parts whose notes are then combined."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol, cast

from pydantic import BaseModel

from .. import prompts
from ..grounding.base import Message
from ..grounding.locate import citable, resolve_refs
from ..grounding.records import tidy_actions
from ..grounding.support import Record, action_statement, complete_sentences, review_records
from ..model.client import Completion, ModelClient
from ..model.loop import run_sync
from ..progress import ProgressCallback, report, reporting
from ..schemas import (
    SUMMARY_ACTIONS,
    Action,
    Dropped,
    Entities,
    Evidence,
    Summary,
    draft_model,
    verdicts_for,
)
from ..text.article import Article
from ..text.chunking import Chunk
from ..text.words import normalise
from .actions import action_sentences, extract_actions
from .common import ArticleInput, as_article, budget, chunks_for, default_client, fits, meta
from .drafts import Resolver, public

__all__ = ["asummarize", "summarize"]

SUMMARY_MAX_TOKENS = 1200
Note = tuple[str, list[Evidence]]


class _KeyPointDraft(Protocol):
    point: str
    evidence: list[str]


class SummaryDraft(Protocol):
    """The shape of a summary draft, as the model fills it (see ``schemas.draft_model(Summary)``)."""

    key_points: list[_KeyPointDraft]


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
    body_type = draft_model(Summary, omit=("actions",))
    if fits(art, cl, room):
        report("summarizing", f"reading the article ({len(art.sentences)} sentences) and summarizing it")
        block = prompts.article_block(art)
        done = await cl.acomplete(
            prompts.messages_for(block, prompts.load("summarize")),
            body_type,
            max_tokens=SUMMARY_MAX_TOKENS,
            use_cache=cache,
        )
        report("extracting", "listing who did or requested what of whom, sentence by sentence")
        actions, acts = await extract_actions(cl, art, block, action_sentences(art), cache=cache)

        def resolve(refs: list[str]) -> list[Evidence]:
            return citable(art, resolve_refs(art, refs).evidence)

        summary = public(Summary, done.value, resolve, drop_unsupported=True, meta=None)
        spent = [done] if acts is None else [done, acts]
        return await _checked(summary.model_copy(update={"actions": actions}), art, cl, cache, spent)

    chunks = chunks_for(art, cl, room)
    sem = asyncio.Semaphore(cl.concurrency)
    finished = 0
    report("summarizing", f"summarizing a long article in {len(chunks)} parts", 0, len(chunks))

    async def summarize_chunk(chunk: Chunk) -> tuple[Completion[BaseModel], list[Action], Completion[BaseModel] | None]:
        nonlocal finished
        async with sem:
            block = prompts.article_block(art, chunk.sentences)
            done = await cl.acomplete(
                prompts.messages_for(block, prompts.load("summarize")),
                body_type,
                max_tokens=SUMMARY_MAX_TOKENS,
                use_cache=cache,
            )
            found, acts = await extract_actions(cl, art, block, action_sentences(art, chunk.sentences), cache=cache)
        finished += 1
        report("summarizing", f"summarized part {finished} of {len(chunks)}", finished, len(chunks))
        return done, found, acts

    parts = await asyncio.gather(*(summarize_chunk(c) for c in chunks))
    # Every note carries the verified evidence of the chunk summary it came from; action records are
    # read per part, each from its own sentence, and joined (the record checks merge repeats).
    notes: list[Note] = []
    records: list[Action] = []
    for chunk, (part, found, _) in zip(chunks, parts, strict=True):
        allowed = set(chunk.sentences)

        def resolve_in_chunk(refs: list[str], allowed: set[int] = allowed) -> list[Evidence]:
            return citable(art, resolve_refs(art, refs, chunks=chunks, allowed_sentences=allowed).evidence)

        for kp in _draft(part).key_points:
            if ev := resolve_in_chunk(kp.evidence):
                notes.append((kp.point, ev))
        records += found
    report("combining", f"combining {len(notes)} notes into one summary")
    done, completions, final_notes = await _reduce(cl, notes, body_type, room, cache)
    summary = public(Summary, done.value, _note_resolver(final_notes), drop_unsupported=True, meta=None)
    spent = [c for done, _, acts in parts for c in (done, acts) if c is not None] + completions
    return await _checked(summary.model_copy(update={"actions": records}), art, cl, cache, spent)


async def _checked(
    summary: Summary, art: Article, cl: ModelClient, cache: bool, completions: list[Completion[BaseModel]]
) -> Summary:
    """The summary less what the record checks stop (see :mod:`newsqa.grounding.support`), with why."""
    summary = _ground_entities(summary, art)
    sentences, cut = complete_sentences(summary.summary)
    # The headline has no evidence of its own: it is read against the key points' (at most 3 sentences).
    heading: list[Evidence] = []
    for kp in summary.key_points:
        heading += [e for e in kp.evidence if e not in heading]
    records = [
        Record("headline", summary.headline, heading[:3]),
        *(Record("key_point", kp.point, list(kp.evidence)) for kp in summary.key_points),
        *(Record("action", action_statement(a), list(a.evidence), a) for a in summary.actions),
        *(Record("summary_sentence", s) for s in sentences),
    ]

    async def judge(messages: list[Message], n: int) -> list[str]:
        report("checking", f"checking {n} items against their evidence")
        done = await cl.acomplete(messages, verdicts_for(n), max_tokens=6 * n + 16, use_cache=cache)
        completions.append(done)
        return list(cast(_Verdicts, done.value).verdicts)

    reviewed = await review_records(records, art, judge)
    kept = set(reviewed.kept)
    n_kp, n_act = len(summary.key_points), len(summary.actions)
    key_points = [
        kp.model_copy(update={"evidence": reviewed.evidence.get(1 + i, kp.evidence)})
        for i, kp in enumerate(summary.key_points)
        if 1 + i in kept
    ]
    actions = [
        a.model_copy(update={"evidence": reviewed.evidence.get(1 + n_kp + i, a.evidence)})
        for i, a in enumerate(summary.actions)
        if 1 + n_kp + i in kept
    ]
    left_out = max(0, len(actions) - SUMMARY_ACTIONS)
    actions = actions[:SUMMARY_ACTIONS]  # the parts of a long article come in order: the first ones stay
    prose = " ".join(s for j, s in enumerate(sentences) if 1 + n_kp + n_act + j in kept)
    # A headline its key points' evidence does not bear out gives way to the first key point that stands.
    headline = summary.headline if 0 in kept else (key_points[0].point.rstrip(".") if key_points else "")
    dropped = [*reviewed.dropped, *(_cut(c) for c in cut)]
    notes = list(summary.warnings)
    if reviewed.recited:
        notes.append(
            f"{reviewed.recited} item(s) re-cited: their first evidence did not state them, another sentence does"
        )
    if dropped:
        notes.append(f"{len(dropped)} item(s) dropped by the record checks (see dropped)")
    if left_out:
        notes.append(
            f"{left_out} more action record(s) than a summary holds ({SUMMARY_ACTIONS}) left out: "
            "the first in the article are kept"
        )
    data = summary.model_dump()
    data.update(meta(completions, art))
    data.update(
        headline=headline,
        key_points=[k.model_dump() for k in key_points],
        actions=[a.model_dump() for a in actions],
        summary=prose,
        dropped=[d.model_dump() for d in dropped],
        warnings=[*data["warnings"], *notes],
    )
    return Summary.model_validate(data)


def _cut(sentence: str) -> Dropped:
    return Dropped(
        item="summary_sentence",
        text=sentence,
        check="complete_sentences",
        reason="cut off, repeated, or past the 4-sentence bound",
    )


class _Verdicts(Protocol):
    verdicts: list[str]


def summarize(
    article: ArticleInput,
    *,
    client: ModelClient | None = None,
    cache: bool = True,
    on_progress: ProgressCallback | None = None,
) -> Summary:
    """Sync twin of :func:`asummarize`."""
    return run_sync(asummarize(article, client=client, cache=cache, on_progress=on_progress))


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
    actions, notes = tidy_actions(summary.actions, article)
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
