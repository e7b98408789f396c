"""Corpora: the same per-article work as ``ask`` and ``summarize``, over thousands of articles.

sources.py   JSONL, CSV, Parquet or a folder of .txt/.html files -> rows (id, text/path/url, questions)
tasks.py     one article's tasks (questions, a summary) run through the library -> result records
results.py   the output: JSONL or Parquet, flushed row by row, resumable by (id, task)
engine.py    batch / abatch on one machine: bounded concurrency, progress, resume
ray.py       the same tasks on Ray Data (the [ray] extra), on a laptop or a cluster
"""

from .engine import BatchReport, abatch, batch

__all__ = ["BatchReport", "abatch", "batch"]
