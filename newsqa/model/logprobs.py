"""Token log-probabilities of a reply, and what they say about a choice the model made.

Endpoints report them in OpenAI's shape (``choices[0].logprobs.content``: each generated token with
its log-probability and the most likely alternatives); the embedded model reports the same shape.
A constrained choice ("yes" or "no") is decided by one token: the probability mass the model put on
each option at that token is its confidence, a number a threshold can be calibrated on, where the
chosen word alone is all or nothing.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "TokenLogprob",
    "from_json",
    "from_openai",
    "option_probabilities",
    "option_probability",
    "to_json",
    "value_tokens",
]

TOP_LOGPROBS = 5  # alternatives asked for per token: the options of a choice are nearly always among them


@dataclass(frozen=True)
class TokenLogprob:
    """One generated token, its log-probability and the most likely alternatives at its place."""

    token: str
    logprob: float
    top: tuple[tuple[str, float], ...] = ()


def _get(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def from_openai(logprobs: Any) -> list[TokenLogprob] | None:
    """The tokens of a choice's ``logprobs`` (an openai object or its JSON), or None if it has none."""
    content = _get(logprobs, "content") if logprobs is not None else None
    if not isinstance(content, list):
        return None
    out: list[TokenLogprob] = []
    for item in content:
        token, lp = _get(item, "token"), _get(item, "logprob")
        if not isinstance(token, str) or not isinstance(lp, int | float):
            return None
        top = tuple(
            (t, float(v))
            for alt in (_get(item, "top_logprobs") or [])
            if isinstance(t := _get(alt, "token"), str) and isinstance(v := _get(alt, "logprob"), int | float)
        )
        out.append(TokenLogprob(token, float(lp), top))
    return out


def to_json(tokens: Sequence[TokenLogprob]) -> list[list[Any]]:
    return [[t.token, t.logprob, [list(a) for a in t.top]] for t in tokens]


def from_json(data: Any) -> list[TokenLogprob] | None:
    try:
        return [TokenLogprob(str(t), float(lp), tuple((str(a), float(b)) for a, b in top)) for t, lp, top in data]
    except (TypeError, ValueError):
        return None


def _stem(token: str) -> str:
    # A token may carry the opening quote or a space with it ('"yes', ' no').
    return token.strip().lstrip("\"'").strip().lower()


def value_tokens(tokens: Sequence[TokenLogprob], key: str) -> list[TokenLogprob]:
    """The tokens that wrote the JSON string value of ``key`` (the first one in the reply)."""
    text = "".join(t.token for t in tokens)
    m = re.search(r'"' + re.escape(key) + r'"\s*:\s*"((?:[^"\\]|\\.)*)', text)
    if m is None:
        return []
    start, end = m.span(1)
    out: list[TokenLogprob] = []
    pos = 0
    for t in tokens:
        if pos < end and pos + len(t.token) > start:
            out.append(t)
        pos += len(t.token)
    return out


def option_probability(
    tokens: Sequence[TokenLogprob], options: Sequence[str], *, after: str | None = None
) -> dict[str, float] | None:
    """How the model divided its belief among ``options`` at the token where it chose one.

    The deciding token is the first whose text begins one of the options (case aside). Each option's
    share is the probability of the alternatives there that begin it, normalised over the options:
    mass on tokens no option begins (a capital letter a grammar forbids, say) is set aside, not
    counted against either. With ``after``, the search starts once the reply's text holds it (a
    JSON key, say). None when no token chose an option.
    """
    found = option_probabilities(tokens, options, after=after)
    return found[0] if found else None


def option_probabilities(
    tokens: Sequence[TokenLogprob], options: Sequence[str], *, after: str | None = None
) -> list[dict[str, float]]:
    """:func:`option_probability` at every choice: once after each occurrence of ``after`` (or once)."""
    lowered = [o.lower() for o in options]

    def option_of(token: str) -> int | None:
        stem = _stem(token)
        if not stem:
            return None
        hits = [i for i, o in enumerate(lowered) if o.startswith(stem) or stem.startswith(o)]
        return hits[0] if len(hits) == 1 else None

    out: list[dict[str, float]] = []
    so_far = ""
    armed = after is None  # waiting for a choice (after the key, when there is one)
    seen = 0
    for t in tokens:
        so_far += t.token
        if after is not None and so_far.count(after) > seen:
            seen = so_far.count(after)
            armed = True
            continue
        if not armed or option_of(t.token) is None:
            continue
        mass = [0.0] * len(options)
        alternatives: set[str] = set()
        for text, lp in ((t.token, t.logprob), *t.top):
            if text in alternatives:
                continue
            alternatives.add(text)
            k = option_of(text)
            if k is not None:
                mass[k] += math.exp(lp)
        total = sum(mass)
        if total > 0:
            out.append({o: m / total for o, m in zip(options, mass, strict=True)})
        armed = False
        if after is None:
            break
    return out
