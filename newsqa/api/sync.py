"""ask: the synchronous twin of :func:`~newsqa.api.questions.aask`, streaming or not.

It sits above both the answer and the stream, so neither needs the other's module.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from typing import Literal, overload

from ..model.client import ModelClient
from ..model.loop import run_sync
from ..progress import ProgressCallback
from ..schemas import Answer
from .common import ArticleInput
from .questions import aask
from .streaming import stream_sync

__all__ = ["ask"]


@overload
def ask(
    article: ArticleInput,
    question: str,
    *,
    stream: Literal[False] = False,
    client: ModelClient | None = None,
    cache: bool = True,
    history: Sequence[tuple[str, str]] = (),
    check: bool | None = None,
    skip: Collection[str] = (),
    on_progress: ProgressCallback | None = None,
) -> Answer: ...


@overload
def ask(
    article: ArticleInput,
    question: str,
    *,
    stream: Literal[True],
    client: ModelClient | None = None,
    cache: bool = True,
    history: Sequence[tuple[str, str]] = (),
    check: bool | None = None,
    skip: Collection[str] = (),
    on_progress: ProgressCallback | None = None,
) -> Iterator[str | Answer]: ...


def ask(
    article: ArticleInput,
    question: str,
    *,
    stream: bool = False,
    client: ModelClient | None = None,
    cache: bool = True,
    history: Sequence[tuple[str, str]] = (),
    check: bool | None = None,
    skip: Collection[str] = (),
    on_progress: ProgressCallback | None = None,
) -> Answer | Iterator[str | Answer]:
    """Sync twin of :func:`aask`.

    With ``stream=True`` it returns an iterator instead: pieces of the answer text (``str``) as the model
    writes them, then the validated :class:`Answer`, which is authoritative (evidence checks may still
    turn a streamed answer into ``not_in_article``).
    """
    if stream:
        return stream_sync(
            article,
            question,
            client=client,
            cache=cache,
            history=history,
            check=check,
            skip=skip,
            on_progress=on_progress,
        )
    return run_sync(
        aask(
            article,
            question,
            client=client,
            cache=cache,
            history=history,
            check=check,
            skip=skip,
            on_progress=on_progress,
        )
    )
