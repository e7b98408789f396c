"""A conversation about one article: load it once, ask follow-ups that refer back, summarise on demand."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Collection
from typing import Any

from ..api import aask, asummarize, default_client
from ..api.common import ArticleInput, as_article
from ..model.client import ModelClient
from ..model.loop import run_sync
from ..schemas import Answer, Summary

__all__ = ["Session"]


class Session:
    """Questions about one article that can build on earlier answers ("and who has to approve it?").

    Earlier turns go into the prompt after the article, so a local model still reuses the article's
    KV prefix. Calls are serialised per session (an asyncio lock for concurrent tasks, a thread lock
    for threads), so the history always reads in the order the answers were given.
    """

    def __init__(
        self,
        article: ArticleInput,
        *,
        client: ModelClient | None = None,
        cache: bool = True,
        max_turns: int = 6,
        check: bool | None = None,
        skip: Collection[str] = (),
    ) -> None:
        self.article = as_article(article)
        self.client = client or default_client()
        self.cache = cache
        self.max_turns = max_turns
        self.check = check
        self.skip = tuple(skip)
        self.history: list[Answer] = []
        self._summary: Summary | None = None
        self._alock: asyncio.Lock | None = None
        self._tlock = threading.Lock()

    def _turns(self) -> list[tuple[str, str]]:
        turns = [(a.question, a.answer or "The article does not say.") for a in self.history]
        return turns[-self.max_turns :]

    async def _ask(self, question: str) -> Answer:
        return await aask(
            self.article,
            question,
            client=self.client,
            cache=self.cache,
            history=self._turns(),
            check=self.check,
            skip=self.skip,
        )

    def _lock(self) -> asyncio.Lock:
        if self._alock is None:
            self._alock = asyncio.Lock()
        return self._alock

    async def aask(self, question: str) -> Answer:
        async with self._lock():
            answer = await self._ask(question)
            self.history.append(answer)
            return answer

    def ask(self, question: str) -> Answer:
        with self._tlock:
            answer = run_sync(self._ask(question))
            self.history.append(answer)
            return answer

    async def asummarize(self) -> Summary:
        async with self._lock():
            if self._summary is None:
                self._summary = await asummarize(self.article, client=self.client, cache=self.cache)
            return self._summary

    def summarize(self) -> Summary:
        with self._tlock:
            if self._summary is None:
                self._summary = run_sync(asummarize(self.article, client=self.client, cache=self.cache))
            return self._summary

    def reset(self) -> None:
        self.history.clear()

    def __repr__(self) -> str:
        title: Any = self.article.title or self.article.text[:40]
        return f"Session({title!r}, turns={len(self.history)})"
