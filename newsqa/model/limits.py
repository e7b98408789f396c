"""How much load one client puts on its endpoint: requests in flight, requests and tokens per minute.

Every request a client sends, from any call in the process (``ask``, ``summarize``, ``batch``, a
chatbot), takes a slot here first, so 300 concurrent ``aask`` calls never put more than
``max_in_flight`` requests on the wire. A 429 with ``Retry-After`` pauses every request of the
client, not only the one that got it. Minute budgets refill continuously (token buckets).
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
import weakref
from collections.abc import AsyncIterator

__all__ = ["Limiter"]


class _Bucket:
    """``rate`` units a minute, at most a minute's worth saved up; may go negative (a debt to wait off)."""

    def __init__(self, per_minute: float) -> None:
        self.rate = per_minute / 60.0
        self.capacity = per_minute
        self.level = per_minute
        self.stamp = time.monotonic()

    def wait_for(self, amount: float) -> float:
        """Seconds until ``amount`` can be taken (0 when it can now)."""
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now
        need = min(amount, self.capacity) - self.level
        return max(0.0, need / self.rate)

    def take(self, amount: float) -> None:
        self.level -= amount


class Limiter:
    """The load limits of one client; safe to share between event loops and threads."""

    def __init__(
        self,
        max_in_flight: int,
        *,
        requests_per_minute: float | None = None,
        tokens_per_minute: float | None = None,
    ) -> None:
        self.max_in_flight = max_in_flight
        self._requests = _Bucket(requests_per_minute) if requests_per_minute else None
        self._tokens = _Bucket(tokens_per_minute) if tokens_per_minute else None
        self._semaphores: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
            weakref.WeakKeyDictionary()
        )
        self._lock = threading.Lock()
        self._paused_until = 0.0
        self.in_flight = 0
        self.peak_in_flight = 0

    def _semaphore(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        with self._lock:
            sem = self._semaphores.get(loop)
            if sem is None:
                sem = self._semaphores[loop] = asyncio.Semaphore(self.max_in_flight)
            return sem

    def pause(self, seconds: float) -> None:
        """Hold every request of this client for ``seconds`` (a 429 told us to)."""
        with self._lock:
            self._paused_until = max(self._paused_until, time.monotonic() + seconds)

    def spent(self, estimated: int, actual: int) -> None:
        """Settle a request's token estimate against what it really cost."""
        if self._tokens is not None:
            with self._lock:
                self._tokens.take(actual - estimated)

    @contextlib.asynccontextmanager
    async def slot(self, tokens: int = 0, *, deadline: float | None = None) -> AsyncIterator[None]:
        """Wait for room (a free slot, the pause over, the minute budgets), then hold a slot."""
        async with self._semaphore():
            while True:
                with self._lock:
                    wait = self._paused_until - time.monotonic()
                    if self._requests is not None:
                        wait = max(wait, self._requests.wait_for(1))
                    if self._tokens is not None:
                        wait = max(wait, self._tokens.wait_for(tokens))
                    if wait <= 0:
                        if self._requests is not None:
                            self._requests.take(1)
                        if self._tokens is not None:
                            self._tokens.take(tokens)
                        self.in_flight += 1
                        self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
                        break
                if deadline is not None and time.monotonic() + wait > deadline:
                    raise TimeoutError("the load limits would hold this request past its deadline")
                await asyncio.sleep(min(wait, 1.0))
            try:
                yield
            finally:
                with self._lock:
                    self.in_flight -= 1
