"""Accuracy on the labelled dev set in fixtures/eval/, newsqa against a naive baseline, same model, same run.

    python benchmarks/accuracy.py [--limit N] [--articles 01,02] [--long]

newsqa: ``newsqa.ask`` with the embedded model (verified evidence, honest refusals).
Baseline: the whole article and the question in one prompt, a free-text answer with a supporting
quote, no verification — the "stuff it all in" chain most tools start from.

Reports answer accuracy on answerable questions (normalised containment of a gold answer, and token
F1), unanswerable accuracy (saying the article does not say), the fabricated-evidence rate (returned
quotes that do not stand in the article), and tokens and seconds per question. Writes
benchmarks/accuracy.md and benchmarks/accuracy.jsonl.
"""

from __future__ import annotations

import argparse
import json
import re
import string
import sys
import time
from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import newsqa  # noqa: E402
from newsqa.model.loop import run_sync  # noqa: E402
from newsqa.text.words import normalise  # noqa: E402

EVAL = ROOT / "fixtures" / "eval"
OUT = Path(__file__).resolve().parent
BASELINE_PROMPT = (
    "Read the article and answer the question.\n\nArticle:\n{article}\n\nQuestion: {question}\n\n"
    'Reply in two lines:\nAnswer: <short answer, or "NOT IN ARTICLE" if the article does not say>\n'
    'Quote: "<the sentence of the article that supports it>"'
)
REFUSAL = re.compile(
    r"not in (the )?article|does not (say|state|mention|specify)|not (mentioned|stated|specified)|no information", re.I
)


def norm(s: str) -> str:
    s = normalise(s).replace(",", "")
    s = "".join(ch for ch in s if ch not in string.punctuation or ch in "$%.")
    return " ".join(w for w in s.split() if w not in ("a", "an", "the"))


def f1(pred: str, gold: str) -> float:
    p, g = norm(pred).split(), norm(gold).split()
    common = sum((Counter(p) & Counter(g)).values())
    if not common:
        return 0.0
    prec, rec = common / len(p), common / len(g)
    return 2 * prec * rec / (prec + rec)


def correct(pred: str | None, answers: list[str]) -> tuple[bool, float]:
    """Correct when a gold answer is contained in the prediction after normalisation, or token F1 >= 0.8
    (a list given without its "and", a date without "before")."""
    if not pred:
        return False, 0.0
    best = max(f1(pred, a) for a in answers)
    contained = any(norm(a) and norm(a) in norm(pred) for a in answers)
    return contained or best >= 0.8, best


def _fitting(client: newsqa.ModelClient, text: str, room: int) -> str:
    """The longest head of ``text`` within ``room`` tokens: what a naive chain sends when an article overflows."""
    tok = client.tokenizer
    if tok.count(text) <= room:
        return text
    lo, hi = 0, len(text)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if tok.count(text[:mid]) <= room:
            lo = mid
        else:
            hi = mid - 1
    return text[:lo]


def baseline(client: newsqa.ModelClient, article: newsqa.Article, question: str) -> dict[str, Any]:
    # The whole article if it fits the window, else its head (room for the instructions and 200 tokens).
    text = _fitting(client, article.text, client.context_window - 200 - 150)

    async def call() -> Any:
        oa = client._openai()
        return await oa.chat.completions.create(
            model=client.model,
            temperature=0.0,
            max_tokens=200,
            messages=[{"role": "user", "content": BASELINE_PROMPT.format(article=text, question=question)}],
        )

    r = run_sync(call())
    text = r.choices[0].message.content or ""
    m = re.search(r"Answer:\s*(.*?)(?:\s*Quote:|$)", text, re.S)
    answer = (m.group(1) if m else text.split("Quote:")[0]).strip()
    q = re.search(r'Quote:\s*["“]?(.*?)["”]?\s*$', text, re.S)
    quote = q.group(1).strip() if q else ""
    refused = bool(REFUSAL.search(answer))
    fabricated = bool(quote) and not refused and quote not in article.text
    return {
        "answer": None if refused else answer,
        "refused": refused,
        "quotes": [quote] if quote and not refused else [],
        "fabricated": int(fabricated),
        "tokens": r.usage.total_tokens if r.usage else 0,
    }


