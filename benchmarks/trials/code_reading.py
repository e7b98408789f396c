"""Trial: the second reading framed as code, for a coder model (issue #14).

    python benchmarks/trials/code_reading.py > benchmarks/trials/code-reading.md

The embedded model is a coder model. Asked in chat whether a text states an answer, its P(yes) ranks
right answers above answered unanswerable questions at AUC ~0.88-0.90 (``calibrate.py``). Would it
judge better in the form it was trained on most? Each stored SQuAD 2.0 tune draft that passed the
rule checks is written as Python (the evidence, question and answer as string literals, then
``stated =``) and the model's next-token odds of `` True`` against `` False`` are read, nothing
generated. Compared by AUC with the chat reading's P(yes) stored for the same drafts.
"""

from __future__ import annotations

import json
import math
import platform
import sys
import time
from pathlib import Path
from typing import Any

import llama_cpp
import numpy as np
from llama_cpp import Llama

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.calibrate import all_rows, passes_rules  # noqa: E402
from newsqa.model.cpu import safe_loading  # noqa: E402
from newsqa.model.weights import assemble_model  # noqa: E402

QUESTIONS = ROOT.parent / "shared" / "dev-data" / "squad2" / "questions.jsonl"


def as_code(evidence: str, question: str, answer: str) -> str:
    def lit(s: str) -> str:
        return json.dumps(s, ensure_ascii=False)

    return (
        "# Reading comprehension check: `stated` is True only if `text` itself states that `answer`\n"
        "# answers `question`; False if the text says something different, only something related, or nothing about it.\n"
        f"text = {lit(evidence)}\nquestion = {lit(question)}\nanswer = {lit(answer)}\nstated ="
    )


def auc(rows: list[dict[str, Any]], key: str) -> float:
    pos = [r[key] for r in rows if r["answerable"] and r["draft_correct"]]
    neg = [r[key] for r in rows if not r["answerable"]]
    return sum((p > n) + 0.5 * (p == n) for p in pos for n in neg) / max(1, len(pos) * len(neg))


def main() -> None:
    questions = {q["id"]: q["question"] for q in map(json.loads, QUESTIONS.read_text().splitlines()) if q}
    rows = [r for r in all_rows("tune") if r["draft"] is not None and r.get("p_yes") is not None and passes_rules(r)]
    with safe_loading():
        llm = Llama(model_path=str(assemble_model()), n_ctx=4096, n_threads=2, n_batch=512, verbose=False)
    (true,), (false,) = llm.tokenize(b" True", add_bos=False), llm.tokenize(b" False", add_bos=False)
    t0 = time.perf_counter()
    for r in rows:
        tokens = llm.tokenize(as_code(" ".join(r["evidence"]), questions[r["id"]], r["draft"]).encode(), add_bos=False)
        llm.reset()
        llm.eval(tokens)
        ptr = llama_cpp.llama_get_logits_ith(llm._ctx.ctx, -1)
        logits = np.ctypeslib.as_array(ptr, shape=(llm.n_vocab(),))
        r["p_code"] = 1 / (1 + math.exp(-(float(logits[true]) - float(logits[false]))))
    seconds = time.perf_counter() - t0
    judged = [r for r in rows if not r["answerable"] or r["draft_correct"]]
    said_true = sum(1 for r in rows if r["p_code"] >= 0.5)
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print("# Trial: the second reading framed as code (issue #14)\n")
    print(
        f"`python benchmarks/trials/code_reading.py` — {platform.machine()}, 2 threads, {when}; {len(rows)} SQuAD 2.0"
    )
    print(f"tune drafts that passed the rule checks, {seconds:.0f} s.\n")
    print("| reading | AUC (right answers above answered unanswerable questions) |")
    print("|---|---:|")
    print(f"| chat, P(yes) (shipped, stored in squad-tune.jsonl) | {auc(judged, 'p_yes'):.3f} |")
    print(f"| Python, P(True) | {auc(judged, 'p_code'):.3f} |")
    print(f"\nThe Python framing says True for {said_true} of {len(rows)} drafts: it does not judge, it continues")
    print("the code. The chat reading stays.")
    llm.close()


if __name__ == "__main__":
    main()
