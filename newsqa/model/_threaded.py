"""A base for transports that do their work synchronously (a local model, a file of recordings)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx2

__all__ = ["ThreadedTransport"]


class _AsyncFromSync(httpx2.AsyncByteStream):
    """A sync byte stream read from worker threads, so a streaming model never blocks the event loop."""

    def __init__(self, stream: httpx2.SyncByteStream) -> None:
        self._stream = stream
        self._it: Iterator[bytes] = iter(stream)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        import anyio

        while (chunk := await anyio.to_thread.run_sync(next, self._it, None)) is not None:
            yield chunk

    async def aclose(self) -> None:
        import anyio

        await anyio.to_thread.run_sync(self._stream.close)


class ThreadedTransport(httpx2.BaseTransport, httpx2.AsyncBaseTransport):
    """Implement ``handle_request``; async callers get it run in a worker thread."""

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        raise NotImplementedError

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        import anyio

        await request.aread()
        # A local model blocks for seconds: keep the event loop free meanwhile.
        response = await anyio.to_thread.run_sync(self.handle_request, request)
        stream = response.stream
        if isinstance(stream, httpx2.SyncByteStream) and not isinstance(stream, httpx2.AsyncByteStream):
            return httpx2.Response(
                response.status_code, headers=response.headers, stream=_AsyncFromSync(stream), request=request
            )
        return response
