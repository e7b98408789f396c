"""Progress: what newsqa is doing now, for a person waiting or a client that must keep waiting.

Operations report stages (``loading``, ``reading``, ``answering``, ``checking``, ``summarizing``,
``done``) to the callback of the call that runs them (``ask(..., on_progress=...)``). The callback
travels in a context variable, so the embedded model's transport, deep below and in a worker thread,
reports to the same place. Callbacks must be quick and must not raise; they may be called from a
worker thread.
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

__all__ = ["ProgressCallback", "Stage", "report", "reporting"]

log = logging.getLogger("newsqa")


@dataclass(frozen=True)
class Stage:
    """One step of an operation: ``name`` (a short verb), words for a person, and a count if it has one."""

    name: str
    message: str
    done: int | None = None
    total: int | None = None
    at: float = field(default_factory=time.monotonic)


ProgressCallback = Callable[[Stage], None]
_callback: contextvars.ContextVar[ProgressCallback | None] = contextvars.ContextVar("newsqa_progress", default=None)


def report(name: str, message: str, done: int | None = None, total: int | None = None) -> None:
    """Tell the current call's callback (if any) that a stage began or advanced."""
    callback = _callback.get()
    if callback is None:
        return
    try:
        callback(Stage(name, message, done, total))
    except Exception as exc:  # a display must never break an answer
        log.debug("progress callback failed: %s", exc)


@contextlib.contextmanager
def reporting(callback: ProgressCallback | None) -> Iterator[None]:
    """Send the stages reported inside this block (in this task and its threads) to ``callback``."""
    if callback is None:
        yield
        return
    token = _callback.set(callback)
    try:
        yield
    finally:
        _callback.reset(token)
