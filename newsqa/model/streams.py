"""A streamed chat completion, passed on piece by piece and assembled like a plain one."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from openai import AsyncOpenAI

__all__ = ["streamed"]


async def streamed(client: AsyncOpenAI, kwargs: dict[str, Any], on_delta: Callable[[str | None], None]) -> Any:
    """Stream one completion, passing text on as it comes; return it assembled like a plain response."""
    from types import SimpleNamespace

    stream = await client.chat.completions.create(**kwargs, stream=True, stream_options={"include_usage": True})
    parts: list[str] = []
    refusal: list[str] = []
    finish: str | None = None
    usage = None
    model = None
    seen_choice = False
    tokens: list[Any] = []  # token log-probabilities, when asked for and sent
    async for chunk in stream:
        model = chunk.model or model
        usage = chunk.usage or usage
        for choice in chunk.choices:
            seen_choice = True
            delta = choice.delta
            if delta.content:
                parts.append(delta.content)
                on_delta(delta.content)
            if getattr(delta, "refusal", None):
                refusal.append(delta.refusal)
            content = getattr(getattr(choice, "logprobs", None), "content", None)
            if content:
                tokens.extend(content)
            finish = choice.finish_reason or finish
    if seen_choice and finish is None:
        # The stream ended without a finish reason: it was cut off. Treat it as a dropped connection.
        import httpx2
        import openai

        raise openai.APIConnectionError(request=httpx2.Request("POST", "http://stream/"))
    message = SimpleNamespace(content="".join(parts), refusal="".join(refusal) or None)
    logprobs = SimpleNamespace(content=tokens) if tokens else None
    choices = [SimpleNamespace(message=message, finish_reason=finish, logprobs=logprobs)] if seen_choice else []
    return SimpleNamespace(model=model, usage=usage, choices=choices)
