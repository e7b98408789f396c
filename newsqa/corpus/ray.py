"""The batch engine on Ray Data (``pip install "newsqa[ray]"``): the same tasks, the same records.

Ray Data reads the corpus (``read_json`` / ``read_csv`` / ``read_parquet``, or the rows of a folder)
and ``map_batches`` runs each block on a pool of actors, each holding one newsqa client: its own
embedded model, or a connection pool to a shared OpenAI-compatible endpoint (vLLM, llama.cpp
server...). The limits of the run (requests in flight, per minute, tokens per minute) are divided
among the actors, so the total load stays what was asked for. The driver streams the actors'
records into the same resumable log as the local engine, so the output, its order rules and its
resume behave the same: a second run skips the (id, task) pairs already written.

Locally it starts (or joins) a Ray instance on this machine; with ``RAY_ADDRESS`` set it joins that
cluster. The response cache is per node (each actor uses its node's cache directory): sharing one
SQLite file across machines would need a network file system that honours its locks, which most
do not; a shared endpoint already serves repeated prompts from its own prefix cache.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from .engine import BatchReport, _plan
from .results import ResultLog
from .sources import Row, _row, read_rows
from .tasks import run_row, task_key, tasks_of

__all__ = ["batch_on_ray"]


class _Worker:
    """One actor: one newsqa client for its life, the row's tasks run as the local engine runs them."""

    def __init__(self, options: dict[str, Any], plan: dict[str, Any]) -> None:
        from ..model.client import ModelClient

        self.client = ModelClient(cache=plan["cache"], **options)
        self.plan = plan

    def __call__(self, batch: dict[str, Any]) -> dict[str, list[str]]:
        import asyncio

        from ..model.loop import run_sync

        plan = self.plan
        base = Path(plan["base"])
        done = plan["done"]
        columns = list(batch)
        n = len(batch[columns[0]]) if columns else 0
        jobs = []
        for i in range(n):
            record = {c: _plain(batch[c][i]) for c in columns}
            row: Row = _row(0, record, plan["id_column"], plan["content_column"], base)
            todo = [t for t in tasks_of(row, plan["questions"], plan["summarize"]) if task_key(row.id, t) not in done]
            if todo:
                jobs.append(run_row(row, todo, client=self.client, cache=plan["cache"], allow_private=plan["private"]))

        async def run_all() -> list[list[dict[str, Any]]]:
            return list(await asyncio.gather(*jobs))

        results = run_sync(run_all()) if jobs else []
        return {"record": [json.dumps(r, ensure_ascii=False) for rs in results for r in rs]}


def _plain(value: Any) -> Any:
    """A value of a Ray batch (numpy scalars and arrays) as plain Python; a missing cell (NaN) as None."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, float) and value != value:
        return None
    return value


def _dataset(source: Path, id_column: str, content_column: str | None) -> Any:
    import ray.data

    if source.is_dir():
        rows = read_rows(source, id_column=id_column, content_column=content_column)
        return ray.data.from_items([{"id": r.id, "path": r.value} for r in rows])
    suffix = source.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        return ray.data.read_json(str(source), lines=True)
    if suffix == ".csv":
        return ray.data.read_csv(str(source))
    if suffix == ".parquet":
        return ray.data.read_parquet(str(source))
    raise ConfigurationError(f"cannot read {source.name}: a corpus is .jsonl, .csv, .parquet or a folder")


def batch_on_ray(
    source: str | Path,
    out: str | Path,
    *,
    questions: Sequence[str] = (),
    summarize: bool = False,
    client_options: dict[str, Any] | None = None,
    concurrency: int | None = None,
    cache: bool = True,
    allow_private: bool = False,
    id_column: str = "id",
    content_column: str | None = None,
) -> BatchReport:
    """:func:`newsqa.batch` on Ray Data; ``concurrency`` is the number of actors (default: 2)."""
    try:
        import ray
        import ray.data
    except ImportError:
        raise ConfigurationError('the Ray engine needs Ray: pip install "newsqa[ray]"') from None
    from ..model.settings import Settings

    source = Path(source)
    options = {k: v for k, v in (client_options or {}).items() if v is not None}
    settings = Settings.from_env(**options)
    actors = concurrency or 2
    # The run's limits, shared out: each actor's client gets its part, so together they keep to them.
    options["max_in_flight"] = max(1, settings.in_flight_limit // actors)
    for name in ("requests_per_minute", "tokens_per_minute"):
        if getattr(settings, name):
            options[name] = getattr(settings, name) / actors
    report = BatchReport(Path(out))
    report.rows, report.tasks, index = _plan(source, questions, summarize, id_column, content_column)
    if report.tasks == 0:
        raise ConfigurationError("nothing to do: give questions (or a questions column) or ask for summaries")
    log = ResultLog(out)
    report.skipped = sum(1 for key in log.done if key.split("\x1f", 1)[0] in index)
    plan = {
        "questions": tuple(questions),
        "summarize": summarize,
        "cache": cache,
        "private": allow_private,
        "id_column": id_column,
        "content_column": content_column,
        "base": str(source.parent if source.is_file() else source),
        "done": frozenset(log.done),
    }
    started = ray.is_initialized()
    if not started:
        address = os.environ.get("RAY_ADDRESS") or None
        if address:
            ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
        else:
            # One CPU for each actor and one for reading: the actors mostly wait on their model.
            ray.init(num_cpus=actors + 1, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    try:
        ds = _dataset(source, id_column, content_column).map_batches(
            _Worker,
            fn_constructor_kwargs={"options": options, "plan": plan},
            batch_size=max(1, options["max_in_flight"]),
            compute=ray.data.ActorPoolStrategy(size=actors),
            num_cpus=1,
        )
        for item in ds.iter_rows():
            record = json.loads(item["record"])
            record["index"] = index.get(record["id"], record.get("index"))
            log.write(record)
            report.ran += 1
            report.errors += not record["ok"]
            report.tokens += record["tokens"]
    finally:
        log.close()
        if not started:
            ray.shutdown()
        report.seconds = time.perf_counter() - report.started
    return report
