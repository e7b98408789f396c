"""One event loop for every synchronous call of the process.

The sync API (``newsqa.ask`` and friends) hands its coroutine to a single loop that runs in a daemon
thread for the life of the process (the idea of anyio's blocking portal). So a client keeps one
connection pool across calls, no call pays for a new loop, and a sync call works from any thread:
the main thread, a worker of a running loop's thread pool, or a notebook whose own loop is running.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

__all__ = ["run_sync", "sync_loop"]

R = TypeVar("R")

_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None
_lock = threading.Lock()
_on_close: list[Callable[[], Awaitable[None]]] = []


def sync_loop() -> asyncio.AbstractEventLoop:
    """The process's loop for synchronous calls, started on first use."""
    global _loop, _thread
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            _thread = threading.Thread(target=run, name="newsqa-loop", daemon=True)
            _thread.start()
            ready.wait()
            _loop = loop
        return _loop


def on_close(callback: Callable[[], Awaitable[None]]) -> None:
    """Run ``callback`` on the loop when the process exits (to close connection pools cleanly)."""
    _on_close.append(callback)


def run_sync(coro: Coroutine[Any, Any, R]) -> R:
    """Run ``coro`` on the shared loop and wait for its result in the calling thread."""
    loop = sync_loop()
    if threading.current_thread() is _thread:
        coro.close()
        raise RuntimeError("a synchronous newsqa call was made from newsqa's own event loop; await the async API")
    future = asyncio.run_coroutine_threadsafe(coro, loop)
    try:
        return future.result()
    except BaseException:
        future.cancel()  # Ctrl-C in the caller stops the work too
        raise


@atexit.register
def _shutdown() -> None:
    loop = _loop
    if loop is None or loop.is_closed() or not loop.is_running():
        return

    async def close_all() -> None:
        for callback in _on_close:
            # Closing at exit: there is nobody left to report a failure to.
            with contextlib.suppress(Exception):
                await callback()

    with contextlib.suppress(Exception):
        asyncio.run_coroutine_threadsafe(close_all(), loop).result(timeout=5)
    loop.call_soon_threadsafe(loop.stop)