def ours(client: newsqa.ModelClient, article: newsqa.Article, question: str) -> dict[str, Any]:
    a = newsqa.ask(article, question, client=client)
    fabricated = sum(1 for e in a.evidence if article.text[e.start : e.end] != e.quote)
    return {
        "answer": a.answer,
        "refused": a.status == "not_in_article",
        "quotes": [e.quote for e in a.evidence],
        "fabricated": fabricated,
        "tokens": a.usage.total_tokens,
        "unsupported": a.unsupported,
        "refused_by": a.refusal.check if a.refusal else None,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=None, help="only the first N questions")
    ap.add_argument("--articles", default=None, help="comma-separated article numbers, e.g. 01,05")
    ap.add_argument("--long", action="store_true", help="include the long document (slow on a CPU)")
    ap.add_argument("--systems", default="newsqa,baseline")
    ap.add_argument("--rescore", action="store_true", help="recompute accuracy.md from accuracy.jsonl")
    ap.add_argument(
        "--reuse",
        default="",
        help="systems whose rows are taken from the existing accuracy.jsonl where it has them (code unchanged); new questions still run",
    )
    args = ap.parse_args()
    if args.rescore:
        rescore()
        return

    questions = [json.loads(line) for line in (EVAL / "questions.jsonl").read_text().splitlines() if line.strip()]
    if not args.long:
        questions = [q for q in questions if not q["article"].startswith("long/")]
    if args.articles:
        wanted = tuple(f"articles/{n}_" for n in args.articles.split(","))
        questions = [q for q in questions if q["article"].startswith(wanted)]
    questions = questions[: args.limit]
    client = newsqa.ModelClient(cache=False)
    systems = {"newsqa": ours, "baseline": baseline}
    reuse = {s for s in args.reuse.split(",") if s}
    old: dict[tuple[str, str], dict[str, Any]] = {}
    if reuse:
        for line in (OUT / "accuracy.jsonl").read_text().splitlines():
            r = json.loads(line)
            if r["system"] in reuse:
                old[(r["system"], r["id"])] = {**r, "reused": True}
    rows: list[dict[str, Any]] = []
    out = (OUT / "accuracy.jsonl").open("w")
    # Questions grouped by article, each system in turn: the model state for an article is reused by
    # that system's questions, as it would be in use.
    by_article: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for q in questions:
        by_article[q["article"]].append(q)
    for path, qs in by_article.items():
        article = newsqa.Article.from_file(EVAL / path)
        for name in args.systems.split(","):
            for q in qs:
                if (name, q["id"]) in old:
                    rows.append(old[(name, q["id"])])
                    out.write(json.dumps(rows[-1], ensure_ascii=False) + "\n")
                    continue
                t0 = time.perf_counter()
                r = systems[name](client, article, q["question"])
                r["seconds"] = round(time.perf_counter() - t0, 2)
                answerable = bool(q["answers"])
                ok, tf1 = correct(r["answer"], q["answers"]) if answerable else (r["refused"], float(r["refused"]))
                row = {
                    "system": name,
                    "id": q["id"],
                    "type": q["type"],
                    "answerable": answerable,
                    "correct": ok,
                    "f1": round(tf1, 3),
                    **r,
                }
                rows.append(row)
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                out.flush()
                print(
                    f"{name:8s} {q['id']:7s} {'ok ' if ok else 'BAD'} {r['seconds']:5.1f}s {str(r['answer'])[:70]!r}",
                    flush=True,
                )
        # A long run reports as it goes: the table always covers the articles done so far.
        done = len({r["id"].split("-")[0] for r in rows})
        write_table(rows, done, partial=done < len(by_article))
    out.close()


