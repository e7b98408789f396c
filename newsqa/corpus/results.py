"""A batch's output, written as it goes: a crash or Ctrl-C loses at most the rows in flight.

JSONL output is the log itself: one record per line, appended and flushed as each task completes;
a line cut short by a crash is dropped when the run resumes. Parquet output keeps the same log beside
it (``<out>.log.jsonl``) and is rewritten from it, atomically, at the end of every run, so the file
at ``<out>`` is always a whole Parquet file.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import ConfigurationError
from .tasks import Record, task_key

__all__ = ["ResultLog"]


class ResultLog:
    """The records of a batch, by (id, task): what is done already, and a place for what comes."""

    def __init__(self, out: str | Path) -> None:
        self.out = Path(out)
        self.parquet = self.out.suffix.lower() == ".parquet"
        if not self.parquet and self.out.suffix.lower() not in (".jsonl", ".ndjson", ".json"):
            raise ConfigurationError(f"cannot write {self.out.name}: the output is .jsonl or .parquet")
        self.log = self.out.with_name(self.out.name + ".log.jsonl") if self.parquet else self.out
        self.log.parent.mkdir(parents=True, exist_ok=True)
        self.done: set[str] = set()
        self._repair_and_read()
        self._file = self.log.open("a", encoding="utf-8")

    def _repair_and_read(self) -> None:
        if not self.log.exists():
            return
        data = self.log.read_bytes()
        keep = data[: data.rfind(b"\n") + 1]  # a record cut short by a crash is dropped, never half-read
        if len(keep) != len(data):
            with self.log.open("r+b") as f:
                f.truncate(len(keep))
        for line in keep.decode("utf-8", "replace").splitlines():
            try:
                record = json.loads(line)
                self.done.add(task_key(record["id"], (record["task"], record.get("question"))))
            except (ValueError, KeyError, TypeError):
                continue

    def write(self, record: Record) -> None:
        self._file.write(json.dumps(record, ensure_ascii=False) + "\n")
        self._file.flush()
        self.done.add(task_key(record["id"], (record["task"], record.get("question"))))

    def close(self) -> None:
        self._file.close()
        if self.parquet:
            self._write_parquet()

    def records(self) -> list[Record]:
        out: list[Record] = []
        for line in self.log.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                continue
        return out

    def _write_parquet(self) -> None:
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError:
            raise ConfigurationError('writing Parquet needs pyarrow: pip install "newsqa[batch]"') from None
        rows = [_flat(r) for r in self.records()]
        table = pa.Table.from_pylist(rows, schema=_SCHEMA(pa))
        tmp = self.out.with_name(f".{self.out.name}.{os.getpid()}.tmp")
        pq.write_table(table, tmp)
        tmp.replace(self.out)


def _flat(record: Record) -> dict[str, Any]:
    """A record as a Parquet row: nested results and errors as JSON text, the rest as columns."""
    result = record.get("result") or {}
    error = record.get("error") or {}
    return {
        "id": record["id"],
        "index": record.get("index"),
        "task": record["task"],
        "question": record.get("question"),
        "ok": record.get("ok", False),
        "status": result.get("status"),
        "answer": result.get("answer"),
        "result": json.dumps(record["result"], ensure_ascii=False) if record.get("result") is not None else None,
        "error_type": error.get("type"),
        "error": error.get("message"),
        "model": record.get("model"),
        "tokens": record.get("tokens", 0),
        "seconds": record.get("seconds", 0.0),
    }


def _SCHEMA(pa: Any) -> Any:
    return pa.schema(
        [
            ("id", pa.string()),
            ("index", pa.int64()),
            ("task", pa.string()),
            ("question", pa.string()),
            ("ok", pa.bool_()),
            ("status", pa.string()),
            ("answer", pa.string()),
            ("result", pa.string()),
            ("error_type", pa.string()),
            ("error", pa.string()),
            ("model", pa.string()),
            ("tokens", pa.int64()),
            ("seconds", pa.float64()),
        ]
    )
