"""Trial: llama.cpp settings that might make the embedded model read or write faster (issue #16).

    python benchmarks/trials/decoding.py

Two measurements, each in this process, with nothing else running:
1. Prompt reading speed (tokens/s) of 900 tokens of a dev article, per context setting: n_batch 512
   (newsqa's), flash attention, n_batch 256, and an 8-bit KV cache.
2. Prompt-lookup speculative decoding (llama-cpp-python's ``LlamaPromptLookupDecoding``) against
   plain decoding, on the recorded draft and check requests in fixtures/exchanges: seconds for the
   request, then for the same request again (its prompt then in the KV cache: generation alone), and
   whether the outputs are identical at temperature 0.
llama-cpp-python turns ``logits_all`` on for a draft model, which keeps logits for every prompt
token; with 0.3.36 it must also be passed explicitly, or the first prompt fails to evaluate.
"""

from __future__ import annotations

import glob
import json
import time
from pathlib import Path
from typing import Any

from llama_cpp import Llama
from llama_cpp.llama_speculative import LlamaPromptLookupDecoding

from newsqa.model.cpu import safe_loading

ROOT = Path(__file__).resolve().parents[2]
MODEL = Path.home() / ".cache" / "newsqa" / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
ARTICLE = ROOT / "fixtures" / "eval" / "articles" / "02_fema-reform-mikulski.txt"


def reading() -> list[str]:
    text = ARTICLE.read_text()
    out = []
    for cfg in ({"n_batch": 512}, {"n_batch": 512, "flash_attn": True}, {"n_batch": 256},
                {"n_batch": 512, "flash_attn": True, "type_k": 8, "type_v": 8}):  # fmt: skip
        with safe_loading():  # the buffers newsqa loads with: llama.cpp's defaults crash on AMX builds
            llm = Llama(model_path=str(MODEL), n_ctx=4096, n_threads=2, verbose=False, **cfg)
        tokens = llm.tokenize(text.encode())[:900]
        t = time.perf_counter()
        llm.reset()
        llm.eval(tokens)
        out.append(f"| {json.dumps(cfg)} | {len(tokens) / (time.perf_counter() - t):.1f} |")
        llm.close()
    return out


def lookup() -> list[str]:
    bodies: list[dict[str, Any]] = []
    for f in sorted(glob.glob(str(ROOT / "fixtures" / "exchanges" / "*.json"))):
        body = json.loads(Path(f).read_text())["request"]["body"]
        if "question" in body["messages"][-1]["content"].lower():
            bodies.append(body)
    bodies = bodies[:4]
    rows: dict[str, list[tuple[float, float, str]]] = {}
    for mode in ("plain", "prompt lookup (10)"):
        kw: dict[str, Any] = {"n_ctx": 8192, "n_threads": 2, "n_batch": 512, "verbose": False}
        if mode != "plain":
            kw.update(logits_all=True, draft_model=LlamaPromptLookupDecoding(num_pred_tokens=10))
        with safe_loading():  # the buffers newsqa loads with: llama.cpp's defaults crash on AMX builds
            llm = Llama(model_path=str(MODEL), **kw)
        rows[mode] = []
        for b in bodies:
            args = {"messages": b["messages"], "response_format": b.get("response_format"), "temperature": 0,
                    "max_tokens": b.get("max_tokens", 300)}  # fmt: skip
            t = time.perf_counter()
            llm.create_chat_completion(**args)
            first = time.perf_counter() - t
            t = time.perf_counter()
            out = llm.create_chat_completion(**args)
            again = time.perf_counter() - t
            rows[mode].append((first, again, str(out["choices"][0]["message"]["content"])))
        llm.close()
    lines = []
    for i, (p, s) in enumerate(zip(rows["plain"], rows["prompt lookup (10)"], strict=True)):
        lines.append(
            f"| {i + 1} | {p[0]:.1f} / {p[1]:.1f} | {s[0]:.1f} / {s[1]:.1f} | {'yes' if p[2] == s[2] else 'no'} |"
        )
    return lines


def main() -> None:
    print("| context setting | prompt tokens/s |\n|---|---:|")
    print("\n".join(reading()))
    print("\n| request | plain: s / s again | prompt lookup: s / s again | same output |\n|---|---:|---:|---|")
    print("\n".join(lookup()))


if __name__ == "__main__":
    main()
