"""Which transport carries a client's requests: given, replayed, the embedded model, or the network.

Choosing is separate from the client: a :class:`~newsqa.model.settings.Settings` goes in, an httpx
transport (or None for the openai client's own network stack) comes out, optionally wrapped so that
every exchange is recorded.
"""

from __future__ import annotations

from typing import TypeAlias

import httpx2

from .settings import Settings

__all__ = ["AnyTransport", "choose_transport"]

AnyTransport: TypeAlias = "httpx2.BaseTransport | httpx2.AsyncBaseTransport"


def choose_transport(settings: Settings, given: AnyTransport | None = None) -> AnyTransport | None:
    """The transport for ``settings``; ``given`` (a test double, a custom stack) wins over all."""
    transport: AnyTransport | None
    if given is not None:
        transport = given
    elif settings.replay_dir:
        from .recording import ReplayTransport

        transport = ReplayTransport(settings.replay_dir)
    elif settings.embedded:
        from .local import local_transport

        transport = local_transport(settings.gguf, n_ctx=settings.n_ctx)
    else:
        transport = None
    if settings.record_dir and not settings.replay_dir:
        from .recording import RecordingTransport

        inner = transport if isinstance(transport, httpx2.BaseTransport) else httpx2.HTTPTransport()
        transport = RecordingTransport(inner, settings.record_dir, close_inner=inner is not transport)
    return transport
