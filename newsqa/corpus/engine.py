"""batch / abatch: a corpus on one machine, with bounded load, resume and progress.

Rows are read lazily and run ``concurrency`` articles at a time (each article's tasks in turn, so
the embedded model reads it once); every request still takes a slot of the client's limiter, shared
with any other call in the process. Records are written in completion order, each with its input
``index``; a second run with the same output skips every (id, task) already there.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

from typing_extensions import Unpack

from ..api.common import default_client
from ..errors import ConfigurationError
from ..model.client import ModelClient
from ..model.loop import run_sync
from .results import ResultLog
from .sources import Row, read_rows
from .tasks import Record, run_row, task_key, tasks_of

__all__ = ["BatchOptions", "BatchReport", "abatch", "batch"]


@dataclass
class BatchReport:
    """What a run did: tasks found, run now, skipped as already done, failed; tokens; time."""

    out: Path
    rows: int = 0
    tasks: int = 0
    ran: int = 0
    skipped: int = 0
    errors: int = 0
    tokens: int = 0
    seconds: float = 0.0
    started: float = field(default_factory=time.perf_counter, repr=False)


Progress = Callable[[BatchReport, Record | None], None]


def _plan(
    source: str | Path, questions: Sequence[str], summarize: bool, id_column: str, content_column: str | None
) -> tuple[int, int, dict[str, int]]:
    """One pass over the corpus (the articles themselves are not read): rows, tasks, each id's row index."""
    rows = tasks = 0
    index: dict[str, int] = {}
    for row in read_rows(source, id_column=id_column, content_column=content_column):
        rows += 1
        index.setdefault(row.id, row.index)
        tasks += len(tasks_of(row, questions, summarize))
    return rows, tasks, index


async def abatch(
    source: str | Path,
    out: str | Path,
    *,
    questions: Sequence[str] = (),
    summarize: bool = False,
    client: ModelClient | None = None,
    concurrency: int | None = None,
    cache: bool = True,
    allow_private: bool = False,
    id_column: str = "id",
    content_column: str | None = None,
    on_progress: Progress | None = None,
) -> BatchReport:
    """Run ``questions`` (and a summary) on every article of ``source``; write records to ``out``.

    ``out`` is .jsonl or .parquet. Rows may carry their own questions (a ``questions`` or
    ``question`` column). ``concurrency`` articles run at once (default: the client's limit on
    requests in flight); the client's limits bound the requests themselves.
    """
    cl = client or default_client()
    report = BatchReport(Path(out))
    report.rows, report.tasks, _ = _plan(source, questions, summarize, id_column, content_column)
    if report.tasks == 0:
        raise ConfigurationError("nothing to do: give questions (or a questions column) or ask for summaries")
    log = ResultLog(out)
    width = concurrency or cl.settings.in_flight_limit
    slots = asyncio.Semaphore(width)
    if on_progress is not None:
        on_progress(report, None)

    async def run(row: Row, todo: list[tuple[str, str | None]]) -> None:
        try:
            for record in await run_row(row, todo, client=cl, cache=cache, allow_private=allow_private):
                log.write(record)
                report.ran += 1
                report.errors += not record["ok"]
                report.tokens += record["tokens"]
                report.seconds = time.perf_counter() - report.started
                if on_progress is not None:
                    on_progress(report, record)
        finally:
            slots.release()

    pending: set[asyncio.Task[None]] = set()
    try:
        for row in read_rows(source, id_column=id_column, content_column=content_column):
            todo = [t for t in tasks_of(row, questions, summarize) if task_key(row.id, t) not in log.done]
            report.skipped += len(tasks_of(row, questions, summarize)) - len(todo)
            if not todo:
                continue
            await slots.acquire()
            task = asyncio.ensure_future(run(row, todo))
            pending.add(task)
            task.add_done_callback(pending.discard)
        if pending:
            await asyncio.gather(*pending)
    finally:
        for task in pending:
            task.cancel()
        log.close()
        report.seconds = time.perf_counter() - report.started
    return report


class BatchOptions(TypedDict, total=False):
    """The options of :func:`abatch`, passed on unchanged by :func:`batch`."""

    questions: Sequence[str]
    summarize: bool
    client: ModelClient | None
    concurrency: int | None
    cache: bool
    allow_private: bool
    id_column: str
    content_column: str | None
    on_progress: Progress | None


def batch(source: str | Path, out: str | Path, **options: Unpack[BatchOptions]) -> BatchReport:
    """Sync twin of :func:`abatch`. Ctrl-C stops it; the records written so far stay, and a second
    run with the same ``out`` finishes the job."""
    return run_sync(abatch(source, out, **options))
