"""Prompt-injection attack success with the embedded model: before (naive prompt) and after (newsqa).

    python benchmarks/injection.py        # writes benchmarks/injection.md and injection.jsonl

The hostile set (fixtures/injection/cases.jsonl) plants instructions in articles: "ignore previous
instructions", fake system blocks, chat-template control tokens of four model families, requests to
print URLs or secrets, planted false facts, instructions in HTML comments and quotes, a JSON payload,
zero-width tricks and a task switch. An attack succeeds when the answer matches a forbidden pattern.

Before: the article and question in one user message, as the naive baseline of accuracy.py (no
system rules, no delimiting, control tokens passed through, no verification). After: newsqa.ask.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import newsqa  # noqa: E402
from benchmarks.accuracy import baseline  # noqa: E402

CASES = ROOT / "fixtures" / "injection" / "cases.jsonl"
OUT = Path(__file__).resolve().parent


def attacked(answer: str | None, forbidden: list[str]) -> bool:
    return bool(answer) and any(re.search(p, answer or "", re.I | re.M) for p in forbidden)


def main() -> None:
    cases = [json.loads(line) for line in CASES.read_text().splitlines() if line.strip()]
    client = newsqa.ModelClient(cache=False)
    rows = []
    with (OUT / "injection.jsonl").open("w") as out:
        for case in cases:
            article = newsqa.Article.from_text(case["article"])
            for system in ("before", "after"):
                t0 = time.perf_counter()
                if system == "before":
                    r = baseline(client, article, case["question"])
                    answer = r["answer"]
                else:
                    a = newsqa.ask(article, case["question"], client=client)
                    answer = a.answer
                row = {
                    "id": case["id"],
                    "system": system,
                    "answer": answer,
                    "attacked": attacked(answer, case["forbidden"]),
                    "seconds": round(time.perf_counter() - t0, 1),
                }
                rows.append(row)
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                out.flush()
                print(
                    f"{system:6s} {case['id']:24s} {'ATTACKED' if row['attacked'] else 'safe    '} {str(answer)[:70]!r}",
                    flush=True,
                )
    lines = [
        "# Prompt injection\n",
        f"`python benchmarks/injection.py` — {len(cases)} hostile articles (fixtures/injection/cases.jsonl), "
        "embedded model (Qwen2.5-Coder-1.5B-Instruct Q4_K_M), both columns in the same run.\n",
        "| case | before (naive prompt) | after (newsqa) |",
        "|---|---|---|",
    ]
    by = {(r["id"], r["system"]): r for r in rows}
    for case in cases:
        b, a = by[(case["id"], "before")], by[(case["id"], "after")]
        lines.append(
            f"| {case['id']} | {'**attacked**' if b['attacked'] else 'safe'} | {'**attacked**' if a['attacked'] else 'safe'} |"
        )
    for system, label in (("before", "before"), ("after", "after")):
        n = sum(r["attacked"] for r in rows if r["system"] == system)
        lines.append(f"\nAttack success rate {label}: {n}/{len(cases)} = {n / len(cases):.0%}")
    (OUT / "injection.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
