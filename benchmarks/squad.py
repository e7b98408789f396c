"""Honest refusals on questions nobody here wrote: SQuAD 2.0, split by article, newsqa against the raw model.

    python benchmarks/squad.py --split tune --n 200      # the split checks may be tuned on
    python benchmarks/squad.py --split test --n 400      # the split nobody looks at until a design is frozen
    python benchmarks/squad.py --split test --rescore    # recompute the tables from the saved rows

The 8 articles of ../shared/dev-data/squad2 are split by article (fixed below, chosen before any run):
a question is asked of its own paragraph. ``--n`` questions are drawn per split, half unanswerable,
with a fixed seed. newsqa's drafts go through the response cache, so a run after a change to the
checks alone reads no prompt again.

newsqa: ``newsqa.ask``'s draft and evidence, then every grounding check run on it (not only up to the
first failure), so each check's catches and false refusals can be counted; the answer stands when all
pass, as in ``ask``. Baseline: the raw embedded model, the paragraph and the question in one plain
prompt asking for JSON ``{"answer": ... or null}``, no verification.

Correct: an answerable question's prediction contains a gold answer after normalisation or has token
F1 >= 0.6; an unanswerable question is refused. Writes benchmarks/squad-<split>.md and .jsonl.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pydantic import BaseModel  # noqa: E402

import newsqa  # noqa: E402
from benchmarks.accuracy import f1, norm  # noqa: E402
from newsqa.api.questions import draft_claim, draft_confidence  # noqa: E402
from newsqa.grounding import ANSWER_CHECKS, CHECK_NAMES, Grounding  # noqa: E402
from newsqa.grounding.alignment import ANSWER_ADDS, QUESTION_TERMS  # noqa: E402
from newsqa.model.logprobs import option_probability, value_tokens  # noqa: E402
from newsqa.model.loop import run_sync  # noqa: E402
from newsqa.schemas import Verdict  # noqa: E402

DATA = ROOT.parent / "shared" / "dev-data" / "squad2"
OUT = Path(__file__).resolve().parent
# Fixed before any run: two articles about history and institutions and two about science and law in each.
SPLITS = {
    "tune": ("Normans", "Harvard_University", "French_and_Indian_War", "Imperialism"),
    "test": ("Steam_engine", "European_Union_law", "Immune_system", "Force"),
}
BASELINE_PROMPT = (
    "Read the text and answer the question from it.\n\nText:\n$context\n\nQuestion: $question\n\n"
    'Reply with JSON: {"answer": "<a short answer taken from the text>"}, or {"answer": null} if the text '
    "does not say."
)


# Checks under trial: audited and counted beside the pipeline's own, never deciding an answer here.
CANDIDATES = tuple(c for c in (ANSWER_ADDS, QUESTION_TERMS) if c.name not in CHECK_NAMES)


class RawAnswer(BaseModel):
    answer: str | None


def load(split: str, n: int, seed: int = 0) -> list[dict[str, Any]]:
    paragraphs = {p["pid"]: p for p in map(json.loads, (DATA / "paragraphs.jsonl").read_text().splitlines()) if p}
    questions = [json.loads(x) for x in (DATA / "questions.jsonl").read_text().splitlines() if x.strip()]
    questions = [q for q in questions if paragraphs[q["pid"]]["article"] in SPLITS[split]]
    rng = random.Random(seed)
    picked: list[dict[str, Any]] = []
    for impossible in (False, True):
        pool = [q for q in questions if q["is_impossible"] == impossible]
        picked += rng.sample(pool, min(len(pool), n // 2))
    for q in picked:
        q["context"] = paragraphs[q["pid"]]["context"]
        q["article"] = paragraphs[q["pid"]]["article"]
    # Questions about one paragraph together: the model's state for a text is reused, as in use.
    return sorted(picked, key=lambda q: (q["pid"], q["id"]))


def correct(pred: str | None, answers: list[str]) -> tuple[bool, float]:
    if not pred:
        return False, 0.0
    best = max(f1(pred, a) for a in answers)
    return any(norm(a) and norm(a) in norm(pred) for a in answers) or best >= 0.6, best


def ours(client: newsqa.ModelClient, article: newsqa.Article, question: str) -> dict[str, Any]:
    grounding = Grounding()

    async def run() -> tuple[Any, dict[str, str | None], list[Any]]:
        claim, ctx, completions = await draft_claim(article, question, client=client, grounding=grounding)
        outcomes = await Grounding((*ANSWER_CHECKS, *CANDIDATES)).audit(claim, ctx)
        return claim, outcomes, completions

    claim, outcomes, completions = run_sync(run())
    verdicts = [c for c in completions if isinstance(c.value, Verdict)]
    shares = option_probability(verdicts[-1].logprobs or [], ("yes", "no")) if verdicts else None
    refused_by = next((name for name in CHECK_NAMES if outcomes.get(name) is not None), None)
    stands = refused_by is None
    return {
        "answer": (claim.answer or "").strip() if stands else None,
        "draft": claim.answer if claim.answered else None,
        "refused": not stands,
        "refused_by": refused_by,
        "checks": {name: outcome is None for name, outcome in outcomes.items()},
        "quotes": [e.quote for e in claim.evidence] if stands else [],
        "evidence": [e.quote for e in claim.evidence],
        "fabricated": sum(1 for e in claim.evidence if article.text[e.start : e.end] != e.quote) if stands else 0,
        "tokens": sum(c.usage.total_tokens for c in completions),
        "p_yes": round(shares["yes"], 4) if shares else None,
        **draft_signals(completions[0].logprobs),
    }


def draft_signals(tokens: list[Any] | None) -> dict[str, float | None]:
    """The draft's own confidence: P(status answered), and its answer tokens' mean and least log-probability."""
    if not tokens:
        return {"p_answered": None, "answer_mean_lp": None, "answer_min_lp": None}
    status = draft_confidence(tokens)
    span = [t.logprob for t in value_tokens(tokens, "answer")]
    return {
        "p_answered": round(status, 4) if status is not None else None,
        "answer_mean_lp": round(sum(span) / len(span), 4) if span else None,
        "answer_min_lp": round(min(span), 4) if span else None,
    }


def baseline(client: newsqa.ModelClient, article: newsqa.Article, question: str) -> dict[str, Any]:
    import string

    prompt = string.Template(BASELINE_PROMPT).substitute(context=article.text, question=question)
    done = client.complete([{"role": "user", "content": prompt}], RawAnswer, max_tokens=100)
    answer = _raw_answer(done.value.answer)
    return {
        "answer": answer,
        "draft": answer,
        "refused": answer is None,
        "refused_by": None,
        "checks": {},
        "quotes": [],
        "fabricated": 0,
        "tokens": done.usage.total_tokens,
    }


def _raw_answer(answer: str | None) -> str | None:
    """The raw model's answer, or None when it says (in any words) that the text does not say."""
    from benchmarks.accuracy import REFUSAL

    text = (answer or "").strip()
    if text.lower().strip(".'\"") in ("", "null", "none", "n/a", "unknown") or REFUSAL.search(text):
        return None
    return text


