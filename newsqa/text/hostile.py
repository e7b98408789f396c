"""Defences against articles that try to instruct the model (prompt injection).

- :func:`defang` breaks up strings that chat templates turn into control tokens, so article text
  reaches every model as plain text.
- :func:`instruction_like` spots sentences that give orders to an AI rather than report news; the
  prompt labels them, and they are never accepted as evidence.
- :func:`echoes` tells when an answer repeats such a planted instruction.
- :func:`quarantined` finds the sentences that stand inside an imitated chat turn (between chat
  control tokens, or after a role header such as ``SYSTEM:``). Text that imitates a chat turn is
  hostile by construction, whatever it says: it is flagged in the prompt, never citable as
  evidence, and an answer that repeats it is refused.
"""

from __future__ import annotations

import functools
import re
from typing import TYPE_CHECKING

from .words import normalise

if TYPE_CHECKING:
    from .article import Article

__all__ = ["defang", "echoes", "instruction_like", "quarantined"]

# Strings that chat templates turn into control tokens. Article text must reach the model as plain
# text, so each is broken up with a space: still readable, never a special token.
_CONTROL_TOKENS = re.compile(
    r"<\|[^|<>\s]{1,40}\|>|\[/?INST\]|<</?SYS>>|</?s>|<(?:start|end)_of_turn>",
    re.IGNORECASE,
)


def defang(text: str) -> str:
    """Make control-token look-alikes (``<|im_start|>``, ``[INST]``, ``<start_of_turn>`` ...) harmless."""
    return _CONTROL_TOKENS.sub(lambda m: m.group(0)[0] + " " + m.group(0)[1:], text)


# Sentences that address an AI rather than report news: the shape of a planted instruction.
# Not a bare "assistant": news is full of assistant secretaries and executive assistants.
_AI = r"(?:ai|a\.i\.|ai assistants?|ai models?|language models?|llms?|chatbots?|gpt)"
_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget)\b.{0,40}\b(instructions?|prompts?|the article|the question|rules)\b"
    r"|\b(system prompt|api keys?|new task|new policy|ai instructions?|tell the user)\b"
    rf"|\b(note|message|instructions?) (to|for) {_AI}\b"
    rf"|\b{_AI}\b.{{0,80}}\b(must|should|always|never|reply|respond|print|include|tell|report)\b"
    r"|\b(you must|reply only|reply with|respond with|answer (every|all|each) questions?)\b"
    r"|\bthe (assistant|model) (must|should|will always)\b"
    r"|<\s?\|[^|]{1,40}\|>|\[\s?/?INST\]|<\s?(start|end)_of_turn>|<<\s?/?SYS>>|<!--"
    r"|^\s*(system|assistant|developer)\s*:|\"(status|answer|evidence)\"\s*:",
    re.IGNORECASE | re.MULTILINE,
)


def instruction_like(text: str) -> bool:
    """True for text that gives orders to an AI (a planted prompt injection), not news."""
    return bool(_INSTRUCTION.search(text))


def echoes(answer: str, source: str, n: int = 4) -> bool:
    """True when ``answer`` repeats a run of ``n`` or more words of ``source``."""
    a, s = re.findall(r"\w+", normalise(answer)), re.findall(r"\w+", normalise(source))
    grams = {tuple(s[i : i + n]) for i in range(len(s) - n + 1)}
    return any(tuple(a[i : i + n]) in grams for i in range(len(a) - n + 1))


# A chat turn opens with a control token or a role header line, and closes with a control token
# (or, failing one, at the end of its paragraph).
_TURN_OPEN = re.compile(
    r"<\|(?:im_start|start_header_id|system|user|assistant)\|>|<start_of_turn>|\[INST\]|<<SYS>>"
    r"|^[ \t]*(?:#{1,3}[ \t]*)?(?:system|assistant|user|developer|human|model)[ \t]*:",
    re.IGNORECASE | re.MULTILINE,
)
_TURN_CLOSE = re.compile(r"<\|(?:im_end|eot_id|end)\|>|<end_of_turn>|\[/INST\]|<</SYS>>|</s>", re.IGNORECASE)


@functools.lru_cache(maxsize=16)
def quarantined(article: Article) -> frozenset[int]:
    """The sentences (0-based) that stand inside a chat turn imitated in the article's text."""
    text = article.text
    spans: list[tuple[int, int]] = []
    for m in _TURN_OPEN.finditer(text):
        if spans and m.start() < spans[-1][1]:
            continue
        # The turn runs to its closing token (within a few paragraphs), else to the end of its paragraph.
        close = _TURN_CLOSE.search(text, m.end(), m.end() + 2000)
        para_end = next((p.end for p in article.paragraphs if p.start <= m.start() < p.end + 1), len(text))
        end = close.end() if close is not None else para_end
        spans.append((m.start(), end))
    if not spans:
        return frozenset()
    return frozenset(k for k, s in enumerate(article.sentences) if any(a < s.end and s.start < b for a, b in spans))
