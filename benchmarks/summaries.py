"""Summaries and who-did-what records against hand-written gold, newsqa against the raw model, same run.

    python benchmarks/summaries.py [--articles 03,12 | --split tune|test] [--systems newsqa,baseline] [--rescore]

Gold: fixtures/eval/actions.jsonl, written by hand before any run (see fixtures/eval/SOURCES.md).
newsqa: ``newsqa.summarize`` with the embedded model (summary, action list, record checks).
Baseline: the raw embedded model, one plain request with the same schema (the draft of
``newsqa.Summary``: headline, summary, key points, entities, actions, evidence as quotes), the article
as plain text, nothing checked.

Matching is lenient: a returned record matches a gold record when its actor shares a word with one of
the gold actor's phrasings, its action shares a word stem with one of the gold verbs, half the words of
one gold object phrasing appear in its object (or action), and its recipient, if it names one where
the gold record has one, shares a word with it. Each gold record is matched once. Precision: returned
records that match any gold record (central or optional) over all returned; recall: central gold
records matched. ``reported_as`` agreement is counted over matched records.

Key points "stated by their own evidence" are judged by the support reading (the same model, one
request per summary, the prompt of newsqa's ``supported`` check) for both systems, with a sample
checked by hand reported beside it. A summary sentence is unsupported when it names a person, place
or number the article never mentions, or is cut off. Writes benchmarks/summaries.md and .jsonl.

Splits: ``tune`` is the articles whose rows were read while the record checks were designed (the
sample and 03, 04, 05, 08, 09, 10, on 2026-12-01); ``test`` is the rest, run on a frozen design and
reported apart. Rows carry the code commit they measured; a run keeps the saved rows of other
articles measured on the same code, so the splits can be run one after the other, and the last rows
of a system it does not run (``--systems newsqa`` keeps the baseline's), whose code the table names.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import newsqa  # noqa: E402
from benchmarks.buffers import same_buffers_path  # noqa: E402
from benchmarks.provenance import code_commit  # noqa: E402
from newsqa.grounding.locate import locate_quote  # noqa: E402
from newsqa.grounding.outside import foreign_terms  # noqa: E402
from newsqa.grounding.support import Record, action_statement, complete_sentences, support_messages  # noqa: E402
from newsqa.schemas import Action, Evidence, Summary, draft_model, verdicts_for  # noqa: E402
from newsqa.text.words import STOPWORDS  # noqa: E402

EVAL = ROOT / "fixtures" / "eval"
TUNE = ("dhs-national-guard", "03_", "04_", "05_", "08_", "09_", "10_")
OUT = Path(__file__).resolve().parent
BASELINE_PROMPT = (
    "Summarize the article below as JSON: a headline, a 2 to 4 sentence summary, up to 5 key points each "
    "with quotes from the article as evidence, the people, organizations and places it names, and up to 8 "
    "records of who did or requested what of whom (actor, action, object, recipient, how the article "
    "reports it, evidence quotes).\n\nArticle:\n"
)


def split_of(name: str) -> str:
    return "tune" if name.startswith(TUNE) else "test"


def article_path(name: str) -> Path:
    if name == "dhs-national-guard":
        return ROOT / "fixtures" / "articles" / "dhs-national-guard.txt"
    return EVAL / "articles" / f"{name}.txt"


def stems(text: str | None) -> set[str]:
    out: set[str] = set()
    for w in re.findall(r"[a-z0-9][a-z0-9'-]*", (text or "").lower().replace("’", "'")):
        w = w.split("'")[0]
        if w in STOPWORDS or len(w) < 2:
            continue
        for suffix in ("ing", "ed", "es", "s"):
            if len(w) > len(suffix) + 2 and w.endswith(suffix):
                w = w[: -len(suffix)]
                break
        out.add(w[:5])
    return out


def matches(ret: dict[str, Any], gold: dict[str, Any]) -> bool:
    if not any(stems(a) & stems(ret["actor"]) for a in gold["actor"]):
        return False
    if not any(stems(a) & stems(ret["action"]) for a in gold["action"]):
        return False
    said = stems(f"{ret['object']} {ret['action']}")
    if not any(len(stems(o) & said) * 2 >= max(1, len(stems(o))) for o in gold["object"]):
        return False
    if gold["recipient"] and ret.get("recipient"):
        return any(stems(r) & stems(ret["recipient"]) for r in gold["recipient"])
    return True


def score_actions(returned: list[dict[str, Any]], gold: list[dict[str, Any]]) -> dict[str, Any]:
    used: set[int] = set()
    hits = 0
    reported_ok = 0
    for ret in returned:
        # Central records first, so an optional phrasing never takes a central record's match.
        order = sorted(range(len(gold)), key=lambda k: gold[k]["optional"])
        k = next((k for k in order if k not in used and matches(ret, gold[k])), None)
        if k is None:
            continue
        used.add(k)
        hits += 1
        reported_ok += ret.get("reported_as", "done") in gold[k]["reported_as"]
    central = [k for k, g in enumerate(gold) if not g["optional"]]
    return {
        "returned": len(returned),
        "correct": hits,
        "central": len(central),
        "recalled": sum(1 for k in central if k in used),
        "reported_as_ok": reported_ok,
    }


def supported(client: newsqa.ModelClient, records: list[Record]) -> list[bool]:
    if not records:
        return []
    done = client.complete(support_messages(records), verdicts_for(len(records)), max_tokens=6 * len(records) + 16)
    return [v == "yes" for v in done.value.verdicts]  # type: ignore[attr-defined]


def ours(client: newsqa.ModelClient, article: newsqa.Article) -> dict[str, Any]:
    s = newsqa.summarize(article, client=client)
    return {
        "summary": s.summary,
        "key_points": [{"point": k.point, "evidence": [e.model_dump() for e in k.evidence]} for k in s.key_points],
        "actions": [a.model_dump(exclude={"evidence"}) for a in s.actions],
        "action_evidence": [[e.quote for e in a.evidence] for a in s.actions],
        "dropped": [d.model_dump() for d in s.dropped],
        "tokens": s.usage.total_tokens,
        "requests": s.usage.requests,
    }


def baseline(client: newsqa.ModelClient, article: newsqa.Article) -> dict[str, Any]:
    draft = draft_model(Summary)
    done = client.complete([{"role": "user", "content": BASELINE_PROMPT + article.text}], draft, max_tokens=1800)
    value: Any = done.value

    def located(quotes: list[str]) -> list[dict[str, Any]]:
        out = []
        for q in quotes:
            span = locate_quote(article, q)
            if span is not None:
                out.append(Evidence(quote=article.text[span[0] : span[1]], start=span[0], end=span[1]).model_dump())
        return out

    acts = [a.model_dump(exclude={"evidence"}) for a in value.actions]
    return {
        "summary": value.summary,
        "key_points": [{"point": k.point, "evidence": located(k.evidence)} for k in value.key_points],
        "actions": acts,
        "action_evidence": [a.evidence for a in value.actions],
        "dropped": [],
        "tokens": done.usage.total_tokens,
        "requests": done.usage.requests,
    }


def judge(client: newsqa.ModelClient, article: newsqa.Article, row: dict[str, Any]) -> dict[str, Any]:
    """The same yardsticks for both systems: key points read against their own evidence, summary sentences."""
    kps = [Record("key_point", k["point"], [Evidence(**e) for e in k["evidence"]]) for k in row["key_points"]]
    with_ev = [r for r in kps if r.evidence]
    stated = supported(client, with_ev)
    sentences, cut = complete_sentences(row["summary"] or "", limit=99)
    foreign = [s for s in sentences if foreign_terms(s, article.text)]
    acts = [Action(**a) for a in row["actions"]]
    return {
        "kp_total": len(kps),
        "kp_stated": sum(stated),
        "kp_no_evidence": len(kps) - len(with_ev),
        "sentences": len(sentences) + len(cut),
        "sentences_unsupported": len(foreign) + len(cut),
        "cut_off": len(cut),
        "statements": [action_statement(a) for a in acts],
    }


TIMING = """
import sys, time, newsqa
article = newsqa.Article.from_file(sys.argv[1])
client = newsqa.ModelClient(cache=False)
client.complete([{"role": "user", "content": "Say OK."}], newsqa.schemas.Verdict, max_tokens=32)  # load the model
t = time.perf_counter()
s = newsqa.summarize(article, client=client)
print(round(time.perf_counter() - t, 2), s.usage.total_tokens)
"""


def time_code(source: Path, article: Path) -> tuple[float, int]:
    """Seconds and tokens of one summary by the newsqa in ``source``, in a new process (model loaded first)."""
    import os
    import subprocess

    # older code on the llama.cpp buffers this code uses (benchmarks/buffers.py)
    path = os.pathsep.join(p for p in (str(source), None if source == ROOT else same_buffers_path()) if p)
    env = {**os.environ, "PYTHONPATH": path}
    # Run in ``source``: ``python -c`` puts the working directory first on sys.path, so a run from this
    # checkout would import this code whatever PYTHONPATH says.
    out = subprocess.run(
        [sys.executable, "-c", TIMING, str(article)], capture_output=True, text=True, env=env, timeout=1800, cwd=source
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-500:])
    seconds, tokens = out.stdout.split()[-2:]
    return float(seconds), int(tokens)


def timing(previous: str, names: list[str]) -> list[dict[str, Any]]:
    """This code and ``previous`` (a git revision, checked out beside it) summarising the same articles."""
    import subprocess
    import tempfile

    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        old = Path(tmp) / "previous"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(old), previous], check=True,
                       capture_output=True)  # fmt: skip
        try:
            for name in names:
                for label, source in (("previous", old), ("this", ROOT)):
                    seconds, tokens = time_code(source, article_path(name))
                    rows.append({"code": label, "article": name, "seconds": seconds, "tokens": tokens})
                    print(f"timing {label:8s} {name[:30]:30s} {seconds:6.1f}s {tokens} tokens", flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old)], capture_output=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", default=None, help="comma-separated prefixes (03,12) or names")
    ap.add_argument("--split", choices=("tune", "test"), default=None, help="only the articles of one split")
    ap.add_argument("--systems", default="newsqa,baseline")
    ap.add_argument("--rescore", action="store_true", help="rewrite the tables from the saved rows")
    ap.add_argument("--previous", default=None, help="a git revision to time against (summary seconds, same articles)")
    ap.add_argument("--timing-articles", type=int, default=3, help="how many articles the timing comparison uses")
    ap.add_argument("--timing-only", action="store_true", help="only the timing comparison (with --previous)")
    args = ap.parse_args()
    gold = {g["article"]: g["actions"] for g in map(json.loads, (EVAL / "actions.jsonl").read_text().splitlines()) if g}
    path = OUT / "summaries.jsonl"
    if args.rescore:
        rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
        for r in rows:
            r.update(score_actions(r["actions"], gold[r["article"]]))
        write_table(rows)
        return
    names = list(gold)
    if args.articles:
        wanted = args.articles.split(",")
        names = [n for n in names if any(n.startswith(w) for w in wanted)]
    if args.split:
        names = [n for n in names if split_of(n) == args.split]
    if args.previous:
        times = timing(args.previous, names[: args.timing_articles])
        (OUT / "summaries-timing.json").write_text(
            json.dumps({"previous": args.previous, "code": code_commit(), "rows": times}, indent=1) + "\n"
        )
    if args.timing_only:
        write_table([json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else [])
        return
    # Systems run without the response cache (their seconds and tokens are real); the yardsticks use it.
    client = newsqa.ModelClient(cache=False)
    yardstick = newsqa.ModelClient()
    systems = {"newsqa": ours, "baseline": baseline}
    code = code_commit()
    saved = [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []
    # Kept: this code's rows of other articles, and the last rows of a system not run now (whatever code
    # they measured: the table names each system's code).
    run = args.systems.split(",")
    kept = {(r["system"], r["article"]): r for r in saved if r["system"] not in run}
    rows = [r for r in saved if r["system"] in run and r.get("code") == code and r["article"] not in names]
    rows += list(kept.values())
    with path.open("w") as out:
        for r in rows:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
        out.flush()  # the rows kept must be on disk before the first slow summary, or a stop loses them
        for name in names:
            article = newsqa.Article.from_file(article_path(name))
            for system in run:
                t0 = time.perf_counter()
                try:
                    row = systems[system](client, article)
                except newsqa.NewsQAError as exc:
                    row = {"summary": "", "key_points": [], "actions": [], "action_evidence": [], "dropped": [],
                           "tokens": 0, "requests": 0, "error": str(exc)[:200]}  # fmt: skip
                row["seconds"] = round(time.perf_counter() - t0, 1)
                row.update(system=system, article=name, split=split_of(name), code=code)
                row.update(judge(yardstick, article, row))
                row.update(score_actions(row["actions"], gold[name]))
                rows.append(row)
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
                out.flush()
                print(f"{system:8s} {name[:30]:30s} {row['seconds']:6.1f}s actions {row['correct']}/{row['returned']} "
                      f"recall {row['recalled']}/{row['central']} kp {row['kp_stated']}/{row['kp_total']}", flush=True)  # fmt: skip
    write_table(rows)


def _pct(k: int, n: int) -> str:
    return f"{k / n:.1%} ({k}/{n})" if n else "–"


def write_table(rows: list[dict[str, Any]]) -> None:
    systems = list(dict.fromkeys(r["system"] for r in rows))
    n_articles = len({r["article"] for r in rows})
    codes = "; ".join(
        f"{s}: " + ", ".join(sorted({str(r.get("code", "unrecorded")) for r in rows if r["system"] == s}))
        for s in systems
    )
    lines = [
        "# Summaries and who-did-what records",
        "",
        f"`python benchmarks/summaries.py` — {n_articles} of the 13 articles (the 12 dev articles and the sample), "
        "embedded model (Qwen2.5-Coder-1.5B-Instruct Q4_K_M) for both systems, same run, newsqa code "
        f"{codes}. Gold records written by hand before any run (fixtures/eval/actions.jsonl). Matching is lenient "
        "(see the script's docstring). Split `tune`: articles read while the record checks were designed; `test`: "
        "the others.",
        "",
        "| split | system | action precision | action recall | reported_as right | key points stated by own evidence "
        "| summary sentences unsupported | cut off | seconds / summary | tokens / summary |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    groups = [(sp, s) for sp in ("tune", "test") for s in systems]
    for sp, s in groups:
        rs = [r for r in rows if r["system"] == s and r.get("split", split_of(r["article"])) == sp]
        if not rs:
            continue

        def total(key: str, rs: list[dict[str, Any]] = rs) -> int:
            return sum(int(r.get(key, 0)) for r in rs)

        lines.append(
            f"| {sp} | {s} | {_pct(total('correct'), total('returned'))} | {_pct(total('recalled'), total('central'))} "
            f"| {_pct(total('reported_as_ok'), total('correct'))} | {_pct(total('kp_stated'), total('kp_total'))} "
            f"| {_pct(total('sentences_unsupported'), total('sentences'))} | {total('cut_off')} "
            f"| {sum(r['seconds'] for r in rs) / max(1, len(rs)):.1f} | {total('tokens') / max(1, len(rs)):.0f} |"
        )
    ours_rows = [r for r in rows if r["system"] == "newsqa"]
    if ours_rows:
        from collections import Counter

        why = Counter(f"{d['item']} / {d['check']}" for r in ours_rows for d in r["dropped"])
        lines += ["", "Items newsqa's record checks dropped (item / check): "
                  + (", ".join(f"{k}: {v}" for k, v in why.most_common()) or "none")]  # fmt: skip
    lines += ["", "Per article (newsqa | baseline): correct/returned actions, central recalled/central.", ""]
    lines += ["| article | newsqa | baseline |", "|---|---|---|"]
    for name in dict.fromkeys(r["article"] for r in rows):
        cells = []
        for s in ("newsqa", "baseline"):
            r = next((r for r in rows if r["article"] == name and r["system"] == s), None)
            cells.append(f"{r['correct']}/{r['returned']}, {r['recalled']}/{r['central']}" if r else "–")
        lines.append(f"| {name} | {cells[0]} | {cells[1]} |")
    timing_file = OUT / "summaries-timing.json"
    if timing_file.exists():
        t = json.loads(timing_file.read_text())
        this_code = f"newsqa code {t['code']}" if t.get("code") else "this code"
        lines += ["", f"Seconds per summary, {this_code} against revision `{t['previous']}` (checked out beside it), "
                  "each in a new process with the model loaded first, no response cache:", ""]  # fmt: skip
        lines += ["| article | previous | this | ratio |", "|---|---:|---:|---:|"]
        for name in dict.fromkeys(r["article"] for r in t["rows"]):
            prev = next(r for r in t["rows"] if r["article"] == name and r["code"] == "previous")
            this = next(r for r in t["rows"] if r["article"] == name and r["code"] == "this")
            lines.append(
                f"| {name} | {prev['seconds']:.1f} s | {this['seconds']:.1f} s | {this['seconds'] / prev['seconds']:.2f} |"
            )
        total_prev = sum(r["seconds"] for r in t["rows"] if r["code"] == "previous")
        total_this = sum(r["seconds"] for r in t["rows"] if r["code"] == "this")
        lines.append(f"| all | {total_prev:.1f} s | {total_this:.1f} s | {total_this / total_prev:.2f} |")
    # What the runs show is written by hand beside the script, and kept when the tables are rewritten.
    notes = OUT / "summaries-notes.md"
    if notes.exists():
        lines += ["", notes.read_text().strip()]
    (OUT / "summaries.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
