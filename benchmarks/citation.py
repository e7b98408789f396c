"""Sentence ids against copied quotes: the two ways an answer can cite the article.

    python benchmarks/citation.py --articles 05,09,10,11,12

newsqa's default tags each sentence ``[S12]`` and asks for ids. The alternative shows the article
untagged and asks the model to copy the supporting sentences; the verifier locates the quotes
(exact, normalised, bounded fuzzy) and everything after that — re-found evidence, answer kinds, the
check — is the same code. Only the quote design runs here; the id design's rows for the same
questions are read from accuracy.jsonl (the same code and model), so run this after accuracy.py.
Writes benchmarks/citation.md and citation.jsonl.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import newsqa
from newsqa import prompts
from newsqa.grounding import locate

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from benchmarks.accuracy import EVAL, OUT, correct, ours

REJECTED: list[str] = []  # quotes the verifier could not find in the article
_QUOTE_RULE = "2. Cite evidence by copying the sentences of the article that support it, exactly as written."
_QUOTE_EVIDENCE = "- evidence: the one to three sentences that state the answer, copied exactly from the article."


@contextmanager
def quote_design() -> Iterator[None]:
    """The same pipeline with an untagged article and prompts that ask for copied sentences."""
    load, block, resolve = prompts.load, prompts.article_block, locate.resolve_refs

    def load_quotes(name: str) -> str:
        text = load(name)
        if name == "system":
            text = re.sub(r"^2\. .*$", _QUOTE_RULE, text, flags=re.M)
        if name == "ask":
            text = re.sub(r"^- evidence: .*$", _QUOTE_EVIDENCE, text, flags=re.M)
        return text

    def untagged(article: newsqa.Article, sentence_ids: Any = None) -> str:
        return re.sub(r"\[S\d+\] ", "", block(article, sentence_ids))

    def counted(*a: Any, **kw: Any) -> Any:
        found = resolve(*a, **kw)
        REJECTED.extend(found.rejected)
        return found

    prompts.load, prompts.article_block, locate.resolve_refs = load_quotes, untagged, counted  # type: ignore[assignment]
    prompts._template.cache_clear()
    try:
        yield
    finally:
        prompts.load, prompts.article_block, locate.resolve_refs = load, block, resolve  # type: ignore[assignment]
        prompts._template.cache_clear()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", default="05,09,10,11,12", help="comma-separated article numbers")
    args = ap.parse_args()
    wanted = tuple(f"articles/{n}_" for n in args.articles.split(","))
    questions = [json.loads(x) for x in (EVAL / "questions.jsonl").read_text().splitlines() if x.strip()]
    questions = [q for q in questions if q["article"].startswith(wanted)]
    ids = {
        r["id"]: r
        for r in map(json.loads, (OUT / "accuracy.jsonl").read_text().splitlines())
        if r["system"] == "newsqa"
    }
    client = newsqa.ModelClient(cache=False)
    rows: list[dict[str, Any]] = []
    with quote_design():
        for q in questions:
            article = newsqa.Article.from_file(EVAL / q["article"])
            t0 = time.perf_counter()
            REJECTED.clear()
            r = ours(client, article, q["question"])
            r["rejected"] = list(REJECTED)
            r["seconds"] = round(time.perf_counter() - t0, 2)
            ok, _ = correct(r["answer"], q["answers"]) if q["answers"] else (r["refused"], 0.0)
            rows.append({"system": "quotes", "id": q["id"], "answerable": bool(q["answers"]), "correct": ok, **r})
            print(f"quotes {q['id']:7s} {'ok ' if ok else 'BAD'} {r['seconds']:5.1f}s {str(r['answer'])[:70]!r}")
    (OUT / "citation.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    lines = [
        "# Sentence ids or copied quotes\n",
        f"`python benchmarks/citation.py --articles {args.articles}` — {len(rows)} questions, embedded model. "
        "The id rows are newsqa's rows for the same questions in accuracy.jsonl.\n",
        "| design | answer accuracy | unanswerable accuracy | citations the verifier rejected | evidence shown | "
        "tokens / question | seconds / question |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, rs in (("sentence ids (default)", [ids[r["id"]] for r in rows]), ("copied quotes", rows)):
        ans = [r for r in rs if r["answerable"]]
        una = [r for r in rs if not r["answerable"]]
        lines.append(
            f"| {name} | {sum(r['correct'] for r in ans)}/{len(ans)} | {sum(r['correct'] for r in una)}/{len(una)} "
            f"| {sum(len(r.get('rejected', [])) for r in rs)} | {sum(len(r['quotes']) for r in rs)} "
            f"| {sum(r['tokens'] for r in rs) / len(rs):.0f} | {sum(r['seconds'] for r in rs) / len(rs):.1f} |"
        )
    (OUT / "citation.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
