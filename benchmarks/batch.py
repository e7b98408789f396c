"""Corpora: newsqa batch against a hand-written loop, LangChain's abatch and the Ray engine, same server.

    python benchmarks/batch.py [--articles 1000] [--latency 0.2]     # writes benchmarks/batch.md

Every system asks each of N sample-sized articles one question, against the counting server of
benchmarks/fake_llm.py with a fixed latency per request, at the same concurrency (16 requests in
flight). Each system runs in its own process, so its peak memory (max RSS) is its own:

- ``newsqa batch`` (local engine): ``newsqa.batch`` over a JSONL file, records to JSONL;
- hand-written loop: ``asyncio.gather`` over ``newsqa.aask`` with a semaphore, the loop users write today;
- LangChain: an LCEL chain (prompt | ChatOpenAI.with_structured_output) and ``chain.abatch`` with
  ``max_concurrency`` (its documented way to run a batch), if the bench group is installed;
- Ray engine: ``newsqa batch --engine ray`` on a local Ray instance with 2 actors.

Then tokens per article for five questions, asked one at a time and together (one shared draft
request on an API endpoint, each answer verified alone).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
OUT = Path(__file__).resolve().parent
SAMPLE = ROOT / "fixtures" / "articles" / "dhs-national-guard.txt"
QUESTION = "Who requested what?"
FIVE = [
    "Who requested what?",
    "How many agents were drawn from other federal agencies?",
    "What is DHS offering people who leave voluntarily?",
    "Who is reviewing the request?",
    "What did the Governor of Texas say?",
]
IN_FLIGHT = 16


def corpus(path: Path, n: int) -> None:
    text = SAMPLE.read_text()
    with path.open("w") as f:
        for i in range(n):
            # Each article differs (no cache or prefix can serve another's answer).
            f.write(json.dumps({"id": f"a{i:05d}", "text": f"{text}\n\nReport number {i}."}) + "\n")


SYSTEMS: dict[str, str] = {
    "newsqa batch (local engine)": """
import newsqa
c = newsqa.ModelClient(base_url=URL, model="m", cache=False, max_in_flight=IN_FLIGHT)
r = newsqa.batch(SRC, TMP + "/out.jsonl", questions=[QUESTION], client=c)
assert r.errors == 0, r
""",
    "hand-written asyncio loop over newsqa.aask": """
import asyncio, json, newsqa
rows = [json.loads(l) for l in open(SRC)]
c = newsqa.ModelClient(base_url=URL, model="m", cache=False, max_in_flight=IN_FLIGHT)
async def main():
    sem = asyncio.Semaphore(IN_FLIGHT)
    async def one(row):
        async with sem:
            return await newsqa.aask(row["text"], QUESTION, client=c)
    async with c:
        return await asyncio.gather(*(one(r) for r in rows))
answers = asyncio.run(main())
assert len(answers) == len(rows)
""",
    "LangChain chain.abatch (structured output)": """
import asyncio, json
from langchain_core.prompts import ChatPromptTemplate
from langchain_openai import ChatOpenAI
from pydantic import BaseModel
class Answer(BaseModel):
    answer: str | None
    quote: str | None
rows = [json.loads(l) for l in open(SRC)]
llm = ChatOpenAI(base_url=URL, api_key="k", model="m", temperature=0, max_retries=0)
prompt = ChatPromptTemplate.from_messages([("system", "Answer from the article only."), ("user", "{article}\\n\\nQuestion: {question}")])
chain = prompt | llm.with_structured_output(Answer, method="json_schema")
out = asyncio.run(chain.abatch([{"article": r["text"], "question": QUESTION} for r in rows], config={"max_concurrency": IN_FLIGHT}))
assert len(out) == len(rows)
""",
    "newsqa batch --engine ray (2 actors)": """