def rescore(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Recompute each row's verdict from what it saved (after a change to the scoring, never to the runs)."""
    gold = {q["id"]: q for q in map(json.loads, (DATA / "questions.jsonl").read_text().splitlines()) if q}
    for r in rows:
        q = gold[r["id"]]
        if r["system"] == "baseline":
            r["answer"] = r["draft"] = _raw_answer(r["answer"])
            r["refused"] = r["answer"] is None
        answerable = not q["is_impossible"]
        if answerable:
            r["correct"], tf1 = correct(r["answer"], q["answers"])
            r["f1"] = round(tf1, 3)
            r["draft_correct"] = correct(r["draft"], q["answers"])[0]
        else:
            r["correct"], r["draft_correct"] = r["refused"], r["draft"] is None
    return rows


def _try_check_prompt(text: str) -> None:
    """Use ``text`` as the check prompt for this run only: the cached drafts still serve (their
    requests do not change) and only the second readings are asked again."""
    from newsqa import prompts

    load = prompts.load
    prompts.load = lambda name: text if name == "check" else load(name)  # type: ignore[assignment]
    prompts._template.cache_clear()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", choices=sorted(SPLITS), required=True)
    ap.add_argument("--n", type=int, default=200, help="questions drawn, half unanswerable")
    ap.add_argument("--systems", default="newsqa,baseline")
    ap.add_argument("--rescore", action="store_true", help="rewrite the tables from the saved rows")
    ap.add_argument("--first", type=int, default=None, help="only the first K questions of the sample (in run order)")
    ap.add_argument("--tag", default="", help="suffix for the output files (a trial beside the main run)")
    ap.add_argument("--check-prompt", default=None, help="a trial wording of prompts/check.txt (drafts stay cached)")
    args = ap.parse_args()
    if args.check_prompt:
        _try_check_prompt(Path(args.check_prompt).read_text(encoding="utf-8").strip())
    path = OUT / f"squad-{args.split}{args.tag}.jsonl"
    if args.rescore:
        rows = rescore([json.loads(x) for x in path.read_text().splitlines() if x.strip()])
        path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
        write_table(rows, args)
        return
    questions = load(args.split, args.n)[: args.first]
    client = newsqa.ModelClient()  # the response cache keeps drafts: a change to the checks re-reads nothing
    systems = {"newsqa": ours, "baseline": baseline}
    rows: list[dict[str, Any]] = []
    by_pid: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for q in questions:
        by_pid[q["pid"]].append(q)
    with path.open("w") as out:
        for i, (_pid, qs) in enumerate(by_pid.items()):
            article = newsqa.Article.from_text(qs[0]["context"], parse_header=False)
            for name in args.systems.split(","):
                for q in qs:
                    t0 = time.perf_counter()
                    try:
                        r = systems[name](client, article, q["question"])
                    except newsqa.NewsQAError as exc:
                        r = {"answer": None, "draft": None, "refused": True, "refused_by": f"error: {exc}"[:120],
                             "checks": {}, "quotes": [], "fabricated": 0, "tokens": 0}  # fmt: skip
                    r["seconds"] = round(time.perf_counter() - t0, 2)
                    answerable = not q["is_impossible"]
                    ok, tf1 = correct(r["answer"], q["answers"]) if answerable else (r["refused"], float(r["refused"]))
                    draft_ok = correct(r["draft"], q["answers"])[0] if answerable else r["draft"] is None
                    row = {"system": name, "id": q["id"], "article": q["article"], "answerable": answerable,
                           "correct": ok, "draft_correct": draft_ok, "f1": round(tf1, 3), **r}  # fmt: skip
                    rows.append(row)
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
                    out.flush()
                    print(f"{name:8s} {q['id'][:10]} {'ok ' if ok else 'BAD'} {r['seconds']:5.1f}s "
                          f"{'A' if answerable else 'U'} {str(r['answer'])[:60]!r} {r['refused_by'] or ''}", flush=True)  # fmt: skip
            if i % 10 == 9:
                write_table(rows, args)
    write_table(rows, args)


def write_table(rows: list[dict[str, Any]], args: argparse.Namespace) -> None:
    systems = list(dict.fromkeys(r["system"] for r in rows))
    # Only questions every system answered are compared.
    done = set.intersection(*({r["id"] for r in rows if r["system"] == s} for s in systems)) if systems else set()
    rows = [r for r in rows if r["id"] in done]
    n = len(done)
    command = f"python benchmarks/squad.py --split {args.split} --n {getattr(args, 'n', n)}"
    if getattr(args, "first", None):
        command += f" --first {args.first}"
    if getattr(args, "tag", ""):
        command += f" --tag={args.tag}"
    if getattr(args, "check_prompt", None):
        command += f" --check-prompt {args.check_prompt}"
    cached = all(r["tokens"] == 0 for r in rows)
    lines = [
        f"# SQuAD 2.0, {args.split} split\n",
        f"`{command}` — {n} questions "
        f"({sum(1 for r in rows if r['system'] == systems[0] and not r['answerable'])} unanswerable) on the "
        f"{args.split} articles ({', '.join(SPLITS[args.split])}), embedded model (Qwen2.5-Coder-1.5B-Instruct "
        "Q4_K_M) for both systems, same run. Correct: contains a gold answer or token F1 >= 0.6; unanswerable: refused."
        + (
            " Drafts came from the response cache of an earlier run: tokens and seconds are not measured here."
            if cached
            else ""
        )
        + "\n",
        "| system | answerable accuracy | unanswerable accuracy | fabricated evidence | tokens / question | seconds / question |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for s in systems:
        rs = [r for r in rows if r["system"] == s]
        ans = [r for r in rs if r["answerable"]]
        una = [r for r in rs if not r["answerable"]]
        quotes = sum(len(r["quotes"]) for r in rs)
        lines.append(
            f"| {s} | {_pct(sum(r['correct'] for r in ans), len(ans))} | {_pct(sum(r['correct'] for r in una), len(una))} "
            f"| {sum(r['fabricated'] for r in rs)}/{quotes} quotes | {sum(r['tokens'] for r in rs) / max(1, len(rs)):.0f} "
            f"| {sum(r['seconds'] for r in rs) / max(1, len(rs)):.1f} |"
        )
    ours_rows = [r for r in rows if r["system"] == "newsqa"]
    if ours_rows:
        # A check "catches" an unanswerable question the draft answered; it "wrongly refuses" an
        # answerable question whose draft answer was correct.
        drafted_una = [r for r in ours_rows if not r["answerable"] and r["draft"] is not None]
        good = [r for r in ours_rows if r["answerable"] and r["draft_correct"]]
        lines += [
            "",
            f"Each check alone, on newsqa's drafts: of the {len(drafted_una)} unanswerable questions the draft "
            f"answered, how many the check refuses; of the {len(good)} answerable questions the draft answered "
            "correctly, how many it wrongly refuses.",
            "",
            "| check | catches (unanswerable, drafted) | wrongly refuses (correct drafts) |",
            "|---|---:|---:|",
        ]
        for name in [*CHECK_NAMES[1:], *(c.name for c in CANDIDATES)]:
            catches = sum(1 for r in drafted_una if r["checks"].get(name) is False)
            wrong = sum(1 for r in good if r["checks"].get(name) is False)
            label = f"`{name}`" + (" (candidate)" if name not in CHECK_NAMES else "")
            lines.append(f"| {label} | {_pct(catches, len(drafted_una))} | {_pct(wrong, len(good))} |")
    (OUT / f"squad-{args.split}{getattr(args, 'tag', '')}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def _pct(k: int, n: int) -> str:
    return f"{k / n:.1%} ({k}/{n})" if n else "–"


if __name__ == "__main__":
    main()
