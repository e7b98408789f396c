"""ask: the synchronous twin of :func:`~newsqa.api.questions.aask`, streaming or not.

It sits above both the answer and the stream, so neither needs the other's module.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal, overload

from typing_extensions import Unpack

from ..model.loop import run_sync
from ..schemas import Answer
from .common import ArticleInput
from .questions import AskOptions, aask
from .streaming import stream_sync

__all__ = ["ask"]


@overload
def ask(
    article: ArticleInput, question: str, *, stream: Literal[False] = False, **options: Unpack[AskOptions]
) -> Answer: ...


@overload
def ask(
    article: ArticleInput, question: str, *, stream: Literal[True], **options: Unpack[AskOptions]
) -> Iterator[str | Answer]: ...


def ask(
    article: ArticleInput, question: str, *, stream: bool = False, **options: Unpack[AskOptions]
) -> Answer | Iterator[str | Answer]:
    """Sync twin of :func:`~newsqa.api.questions.aask` (same options: client, cache, history, check,
    skip, on_progress).

    With ``stream=True`` it returns an iterator instead: pieces of the answer text (``str``) as the model
    writes them, then the validated :class:`Answer`, which is authoritative (evidence checks may still
    turn a streamed answer into ``not_in_article``).
    """
    if stream:
        return stream_sync(article, question, **options)
    return run_sync(aask(article, question, **options))