from newsqa.corpus.ray import batch_on_ray
r = batch_on_ray(SRC, TMP + "/ray.jsonl", questions=[QUESTION], client_options={"base_url": URL, "model": "m", "max_in_flight": IN_FLIGHT}, concurrency=2, cache=False)
assert r.errors == 0, r
""",
}


def run_system(code: str, url: str, src: Path, tmp: str) -> dict[str, Any]:
    prelude = (
        f"URL, SRC, TMP, QUESTION, IN_FLIGHT = {url!r}, {str(src)!r}, {tmp!r}, {QUESTION!r}, {IN_FLIGHT}\n"
        "import resource, time\nT0 = time.perf_counter()\n"
    )
    tail = "\nimport json as _j\nprint(_j.dumps({'seconds': time.perf_counter() - T0, 'rss_mb': resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "RAY_DEDUP_LOGS": "0"}
    r = subprocess.run(
        [sys.executable, "-c", prelude + code + tail], capture_output=True, text=True, env=env, timeout=1800
    )
    if r.returncode != 0:
        return {"error": (r.stderr.strip().splitlines() or ["failed"])[-1][:120]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def tokens_per_article(n: int) -> dict[str, float]:
    import newsqa
    from benchmarks.fake_llm import CountingServer
    from newsqa.api.questions import aask_many
    from newsqa.model.loop import run_sync

    article = newsqa.Article.from_file(SAMPLE)
    out: dict[str, float] = {}
    with CountingServer() as server:
        client = newsqa.ModelClient(base_url=server.base_url, model="m", cache=False)
        for _ in range(n):
            for q in FIVE:
                newsqa.ask(article, q, client=client)
        one = server.counter.totals()
        server.reset()
        for _ in range(n):
            run_sync(aask_many(article, FIVE, client=client))
        many = server.counter.totals()
    for name, t in (("one request per question", one), ("five questions per request", many)):
        out[name] = (t["prompt_tokens"] + t["completion_tokens"]) / n
        out[name + " (requests)"] = t["calls"] / n
    return out


def embedded_rate(n: int) -> dict[str, float]:
    """``newsqa batch`` with the embedded model on n dev articles: one question and a summary each."""
    articles = sorted((ROOT / "fixtures" / "eval" / "articles").glob("*.txt"))[1 : n + 1]
    with tempfile.TemporaryDirectory(prefix="newsqa-batch-") as tmp:
        folder = Path(tmp) / "articles"
        folder.mkdir()
        for a in articles:
            (folder / a.name).write_text(a.read_text())
        env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_BASE_URL", "OPENAI_API_KEY")}
        t0 = time.perf_counter()
        r = subprocess.run(
            [
                sys.executable,
                "-m",
                "newsqa",
                "batch",
                str(folder),
                "-q",
                QUESTION,
                "--summarize",
                "--out",
                f"{tmp}/out.jsonl",
                "--no-cache",
                "--json",
            ],
            capture_output=True,
            text=True,
            env=env,
            timeout=3600,
        )
        seconds = time.perf_counter() - t0
        if r.returncode != 0:
            raise SystemExit(f"embedded batch failed: {r.stderr.strip().splitlines()[-1:]}")
        report = json.loads(r.stdout)
    return {"articles": n, "seconds": seconds, "per_hour": 3600 * n / seconds, "errors": report["errors"]}


def main() -> None:
    from benchmarks.fake_llm import CountingServer

    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=1000)
    ap.add_argument("--latency", type=float, default=0.2)
    ap.add_argument("--systems", default="all")
    ap.add_argument("--embedded", type=int, default=3, help="dev articles for the embedded-model rate (0: skip)")
    args = ap.parse_args()
    rows: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="newsqa-batch-") as tmp:
        src = Path(tmp) / "articles.jsonl"
        corpus(src, args.articles)
        for name, code in SYSTEMS.items():
            if args.systems != "all" and not any(s in name for s in args.systems.split(",")):
                continue
            with CountingServer(latency=args.latency) as server:
                result = run_system(code, server.base_url, src, tmp)
                result["requests"] = len(server.counter.records)
                result["peak_in_flight"] = server.counter.max_in_flight
            rows[name] = result
            print(name, result, flush=True)
    tokens = tokens_per_article(5)
    base = rows.get("hand-written asyncio loop over newsqa.aask", {}).get("seconds")
    cpu = platform.processor() or platform.machine()
    lines = [
        "# Corpora: newsqa batch beside the alternatives\n",
        f"`python benchmarks/batch.py --articles {args.articles} --latency {args.latency}` — {args.articles} sample-sized "
        f"articles, one question each, against the counting server of `benchmarks/fake_llm.py` answering after "
        f"{args.latency * 1000:.0f} ms, {IN_FLIGHT} requests in flight for every system; each system in its own process "
        f"(peak memory is its own); {os.cpu_count()} CPUs ({cpu}). Seconds are this machine's; compare the ratios.\n",
        "| system | articles / s | vs hand-written loop | requests | peak requests in flight | peak memory (MB) |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, r in rows.items():
        if "error" in r:
            lines.append(f"| {name} | failed: {r['error']} | | | | |")
            continue
        rate = args.articles / r["seconds"]
        ratio = f"{base / r['seconds']:.2f}x" if base else "–"
        lines.append(f"| {name} | {rate:.1f} | {ratio} | {r['requests']} | {r['peak_in_flight']} | {r['rss_mb']:.0f} |")
    lines += [
        "",
        "newsqa sends two requests per question (the draft, then the second reading that verifies it); the "
        "LangChain chain sends one and verifies nothing, so its articles per second are not comparable one for "
        "one: the table shows what each costs. The Ray engine's time includes starting a local Ray instance, and "
        "its memory is the driver's alone (its two actors are processes of their own).",
        "",
        "Tokens per article for the five sample questions (the counting server's tokenizer, prompts and replies):",
        "",
        "| how | tokens / article | requests / article |",
        "|---|---:|---:|",
    ]
    for name in ("one request per question", "five questions per request"):
        lines.append(f"| {name} | {tokens[name]:,.0f} | {tokens[name + ' (requests)']:.1f} |")
    saving = 1 - tokens["five questions per request"] / tokens["one request per question"]
    lines += ["", f"Five questions per request cut tokens per article by {saving:.0%}."]
    if args.embedded:
        e = embedded_rate(args.embedded)
        lines += [
            "",
            f"With the embedded model on this machine ({os.cpu_count()} CPUs): `newsqa batch` on {e['articles']} dev "
            f"articles (fixtures/eval, about 600–1,000 words), one question and a summary each, the model loaded "
            f"once: {e['seconds']:.0f} s, **{e['per_hour']:.0f} articles per hour** ({e['errors']:.0f} errors).",
        ]
    (OUT / "batch.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
