"""Where a corpus comes from: rows of (id, text | path | url, questions) read from a file or a folder."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ArticleError, ConfigurationError

__all__ = ["CONTENT_COLUMNS", "Row", "read_rows"]

# The column that holds each article, in the order they are looked for.
CONTENT_COLUMNS = ("text", "path", "url")
_DOCUMENTS = (".txt", ".html", ".htm")


@dataclass(frozen=True)
class Row:
    """One article of a corpus: where its text comes from, and the questions asked of it alone."""

    index: int
    id: str
    kind: str  # "text" | "path" | "url"
    value: str
    questions: tuple[str, ...] = field(default=())


def read_rows(source: str | Path, *, id_column: str = "id", content_column: str | None = None) -> Iterator[Row]:
    """Rows of a JSONL, CSV or Parquet file, or of a folder of .txt / .html files (id = relative path)."""
    path = Path(source)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix.lower() in _DOCUMENTS and p.is_file())
        for i, p in enumerate(files):
            yield Row(i, str(p.relative_to(path)), "path", str(p))
        return
    if not path.is_file():
        raise ArticleError(f"no such corpus file or folder: {path}")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".json", ".ndjson"):
        records: Iterator[dict[str, object]] = _jsonl(path)
    elif suffix == ".csv":
        records = _csv(path)
    elif suffix == ".parquet":
        records = _parquet(path)
    else:
        raise ConfigurationError(f"cannot read {path.name}: a corpus is .jsonl, .csv, .parquet or a folder")
    base = path.parent
    for i, record in enumerate(records):
        yield _row(i, record, id_column, content_column, base)


def _row(i: int, record: dict[str, object], id_column: str, content_column: str | None, base: Path) -> Row:
    if id_column not in record or record[id_column] in (None, ""):
        raise ArticleError(f"row {i + 1} has no {id_column!r}")
    columns = (content_column,) if content_column else CONTENT_COLUMNS
    kind = next((c for c in columns if record.get(c) not in (None, "")), None)
    if kind is None:
        # A row without text is an error of that row, reported in the output, not of the whole run.
        return Row(i, str(record[id_column]), "missing", f"no {' / '.join(columns)} column", _questions(record))
    value = str(record[kind])
    if kind == "path" and not Path(value).is_absolute():
        value = str(base / value)
    if content_column and content_column not in CONTENT_COLUMNS:
        kind = "url" if value.lower().startswith(("http://", "https://")) else "text"
    return Row(i, str(record[id_column]), kind, value, _questions(record))


def _questions(record: dict[str, object]) -> tuple[str, ...]:
    value = record.get("questions", record.get("question"))
    if value is None or value == "":
        return ()
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError:
            return (value,)
        value = parsed if isinstance(parsed, list) else [value]
    if isinstance(value, (list, tuple)):
        return tuple(str(q) for q in value if str(q).strip())
    return (str(value),)


def _jsonl(path: Path) -> Iterator[dict[str, object]]:
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except ValueError as exc:
                raise ArticleError(f"{path.name} line {n} is not JSON: {exc}") from None
            if not isinstance(record, dict):
                raise ArticleError(f"{path.name} line {n} is not a JSON object")
            yield record


def _csv(path: Path) -> Iterator[dict[str, object]]:
    csv.field_size_limit(10_000_000)  # articles are long fields
    with path.open(encoding="utf-8", newline="") as f:
        yield from csv.DictReader(f)


def _parquet(path: Path) -> Iterator[dict[str, object]]:
    try:
        import pyarrow.parquet as pq
    except ImportError:
        raise ConfigurationError('reading Parquet needs pyarrow: pip install "newsqa[batch]"') from None
    for batch in pq.ParquetFile(path).iter_batches(batch_size=256):
        yield from batch.to_pylist()
