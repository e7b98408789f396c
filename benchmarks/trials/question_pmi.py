"""Trial (issue #14): does the evidence make the question's own words unlikely? A candidate
answerability signal, measured on the SQuAD 2.0 tune split before any code is written for it.

    python benchmarks/trials/question_pmi.py

SQuAD 2.0's unanswerable questions are mostly an answerable question with one element swapped (an
entity, a date, a negation, an antonym). Read after the sentence it was made from, the swapped
token should be less likely than it is with no text at all: a negative pointwise mutual information
(PMI) between the question's tokens and the evidence, a signal that needs no rule about wording.

For every tune-split row of benchmarks/squad-tune.jsonl where newsqa's draft answered, the question
is read in the second reading's own prompt (check_system + check.txt) twice: after the draft's
evidence, and after an empty text. Per question token: log p(token | evidence) and log p(token | no
text). Scored: unanswerable questions the draft answered against answerable ones it answered right
(the two groups a check must tell apart), by the area under the ROC curve of each feature alone and,
by leave-one-out, of a logistic regression of P(yes) (the second reading's shipped signal) with it.
No newsqa code changes; writes benchmarks/trials/question-pmi.md.
"""

from __future__ import annotations

import json
import platform
import sys
import time
from pathlib import Path

import numpy as np
from llama_cpp import Llama

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.calibrate import log_odds  # noqa: E402
from newsqa import prompts  # noqa: E402
from newsqa.model.cpu import safe_loading  # noqa: E402

MODEL = Path.home() / ".cache" / "newsqa" / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
DATA = ROOT.parent / "shared" / "dev-data" / "squad2"
ROWS = ROOT / "benchmarks" / "squad-tune.jsonl"
OUT = Path(__file__).with_name("question-pmi.md")


def head(text: str) -> str:
    """The second reading's prompt up to "Question:", as the chat template lays it out."""
    task = prompts.render("check", text=text, question="\0", answer="x")
    before = task.split("\0")[0].rstrip(" ")
    return f"<|im_start|>system\n{prompts.load('check_system')}<|im_end|>\n<|im_start|>user\n{before}"


def question_logprobs(llm: Llama, text: str, question: str) -> np.ndarray:
    prompt = head(text)
    pre = llm.tokenize(prompt.encode(), add_bos=False, special=True)
    full = llm.tokenize((prompt + " " + question).encode(), add_bos=False, special=True)
    if full[: len(pre)] != pre:
        raise ValueError("the question's first token merged with the prompt's last")
    llm.reset()
    llm.eval(full)
    scores = np.array(llm.scores[len(pre) - 1 : len(full) - 1], dtype=np.float64)
    scores -= scores.max(axis=1, keepdims=True)
    lse = np.log(np.exp(scores).sum(axis=1))
    return np.array([scores[i, t] - lse[i] for i, t in enumerate(full[len(pre) :])])


def features(with_text: np.ndarray, without: np.ndarray) -> dict[str, float]:
    pmi = with_text - without
    return {
        "mean PMI": float(pmi.mean()),
        "least PMI": float(pmi.min()),
        "sum of negative PMI": float(np.minimum(pmi, 0).sum()),
        "tokens with PMI < -2 (negated)": -float((pmi < -2).sum()),
        "mean log p(token | evidence)": float(with_text.mean()),
        "least log p(token | evidence)": float(with_text.min()),
    }


def auc(pos: list[float], neg: list[float]) -> float:
    wins = sum((a > b) + 0.5 * (a == b) for a in pos for b in neg)
    return wins / (len(pos) * len(neg))


def fit(x: np.ndarray, y: np.ndarray, l2: float = 1e-2) -> np.ndarray:
    x = np.c_[np.ones(len(x)), x]
    w = np.zeros(x.shape[1])
    for _ in range(50):
        p = 1 / (1 + np.exp(-x @ w))
        hessian = (x.T * (p * (1 - p))) @ x + l2 * np.eye(len(w))
        w -= np.linalg.solve(hessian, x.T @ (p - y) + l2 * w)
    return w


def main() -> None:
    questions = {
        q["id"]: q["question"] for q in map(json.loads, (DATA / "questions.jsonl").read_text().splitlines()) if q
    }
    rows = [json.loads(x) for x in ROWS.read_text().splitlines() if x.strip()]
    rows = [r for r in rows if r["system"] == "newsqa" and r.get("draft") and r.get("evidence")]
    rows = [r for r in rows if not r["answerable"] or r["draft_correct"]]
    with safe_loading():  # the buffers newsqa loads with: llama.cpp's defaults crash on AMX builds
        llm = Llama(str(MODEL), n_ctx=1536, logits_all=True, n_threads=2, verbose=False)
    t0 = time.perf_counter()
    feats = []
    for r in rows:
        q = questions[r["id"]]
        feats.append(features(question_logprobs(llm, "\n".join(r["evidence"]), q), question_logprobs(llm, "", q)))
    seconds = time.perf_counter() - t0
    y = np.array([1.0 if r["answerable"] else 0.0 for r in rows])
    p_yes = [log_odds(r["p_yes"]) for r in rows]
    n_un, n_ok = int((y == 0).sum()), int((y == 1).sum())
    lines = [
        "# Trial: the question's own tokens after the evidence (issue #14)\n",
        f"`python benchmarks/trials/question_pmi.py` — {platform.machine()}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {seconds:.0f} s for {len(rows)} questions read twice.\n",
        f"SQuAD 2.0 tune split, rows of `benchmarks/squad-tune.jsonl` where newsqa's draft answered: {n_un} "
        f"unanswerable questions against {n_ok} answerable ones answered right. AUC: the chance that an answerable "
        "question scores above an unanswerable one (0.5 is chance). Combined: a logistic regression of P(yes) "
        "with the feature, scored leave-one-out.\n",
        "| feature | AUC alone | AUC with P(yes), leave-one-out |",
        "|---|---:|---:|",
    ]

    def loo(columns: list[list[float]]) -> float:
        x = np.array(columns).T
        scores = []
        for i in range(len(x)):
            keep = np.arange(len(x)) != i
            w = fit(x[keep], y[keep])
            scores.append(w[0] + x[i] @ w[1:])
        s = np.array(scores)
        return auc(list(s[y == 1]), list(s[y == 0]))

    def alone(col: list[float]) -> float:
        return auc([c for c, t in zip(col, y, strict=True) if t], [c for c, t in zip(col, y, strict=True) if not t])

    lines.append(f"| P(yes) of the second reading (shipped) | {alone(p_yes):.3f} | {loo([p_yes]):.3f} |")
    for name in feats[0]:
        col = [f[name] for f in feats]
        lines.append(f"| {name} | {alone(col):.3f} | {loo([p_yes, col]):.3f} |")
    lines += [
        "",
        "Read: a feature is worth a check only if it adds to P(yes), which the second reading already computes.",
    ]
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
