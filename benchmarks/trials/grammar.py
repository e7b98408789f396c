"""Trial: the schema's grammar checked on the likeliest token first (newsqa.model.grammar), against
llama-cpp-python's own constrained decoding, which filters the whole vocabulary at every step.

    python benchmarks/trials/grammar.py

Every recorded request in fixtures/exchanges (drafts, checks, summaries, action passes), each run
both ways at temperature 0 in this process, nothing else running. Before each run the model state
is reset and the prompt read (a one-token request), so both ways start from the same state and the
seconds measured are those of generating. Outputs compared for identity.
"""

from __future__ import annotations

import glob
import json
import platform
import time
from pathlib import Path
from typing import Any

from llama_cpp import Llama

from newsqa.model.cpu import safe_loading
from newsqa.model.grammar import greedy_grammar

ROOT = Path(__file__).resolve().parents[2]
MODEL = Path.home() / ".cache" / "newsqa" / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"


def run(llm: Llama, body: dict[str, Any], greedy: bool) -> tuple[float, int, str, int]:
    args: dict[str, Any] = {
        "messages": body["messages"],
        "temperature": 0.0,
        "response_format": body["response_format"],
    }
    llm.reset()
    llm.create_chat_completion(**args, max_tokens=1)
    grammar = greedy_grammar(llm, body["response_format"], 0.0) if greedy else None
    if grammar is not None:
        args.update(response_format=None, logits_processor=[grammar])
    t = time.perf_counter()
    out: Any = llm.create_chat_completion(**args, max_tokens=body.get("max_tokens") or 600)
    seconds = time.perf_counter() - t
    filtered = grammar.filtered if grammar is not None else -1
    if grammar is not None:
        grammar.close()
    return seconds, int(out["usage"]["completion_tokens"]), str(out["choices"][0]["message"]["content"]), filtered


def main() -> None:
    with safe_loading():  # the buffers newsqa loads with: llama.cpp's defaults crash on AMX builds
        llm = Llama(model_path=str(MODEL), n_ctx=8192, n_threads=2, n_batch=512, verbose=False)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"`python benchmarks/trials/grammar.py` — {platform.machine()}, {when}\n")
    print("| exchange | tokens | whole vocabulary: s (tok/s) | likeliest first: s (tok/s) | steps filtered | same output |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---|")
    total = [0.0, 0.0, 0]
    same = 0
    files = sorted(glob.glob(str(ROOT / "fixtures" / "exchanges" / "*.json")))
    for f in files:
        body = json.loads(Path(f).read_text())["request"]["body"]
        fmt = body.get("response_format")
        if not isinstance(fmt, dict) or fmt.get("type") != "json_object":
            continue
        s_full, n_full, text_full, _ = run(llm, body, greedy=False)
        s_first, n_first, text_first, filtered = run(llm, body, greedy=True)
        same += text_full == text_first
        total[0] += s_full
        total[1] += s_first
        total[2] += n_full
        print(f"| {Path(f).stem[:28]} | {n_full} | {s_full:.1f} ({n_full / s_full:.1f}) | "
              f"{s_first:.1f} ({n_first / s_first:.1f}) | {filtered} of {n_first} | "
              f"{'yes' if text_full == text_first else 'no'} |")  # fmt: skip
    print(f"| all | {total[2]} | {total[0]:.1f} ({total[2] / total[0]:.1f}) | {total[1]:.1f} ({total[2] / total[1]:.1f}) "
          f"| | {same} of {len(files)} |")  # fmt: skip
    llm.close()


if __name__ == "__main__":
    main()
