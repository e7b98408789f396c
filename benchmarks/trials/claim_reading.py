"""Trial (issue #14): the second reading asked as a claim to verify, beside the shipped one.

    python benchmarks/trials/claim_reading.py            # both splits (about 30 minutes)
    python benchmarks/trials/claim_reading.py --table    # the tables again from the saved rows

The shipped second reading shows the model the evidence, the question and the proposed answer, and
takes P(yes). The issue suggests asking it as a claim: "Does the text state that <answer as a
statement>?". Here the statement is written by the model from the question and the answer alone
(it never sees the evidence, so it cannot bend the question towards the text), then read against the
evidence alone (the question is not shown again). P(yes) of that reading is the new signal.

Rows: newsqa's drafts in benchmarks/squad-tune.jsonl and squad-test.jsonl as committed at ``ROWS_AT`` (the draft, its evidence,
the shipped reading's P(yes) and every other check's outcome), so only the claim is new. The rule
"refuse when P(yes) < a or P(claim yes) < b" is fitted on the tune split only (the thresholds that
catch the most unanswerable drafts while refusing at most 10 % of the right ones), then both splits
are scored end to end as benchmarks/calibrate.py replays the pipeline: a question is refused by the
draft, by a rule as it ran, by the draft's P(answered) below its shipped bound, or by the readings. Writes benchmarks/trials/claim-reading.md and claim-reading.jsonl (one row per draft).
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from llama_cpp import Llama

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.calibrate import pct, score, stands_by_threshold  # noqa: E402
from newsqa import prompts  # noqa: E402
from newsqa.grounding.confidence import ANSWERED_THRESHOLD  # noqa: E402
from newsqa.grounding.second_reading import YES_THRESHOLD  # noqa: E402
from newsqa.model.cpu import safe_loading  # noqa: E402

MODEL = Path.home() / ".cache" / "newsqa" / "models" / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
DATA = ROOT.parent / "shared" / "dev-data" / "squad2"
OUT = Path(__file__).with_name("claim-reading.md")
SAVED = Path(__file__).with_name("claim-reading.jsonl")
STATEMENT_SYSTEM = "You rewrite text exactly, adding nothing."
STATEMENT = (
    "Question: {q}\nAnswer: {a}\n\nRewrite the question and its answer as one short declarative sentence that "
    "states the answer. Reply with the sentence only."
)
CLAIM_CHECK = (
    'Text:\n{text}\n\nClaim: {claim}\n\nDoes the text state this claim? Say "yes" only if the text itself says it. '
    'Say "no" if the text says something different, says only something related, or does not say it.\n'
    'Reply as JSON: {{"verdict": "yes"}} or {{"verdict": "no"}}'
)
MAX_WRONG = 0.10
# The stored runs these trials read: squad-tune.jsonl and squad-test.jsonl as committed here (the test
# split's 324-question run at e516a0b), so that a later run of squad.py does not change the trials.
ROWS_AT = "42e88e1"


def stored_rows(split: str) -> list[dict[str, Any]]:
    """newsqa's and the baseline's rows of one split, as they stood at ``ROWS_AT``."""
    text = subprocess.run(
        ["git", "show", f"{ROWS_AT}:benchmarks/squad-{split}.jsonl"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    return [json.loads(x) for x in text.splitlines() if x.strip()]


class Reader:
    """P("yes") as the first token of a JSON verdict, reading only what differs from the last prompt."""

    def __init__(self) -> None:
        with safe_loading():  # the buffers newsqa loads with: llama.cpp's defaults crash on AMX builds
            self.llm = Llama(str(MODEL), n_ctx=2048, n_threads=2, verbose=False)
        self.yes = self.llm.tokenize(b"yes", add_bos=False)[0]
        self.no = self.llm.tokenize(b"no", add_bos=False)[0]

    @staticmethod
    def chat(system: str, user: str) -> str:
        return f"<|im_start|>system\n{system}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"

    def p_yes(self, system: str, user: str) -> float:
        tokens = self.llm.tokenize((self.chat(system, user) + '{"verdict": "').encode(), add_bos=False, special=True)
        common = 0
        for a, b in zip(self.llm.input_ids[: self.llm.n_tokens], tokens, strict=False):
            if a != b:
                break
            common += 1
        self.llm.n_tokens = min(common, len(tokens) - 1)
        self.llm.eval(tokens[self.llm.n_tokens :])
        logits = np.ctypeslib.as_array(self.llm._ctx.get_logits(), shape=(self.llm.n_vocab(),))
        return float(1 / (1 + math.exp(float(logits[self.no]) - float(logits[self.yes]))))

    def statement(self, question: str, answer: str) -> str:
        out: Any = self.llm.create_chat_completion(
            messages=[
                {"role": "system", "content": STATEMENT_SYSTEM},
                {"role": "user", "content": STATEMENT.format(q=question, a=answer)},
            ],
            temperature=0,
            max_tokens=64,
        )
        return str(out["choices"][0]["message"]["content"]).strip()


def measure(splits: list[str]) -> None:
    questions = {
        q["id"]: q["question"] for q in map(json.loads, (DATA / "questions.jsonl").read_text().splitlines()) if q
    }
    done = {json.loads(x)["id"] for x in SAVED.read_text().splitlines() if x.strip()} if SAVED.exists() else set()
    reader = Reader()
    with SAVED.open("a") as out:
        for split in splits:
            rows = stored_rows(split)
            for r in rows:
                if r["system"] != "newsqa" or not r.get("draft") or not r.get("evidence") or r["id"] in done:
                    continue
                q = questions[r["id"]]
                t = time.perf_counter()
                claim = reader.statement(q, r["draft"])
                p_claim = reader.p_yes(
                    prompts.load("check_system"), CLAIM_CHECK.format(text="\n".join(r["evidence"]), claim=claim)
                )
                out.write(json.dumps({"split": split, "id": r["id"], "claim": claim, "p_claim": round(p_claim, 4),
                                      "seconds": round(time.perf_counter() - t, 2)}) + "\n")  # fmt: skip
                out.flush()


def stands(r: dict[str, Any], t: float) -> bool:
    """The pipeline's decision as calibrate.py replays it: every rule as it ran, the draft's P(answered)
    at its shipped bound, and the second reading's P(yes) >= ``t``."""
    return stands_by_threshold(r, t, ANSWERED_THRESHOLD)


