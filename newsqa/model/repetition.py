"""Stops the embedded model from writing the same text over and over inside one JSON string.

Greedy decoding by a small model can fall into a loop: a summary that writes its last three sentences
again and again until the token budget is spent (1,200 tokens, a minute on two cores, then an error
instead of a summary). Once a long run of a string's text has come back word for word, nothing in
greedy decoding leads out of it. So the string is closed there -- its closing quote is made the
likeliest next token -- and the reply goes on to its next field. What was written before the loop is
kept; the repeated tail is a fragment that the checks downstream drop (a summary keeps whole
sentences, each once).

Only the text inside one string counts: records of an action list may repeat each other's words
(the checks merge those), and a string's first pass is never touched.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["LOOP_RUN", "LoopGuard", "loop_guard"]

log = logging.getLogger("newsqa")

# Bytes of a string's tail that must have occurred earlier in the same string: about twenty words, a
# length that natural prose does not repeat within one field.
LOOP_RUN = 120
_QUOTE, _BACKSLASH = 0x22, 0x5C


class LoopGuard:
    """A logits processor that closes a JSON string whose last ``run`` bytes already stand earlier in it.

    It reads the reply as it grows (the token chosen at a step is the last input id at the next), so
    it must see every step: put it before any processor that may end the chain early.
    """

    def __init__(self, detokenize: Any, quote_token: int, run: int = LOOP_RUN) -> None:
        self._detokenize = detokenize
        self._quote_token = quote_token
        self.run = run
        self._prompt: int | None = None
        self._read = 0  # reply tokens read so far
        self._string = bytearray()  # the open string's text (only while one is open)
        self._in_string = False
        self._escaped = False
        self.closed = 0  # strings closed because they looped

    def _feed(self, data: bytes) -> None:
        # The quote and the backslash are single bytes that never occur inside a multi-byte UTF-8
        # character, so the reply's bytes can be scanned without decoding them.
        for b in data:
            if not self._in_string:
                if b == _QUOTE:
                    self._in_string = True
                    self._string.clear()
            elif self._escaped:
                self._escaped = False
                self._string.append(b)
            elif b == _BACKSLASH:
                self._escaped = True
                self._string.append(b)
            elif b == _QUOTE:
                self._in_string = False
            else:
                self._string.append(b)

    def looping(self) -> bool:
        """Whether the open string's last ``run`` bytes already stand earlier in that string."""
        text = self._string
        if not self._in_string or self._escaped or len(text) < 2 * self.run:
            return False
        # Searched short of the end, so the tail does not find itself.
        return text.find(text[-self.run :], 0, len(text) - 1) != -1

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self._prompt is None:
            self._prompt = len(input_ids)
        for token in input_ids[self._prompt + self._read :]:
            self._read += 1
            self._feed(bytes(self._detokenize([int(token)])))
        if self.looping():
            self.closed += 1
            log.info("the model was repeating itself inside a JSON string; the string is closed there")
            scores[self._quote_token] = float(scores.max()) + 100.0
        return scores


def loop_guard(llama: Any) -> LoopGuard | None:
    """A :class:`LoopGuard` for ``llama``'s tokenizer, or None when it has no single token for a quote."""
    try:
        quote = llama.tokenize(b'"', add_bos=False, special=False)
        detokenize = llama.detokenize
    except (AttributeError, TypeError, ValueError):
        return None
    return LoopGuard(detokenize, int(quote[0])) if len(quote) == 1 else None