def rescore() -> None:
    gold = {q["id"]: q for q in map(json.loads, (EVAL / "questions.jsonl").read_text().splitlines()) if q}
    rows = [json.loads(line) for line in (OUT / "accuracy.jsonl").read_text().splitlines() if line.strip()]
    for r in rows:
        answers = gold[r["id"]]["answers"]
        r["answerable"], r["type"] = bool(answers), gold[r["id"]]["type"]
        if answers:
            ok, tf1 = correct(r["answer"], answers)
            r["correct"], r["f1"] = ok, round(tf1, 3)
        else:
            r["correct"], r["f1"] = r["refused"], float(r["refused"])
    (OUT / "accuracy.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    # Only articles both systems finished are compared.
    done = {r["id"] for r in rows if r["system"] == "baseline"}
    rows = [r for r in rows if r["id"] in done]
    write_table(rows, len({r["id"].split("-")[0] for r in rows}))


def write_table(rows: list[dict[str, Any]], n_articles: int, *, partial: bool = False) -> None:
    ids = ", ".join(sorted({r["id"].split("-")[0] for r in rows}))
    note = " **Partial run: it was stopped before the other articles.**" if partial else ""
    reused = sorted({r["system"] for r in rows if r.get("reused")})
    if reused:
        note += f" Rows of {', '.join(reused)} are reused from the previous run (same code, model and settings)."
    lines = [
        "# Accuracy on the dev set\n",
        f"`{' '.join(['python', 'benchmarks/accuracy.py', *sys.argv[1:]])}` — {n_articles} articles ({ids}), "
        f"{len({r['id'] for r in rows})} questions (fixtures/eval), embedded model (Qwen2.5-Coder-1.5B-Instruct "
        f"Q4_K_M) for both systems{'' if reused else ', same run'}.{note}\n",
        "| system | answer accuracy | answer token F1 | unanswerable accuracy | fabricated evidence | tokens / question | seconds / question |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    split = {
        q["id"]: q.get("split", "dev")
        for q in map(json.loads, (EVAL / "questions.jsonl").read_text().splitlines())
        if q
    }
    held = [r for r in rows if split.get(r["id"]) == "heldout"]
    for name in dict.fromkeys(r["system"] for r in rows):
        lines.append(_row(name, [r for r in rows if r["system"] == name]))
    if held:
        lines += [
            "",
            f'Of these, the {len({r["id"] for r in held})} held-out questions (`"split": "heldout"`: written after the '
            "answer-kind rules, to test them on questions they were not made from):",
            "",
            *lines[2:4],
        ]
        for name in dict.fromkeys(r["system"] for r in held):
            lines.append(_row(name, [r for r in held if r["system"] == name]))
    ours = [r for r in rows if r["system"] == "newsqa" and "refused_by" in r]
    if ours:
        from collections import Counter

        wrong = Counter(r["refused_by"] for r in ours if r["answerable"] and r["refused_by"])
        caught = Counter(r["refused_by"] for r in ours if not r["answerable"] and r["refused_by"])
        lines += [
            "",
            "newsqa's refusals by the check that made them: answerable questions refused (wrongly) "
            + (", ".join(f"`{k}` {v}" for k, v in wrong.most_common()) or "none")
            + "; unanswerable questions refused (rightly) "
            + (", ".join(f"`{k}` {v}" for k, v in caught.most_common()) or "none")
            + ".",
        ]
    (OUT / "accuracy.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _row(name: str, rs: list[dict[str, Any]]) -> str:
    ans = [r for r in rs if r["answerable"]]
    una = [r for r in rs if not r["answerable"]]
    quotes = sum(len(r["quotes"]) for r in rs)
    fab = sum(r["fabricated"] for r in rs)
    return (
        f"| {name} | {sum(r['correct'] for r in ans) / max(1, len(ans)):.1%} ({sum(r['correct'] for r in ans)}/{len(ans)}) "
        f"| {sum(r['f1'] for r in ans) / max(1, len(ans)):.3f} "
        f"| {sum(r['correct'] for r in una) / max(1, len(una)):.1%} ({sum(r['correct'] for r in una)}/{len(una)}) "
        f"| {fab / max(1, quotes):.1%} ({fab}/{quotes} quotes) "
        f"| {sum(r['tokens'] for r in rs) / len(rs):.0f} | {sum(r['seconds'] for r in rs) / len(rs):.1f} |"
    )


if __name__ == "__main__":
    main()