def scored(rows: list[dict[str, Any]], decide: Callable[[dict[str, Any]], bool]) -> tuple[str, str, float, float]:
    """Answerable and unanswerable accuracy over every question of a split, as text and as fractions."""
    s = score(rows, decide)
    (a, na), (u, nu) = s["answerable"], s["unanswerable"]
    return pct(a, na), pct(u, nu), a / na, u / nu


def table() -> None:
    saved = {x["id"]: x for x in map(json.loads, SAVED.read_text().splitlines()) if x}
    splits = {}
    for split in ("tune", "test"):
        rows = stored_rows(split)
        rows = [r | {"p_claim": saved.get(r["id"], {}).get("p_claim")} for r in rows if r["system"] == "newsqa"]
        splits[split] = rows
    # The drafts the readings decide: every rule and the draft's own confidence let them through.
    tune = [r for r in splits["tune"] if r["draft"] is not None and r["p_claim"] is not None and stands(r, 0.0)]
    good = [r for r in tune if r["answerable"] and r["draft_correct"]]
    bad = [r for r in tune if not r["answerable"]]
    best: tuple[float, float, float] = (-1.0, 0.0, 0.0)
    for a in np.arange(0.30, 0.80, 0.025):
        for b in np.arange(0.05, 0.80, 0.025):
            wrong = sum(1 for r in good if r["p_yes"] < a or r["p_claim"] < b) / len(good)
            caught = sum(1 for r in bad if r["p_yes"] < a or r["p_claim"] < b) / len(bad)
            if wrong <= MAX_WRONG and caught > best[0]:
                best = (caught, round(float(a), 3), round(float(b), 3))
    _, a, b = best
    alone: tuple[float, float] = (-1.0, 0.0)
    for t in np.arange(0.30, 0.80, 0.025):
        wrong = sum(1 for r in good if r["p_yes"] < t) / len(good)
        caught = sum(1 for r in bad if r["p_yes"] < t) / len(bad)
        if wrong <= MAX_WRONG and caught > alone[0]:
            alone = (caught, round(float(t), 3))
    secs = [x["seconds"] for x in saved.values()]
    lines = [
        "# Trial: the second reading asked as a claim (issue #14)\n",
        f"`python benchmarks/trials/claim_reading.py` — {platform.machine()}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; newsqa's stored SQuAD 2.0 drafts "
        f"(`squad-tune.jsonl`, `squad-test.jsonl` at {ROWS_AT}), {len(saved)} drafts read. The claim costs "
        f"{sum(secs) / len(secs):.1f} s per answered question (writing the statement and reading it), on top of "
        "the shipped reading.\n",
        f"Fitted on the tune split only (most unanswerable drafts caught with at most {MAX_WRONG:.0%} of the right "
        f"drafts refused): refuse when P(yes) < {a} or P(claim yes) < {b}; P(yes) alone at the same bound: "
        f"< {alone[1]}. Scored end to end as `benchmarks/calibrate.py` replays the pipeline (every rule as it ran, "
        "the draft's P(answered) at its shipped bound):\n",
        "| rule | split | answerable accuracy | unanswerable accuracy |",
        "|---|---|---:|---:|",
    ]
    rules: list[tuple[str, Callable[[dict[str, Any]], bool]]] = [
        (f"shipped: P(yes) < {YES_THRESHOLD:g}", lambda r: stands(r, YES_THRESHOLD)),
        (f"P(yes) < {alone[1]} (fitted alone)", lambda r: stands(r, alone[1])),
        (
            f"P(yes) < {a} or P(claim yes) < {b}",
            lambda r: stands(r, a) and not (r["p_claim"] is not None and r["p_claim"] < b),
        ),
    ]
    test: dict[str, tuple[float, float]] = {}
    for name, rule in rules:
        for split in ("tune", "test"):
            ans, una, right, honest = scored(splits[split], rule)
            lines.append(f"| {name} | {split} | {ans} | {una} |")
            if split == "test":
                test[name] = (right, honest)
    (_, (r1, h1)), (_, (r2, h2)) = list(test.items())[1:]
    lines += [
        "",
        f"Read: on the test split the claim moves answerable accuracy by {100 * (r2 - r1):+.1f} points and unanswerable "
        f"accuracy by {100 * (h2 - h1):+.1f} points against P(yes) alone at its own fitted bound, for "
        f"{sum(secs) / len(secs):.1f} s more per answered question.",
    ]
    OUT.write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--table", action="store_true", help="only rewrite the table from the saved rows")
    args = ap.parse_args()
    if not args.table:
        measure(["tune", "test"])
    table()


if __name__ == "__main__":
    main()
