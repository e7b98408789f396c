"""The embedded model's loop guard: a JSON string whose text comes back word for word is closed."""

from __future__ import annotations

import numpy as np

from newsqa.model import local
from newsqa.model.repetition import LOOP_RUN, LoopGuard, loop_guard

QUOTE = ord('"')


class ByteTokenizer:
    """A tokenizer whose tokens are single bytes, enough to drive the guard as llama-cpp-python does."""

    def tokenize(self, text: bytes, add_bos: bool = False, special: bool = False) -> list[int]:
        return list(text)

    def detokenize(self, tokens: list[int]) -> bytes:
        return bytes(tokens)


def write(guard: LoopGuard, reply: str, prompt: bytes = b"<prompt>") -> int | None:
    """Feeds ``reply`` a token per step; the reply's length when the guard forces the quote, else None."""
    ids = list(prompt)
    for k, b in enumerate([*reply.encode(), None]):
        scores = guard(np.array(ids), np.zeros(256, dtype=np.float32))
        if int(np.argmax(scores)) == QUOTE and scores[QUOTE] > 50:
            return k
        if b is None:
            return None
        ids.append(b)
    return None


def guard() -> LoopGuard:
    made = loop_guard(ByteTokenizer())
    assert made is not None
    return made


def test_a_string_that_comes_back_word_for_word_is_closed_within_one_run_of_the_repeat() -> None:
    loop = (
        "The letter was signed by 17 senators, including John Kerry, Ron Wyden and Joseph Biden. "
        "The letter stated that the fleet was en route to the Antarctic Ocean to hunt whales. "
        "It asked Japan to reconsider the hunt or, at a minimum, scale back its scope. "
    )
    reply = '{"headline": "Senators write to Japan", "summary": "' + loop * 6
    at = write(guard(), reply)
    assert at is not None
    text = reply[reply.index('"summary": "') + 12 : at]
    assert len(text) == len(loop) + LOOP_RUN  # the whole first pass, and one run of the second


def test_prose_that_does_not_repeat_itself_is_left_alone() -> None:
    words = " ".join(f"word{k}" for k in range(2000))
    assert write(guard(), '{"summary": "' + words + '"}') is None


def test_the_same_words_in_two_strings_are_not_a_loop() -> None:
    # Action records often copy the same clause of the article: each string is judged on its own.
    clause = "requested 20,000 National Guard members to help carry out the President's mandate to arrest and deport"
    records = ", ".join(f'"S{k}": {{"action": "{clause} {clause[:40]}"}}' for k in range(5))
    assert write(guard(), "{" + records + "}") is None


def test_escaped_quotes_do_not_end_a_string() -> None:
    part = 'he said \\"no\\" to the plan, and then the council voted again on the same motion before noon; '
    at = write(guard(), '{"summary": "' + part * 10)
    # Read as quotes that end the string, they would cut it into pieces too short to be judged.
    assert at == len('{"summary": "') + max(2 * LOOP_RUN, len(part) + LOOP_RUN)


def test_the_guard_runs_before_the_grammar_and_only_for_json_replies() -> None:
    fmt = {"type": "json_object", "schema": {"type": "object"}}
    kwargs = {"messages": [], "response_format": fmt, "temperature": 0.0, "logits_processor": ["recorder"]}
    built, grammar = local._constrained(ByteTokenizer(), kwargs)
    # No sampler internals here, so llama-cpp-python keeps the format; the guard follows the recorder.
    assert grammar is None and built["response_format"] == fmt
    assert built["logits_processor"][0] == "recorder" and isinstance(built["logits_processor"][1], LoopGuard)
    plain = {"messages": [], "response_format": None, "temperature": 0.0}
    assert local._constrained(ByteTokenizer(), plain) == (plain, None)


def test_a_tokenizer_without_a_single_quote_token_gets_no_guard() -> None:
    class Pairs(ByteTokenizer):
        def tokenize(self, text: bytes, add_bos: bool = False, special: bool = False) -> list[int]:
            return [1, 2]

    assert loop_guard(Pairs()) is None and loop_guard(object()) is None
