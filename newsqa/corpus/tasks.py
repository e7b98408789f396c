"""One article's work: its questions and its summary, run through the library, as result records.

A record is one (article, task): ``{"id", "index", "task", "question", "ok", "result", "error",
"model", "tokens", "seconds"}``. ``result`` is the ``Answer`` or ``Summary`` as JSON (evidence with
offsets, refusal reason, usage); a task that failed has ``ok: false`` and ``error: {"type", "message"}``
instead, and never stops the others.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from ..api import aask, asummarize
from ..api.questions import aask_many
from ..errors import NewsQAError
from ..model.client import ModelClient
from ..text.article import Article
from .sources import Row

__all__ = ["Record", "Task", "load_article", "run_row", "task_key", "tasks_of"]

Record = dict[str, Any]
Task = tuple[str, str | None]  # ("ask", question) | ("summarize", None)


def tasks_of(row: Row, questions: Sequence[str], summarize: bool) -> list[Task]:
    """A row's own questions, or the run's, then its summary."""
    asked: list[Task] = [("ask", q) for q in (row.questions or tuple(questions))]
    return [*asked, ("summarize", None)] if summarize else asked


def task_key(row_id: str, task: Task) -> str:
    return f"{row_id}\x1f{task[0]}\x1f{task[1] or ''}"


def load_article(row: Row, *, allow_private: bool = False) -> Article:
    """The row's article: its text, the file it names, or the page at its URL."""
    if row.kind == "missing":
        raise NewsQAError(row.value)
    if row.kind == "url":
        from ..text.web import fetch_article

        return fetch_article(row.value, allow_private=allow_private)
    if row.kind == "path":
        if row.value.lower().endswith((".html", ".htm")):
            from ..text.web import article_from_html

            return article_from_html(Article.from_file(row.value).text)
        return Article.from_file(row.value)
    return Article.from_text(row.value)


def _record(row: Row, task: Task, started: float, result: BaseModel | None, error: Exception | None) -> Record:
    usage = getattr(result, "usage", None)
    return {
        "id": row.id,
        "index": row.index,
        "task": task[0],
        "question": task[1],
        "ok": error is None,
        "result": result.model_dump(mode="json") if result is not None else None,
        "error": {"type": type(error).__name__, "message": str(error)} if error is not None else None,
        "model": getattr(result, "model", None),
        "tokens": usage.total_tokens if usage is not None else 0,
        "seconds": round(time.perf_counter() - started, 3),
    }


async def run_row(
    row: Row,
    tasks: Sequence[Task],
    *,
    client: ModelClient,
    cache: bool = True,
    allow_private: bool = False,
) -> list[Record]:
    """Every task of one row; the article is read once (and, on the embedded model, its state reused)."""
    import anyio

    started = time.perf_counter()
    try:
        article = await anyio.to_thread.run_sync(lambda: load_article(row, allow_private=allow_private))
    except NewsQAError as exc:
        return [_record(row, task, started, None, exc) for task in tasks]
    records: list[Record] = []
    asks = [t for t in tasks if t[0] == "ask"]
    if len(asks) > 1 and not client.embedded:
        # Several questions share one draft request on an API endpoint; each answer is verified alone.
        started = time.perf_counter()
        try:
            answers = await aask_many(article, [t[1] or "" for t in asks], client=client, cache=cache)
            records += [_record(row, t, started, a, None) for t, a in zip(asks, answers, strict=True)]
            tasks = [t for t in tasks if t[0] != "ask"]
        except NewsQAError:
            pass  # the shared request failed: each question on its own below, with its own error record
    for task in tasks:
        started = time.perf_counter()
        try:
            if task[0] == "ask":
                result: BaseModel = await aask(article, task[1] or "", client=client, cache=cache)
            else:
                result = await asummarize(article, client=client, cache=cache)
            records.append(_record(row, task, started, result, None))
        except NewsQAError as exc:
            records.append(_record(row, task, started, None, exc))
    return records
