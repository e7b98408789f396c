"""Streaming answers: pieces of the answer text as the model writes them, then the validated Answer."""

from __future__ import annotations

import asyncio
import queue
from collections.abc import AsyncIterator, Iterator
from typing import cast

from typing_extensions import Unpack

from ..model.loop import sync_loop
from ..schemas import Answer
from .common import ArticleInput
from .questions import AskOptions, aask

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


async def astream(article: ArticleInput, question: str, **options: Unpack[AskOptions]) -> AsyncIterator[str | Answer]:
    """Async streaming twin of ``ask(..., stream=True)``; takes the options of :func:`aask`."""
    pieces: asyncio.Queue[str] = asyncio.Queue()
    text = _AnswerText()

    def on_delta(piece: str | None) -> None:
        if new := text.feed(piece):
            pieces.put_nowait(new)

    task = asyncio.ensure_future(aask(article, question, on_delta=on_delta, **options))
    try:
        while not task.done() or not pieces.empty():
            getter = asyncio.ensure_future(pieces.get())
            await asyncio.wait({getter, task}, return_when=asyncio.FIRST_COMPLETED)
            if getter.done():
                yield getter.result()
            else:
                getter.cancel()
        yield task.result()
    finally:
        if not task.done():
            task.cancel()


_END = object()


def stream_sync(article: ArticleInput, question: str, **options: Unpack[AskOptions]) -> Iterator[str | Answer]:
    """:func:`astream` for sync code, run on newsqa's shared event loop."""
    items: queue.Queue[object] = queue.Queue()

    async def pump() -> None:
        try:
            async for item in astream(article, question, **options):
                items.put(item)
        except BaseException as exc:  # handed to the consumer's thread
            items.put(exc)
        items.put(_END)

    future = asyncio.run_coroutine_threadsafe(pump(), sync_loop())
    try:
        while (item := items.get()) is not _END:
            if isinstance(item, BaseException):
                raise item
            yield cast("str | Answer", item)
    finally:
        future.cancel()  # the consumer stopped early: stop the model too
