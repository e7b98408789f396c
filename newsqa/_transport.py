"""A base for transports that do their work synchronously (a local model, a file of recordings)."""

from __future__ import annotations

import httpx2

__all__ = ["ThreadedTransport"]


class ThreadedTransport(httpx2.BaseTransport, httpx2.AsyncBaseTransport):
    """Implement ``handle_request``; async callers get it run in a worker thread."""

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        raise NotImplementedError

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        import anyio

        await request.aread()
        # A local model blocks for seconds: keep the event loop free meanwhile.
        return await anyio.to_thread.run_sync(self.handle_request, request)
