"""Schema-constrained decoding that checks the model's own choice first.

Given ``response_format={"type": "json_object", "schema": ...}``, llama-cpp-python puts the schema's
grammar in its sampler chain, where it is tried against every token of the vocabulary (152k for
Qwen2.5) at every step: on 2 cores, a third of the time per generated token. At temperature 0 the
choice is the likeliest token the grammar allows. When the likeliest token of all is allowed -- nearly
always, since the model writes the JSON it was asked for -- that token is the choice, and checking it
alone gives the same output; only when the grammar rejects it is the whole vocabulary filtered. (This
is what llama.cpp's own sampler does with its "grammar first" option.) With temperature above 0 the
next token is drawn from the allowed ones, so the whole vocabulary must be filtered: llama-cpp-python
does that itself.
"""

from __future__ import annotations

import ctypes
import json
import math
from functools import lru_cache
from typing import Any

__all__ = ["GreedyGrammar", "greedy_grammar"]


@lru_cache(maxsize=32)
def _gbnf(schema: str | None) -> tuple[str, str]:
    """The grammar text and root rule for a JSON schema (any JSON without one), as llama-cpp-python
    builds them for ``response_format``."""
    from llama_cpp.llama_grammar import JSON_GBNF, LlamaGrammar

    if schema:
        grammar = LlamaGrammar.from_json_schema(schema, verbose=False)
    else:
        grammar = LlamaGrammar.from_string(JSON_GBNF, verbose=False)
    return grammar._grammar, grammar._root


class GreedyGrammar:
    """A logits processor for greedy decoding under a grammar: the likeliest token when the grammar
    allows it, else the scores with every token it forbids set to minus infinity.

    The token chosen at a step becomes known at the next one (the last of its input ids), and is then
    fed to the grammar; the final step chooses the end of the reply, which the grammar need not see.
    """

    def __init__(self, sampler: Any) -> None:
        import llama_cpp  # resolved once: __call__ runs at every generated token

        self._lib = llama_cpp
        self._sampler = sampler
        self._seen: int | None = None
        self._pointer = ctypes.POINTER(llama_cpp.llama_token_data)
        self._one: Any = (llama_cpp.llama_token_data * 1)()
        self._one_at = ctypes.cast(self._one, self._pointer)
        self.steps = 0
        self.filtered = 0  # steps at which the likeliest token was forbidden and the vocabulary filtered

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        import numpy as np

        if self._seen is not None and len(input_ids) == self._seen + 1:
            self._lib.llama_sampler_accept(self._sampler, int(input_ids[-1]))
        self._seen = len(input_ids)
        self.steps += 1
        best = int(np.argmax(scores))
        self._one[0].id, self._one[0].logit, self._one[0].p = best, float(scores[best]), 0.0
        self._apply(self._one_at, 1)
        if self._one[0].logit != -math.inf:
            return scores
        self.filtered += 1
        layout = np.dtype([("id", np.intc), ("logit", np.single), ("p", np.single)], align=True)  # llama_token_data
        table = np.empty(len(scores), dtype=layout)
        table["id"] = np.arange(len(scores))
        table["logit"] = scores
        table["p"] = 0.0
        self._apply(table.ctypes.data_as(self._pointer), len(scores))
        return table["logit"].copy()

    def _apply(self, data: Any, size: int) -> None:
        candidates = self._lib.llama_token_data_array(data=data, size=size, selected=-1, sorted=False)
        self._lib.llama_sampler_apply(self._sampler, ctypes.byref(candidates))

    def close(self) -> None:
        if self._sampler is not None:
            self._lib.llama_sampler_free(self._sampler)
            self._sampler = None


def greedy_grammar(llama: Any, response_format: object, temperature: float) -> GreedyGrammar | None:
    """A :class:`GreedyGrammar` for ``response_format`` on ``llama``, or None where llama-cpp-python
    must constrain decoding itself (sampling above temperature 0, no JSON format, a schema it cannot
    turn into a grammar, a llama-cpp-python without these internals)."""
    if temperature != 0 or not isinstance(response_format, dict) or response_format.get("type") != "json_object":
        return None
    schema = response_format.get("schema")
    try:
        import llama_cpp

        text, root = _gbnf(json.dumps(schema) if schema else None)
        sampler = llama_cpp.llama_sampler_init_grammar(llama._model.vocab, text.encode(), root.encode())
    except Exception:  # any failure leaves the constraint to llama-cpp-python, as before
        return None
    return GreedyGrammar(sampler) if sampler else None
