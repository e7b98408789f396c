"""Streaming answers: pieces of the answer text as the model writes them, then the validated Answer."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

from .api import aask
from .article import Article
from .schemas import Answer

__all__ = ["astream", "stream_sync"]


class _AnswerText:
    """Follows the growing ``"answer"`` string inside the partial JSON the model is writing."""

    def __init__(self) -> None:
        self.buf = ""
        self.shown = ""
        self.frozen = False

    def feed(self, piece: str | None) -> str:
        if piece is None:  # a new request (retry or re-ask) starts over
            self.buf = ""
            self.frozen = self.frozen or bool(self.shown)
            return ""
        self.buf += piece
        if self.frozen:
            return ""
        import jiter

        try:
            value = jiter.from_json(self.buf.encode(), partial_mode="trailing-strings")
        except ValueError:
            return ""
        text = value.get("answer") if isinstance(value, dict) else None
        if not isinstance(text, str) or not text.startswith(self.shown):
            return ""
        new, self.shown = text[len(self.shown) :], text
        return new


async def astream(article: Article | str | Path, question: str, **kw: Any) -> AsyncIterator[str | Answer]:
    """Async streaming twin of ``ask(..., stream=True)``."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    text = _AnswerText()

    def on_delta(piece: str | None) -> None:
        if new := text.feed(piece):
            queue.put_nowait(new)

    task = asyncio.ensure_future(aask(article, question, on_delta=on_delta, **kw))
    try:
        while not task.done() or not queue.empty():
            getter = asyncio.ensure_future(queue.get())
            await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
            if getter.done():
                yield getter.result()
            else:
                getter.cancel()
        yield task.result()
    finally:
        if not task.done():
            task.cancel()


def stream_sync(article: Article | str | Path, question: str, kw: dict[str, Any]) -> Iterator[str | Answer]:
    import queue as queue_mod

    q: queue_mod.Queue[tuple[str, Any]] = queue_mod.Queue()

    async def pump() -> None:
        async for item in astream(article, question, **kw):
            q.put(("item", item))

    def worker() -> None:
        from .client import _closing

        try:
            asyncio.run(_closing(pump()))
            q.put(("end", None))
        except BaseException as exc:  # handed to the consumer's thread
            q.put(("error", exc))

    threading.Thread(target=worker, name="newsqa-stream", daemon=True).start()
    while True:
        kind, value = q.get()
        if kind == "item":
            yield value
        elif kind == "error":
            raise value
        else:
            return
