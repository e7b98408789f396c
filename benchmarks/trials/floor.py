"""Trial: where a cold answer's time goes, and what #16's "newsqa / bare ≤ 1.2×" would have to remove.

    python benchmarks/trials/floor.py [--articles sample,second,third] > benchmarks/trials/floor.md

For each article of ``benchmarks/speed.py``, one run, each system in a new process, nothing else
running:

* **bare**: ``Llama.create_chat_completion`` with a plain prompt (article, question, "answer
  briefly"), generating exactly as many tokens as newsqa generates in all (speed.py's baseline);
* **newsqa, first use**: ``newsqa.ask`` with an empty cache (what speed.py calls cold): it reads the
  system prompt, the article and the question;
* **newsqa, a new article**: the same question from a new process whose cache already holds the
  state of another article read with the same system prompt (every new article after the first):
  the system prompt is not read again.

Each newsqa request is timed in the process (the draft, and the second reading that checks it), with
the tokens it read and generated, so the table can say what the ratio to bare would be without the
second reading. No output is changed; the instrumentation only wraps the transport's calls.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.speed import _BARE, ARTICLES, fresh_cache, python  # noqa: E402
from newsqa.model.weights import assemble_model  # noqa: E402

WARM_ARTICLE = ROOT / "fixtures" / "eval" / "articles" / "09_homeopathy-manslaughter-trial.txt"

_NEWSQA = r"""
import json, sys, time
t0 = time.perf_counter()
import newsqa
from newsqa.model import local

requests = []
orig_handle = local.LocalModelTransport.handle_request
orig_load = local.LocalModelTransport._load
load = {}

def handle(self, request):
    body = json.loads(request.read())
    kind = "draft" if any("</article>" in str(m.get("content")) for m in body["messages"]) else "check"
    entry = {"kind": kind, "read": 0, "read_s": 0.0, "generated": 0, "generate_s": 0.0}
    requests.append(entry)
    t = time.perf_counter()
    out = orig_handle(self, request)
    entry["s"] = time.perf_counter() - t
    return out

def timed_load(self):
    first = self._llama is None
    t = time.perf_counter()
    llama = orig_load(self)
    if first:
        load["s"] = time.perf_counter() - t
        read = llama.eval
        def eval_timed(tokens):
            t = time.perf_counter()
            read(tokens)
            e = requests[-1]
            key = "read" if len(tokens) > 1 else "generated"
            e[key] += len(tokens)
            e["read_s" if len(tokens) > 1 else "generate_s"] += time.perf_counter() - t
        llama.eval = eval_timed
    return llama

local.LocalModelTransport.handle_request = handle
local.LocalModelTransport._load = timed_load
client = newsqa.ModelClient(cache=False)
for path in sys.argv[2:]:
    requests.clear()
    t = time.perf_counter()
    result = newsqa.ask(newsqa.Article.from_file(path), sys.argv[1], client=client)
    ask_s = time.perf_counter() - t
print(json.dumps({"total_s": time.perf_counter() - t0, "ask_s": ask_s, "load_s": load.get("s"),
                  "requests": requests, "status": result.status, "answer": result.answer}))
"""


def newsqa_ask(article: Path, question: str, warm: bool) -> dict[str, Any]:
    cache = fresh_cache()
    if warm:  # another article read first, in its own process: its state holds the system prompt
        python(_NEWSQA, [question, str(WARM_ARTICLE)], cache, str(ROOT))
    return python(_NEWSQA, [question, str(article)], cache, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--articles", default="sample,second,third")
    which = parser.parse_args().articles.split(",")
    model = str(assemble_model())
    rows = []
    for key in which:
        article, question, _ = ARTICLES[key]
        first = newsqa_ask(article, question, warm=False)
        new = newsqa_ask(article, question, warm=True)
        generated = sum(r["generated"] for r in new["requests"])  # as speed.py: the draft's and the check's
        bare = python(_BARE, [model, str(article), question, str(generated)], fresh_cache(), None)
        rows.append({"article": key, "first": first, "new": new, "bare": bare})
        print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
    write(rows)


def write(rows: list[dict[str, Any]]) -> None:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())  # fmt: skip
    print("# Trial: where a cold answer's time goes, against bare llama-cpp (issue #16)\n")
    print(f"`python benchmarks/trials/floor.py` — {cpu}, {os.cpu_count()} cores, "
          f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; every process new, nothing else running.\n")  # fmt: skip
    print("Seconds from the start of the process to the answer (model load included), and per request the")
    print("prompt tokens read and tokens generated (read time / generation time).\n")
    print("| article | system | seconds | load | draft: read, generated | check: read, generated | ÷ bare |")
    print("|---|---|---:|---:|---|---|---:|")
    for row in rows:
        bare = row["bare"]
        b = bare["s"]
        usage = bare["usage"]
        print(f"| {row['article']} | bare llama-cpp | {b:.1f} | | {usage['prompt_tokens']}, "
              f"{usage['completion_tokens']} | | 1.00 |")  # fmt: skip
        for label, key in (("newsqa, first use", "first"), ("newsqa, a new article", "new")):
            r = row[key]
            cells = []
            for kind in ("draft", "check"):
                req = next((q for q in r["requests"] if q["kind"] == kind), None)
                cells.append("—" if req is None else
                             f"{req['read']}, {req['generated']} ({req['read_s']:.1f} s / {req['generate_s']:.1f} s)")  # fmt: skip
            print(f"| {row['article']} | {label} | {r['total_s']:.1f} | {r['load_s']:.1f} | {cells[0]} | {cells[1]} "
                  f"| {r['total_s'] / b:.2f} |")  # fmt: skip
        new = row["new"]
        check = sum(q["s"] for q in new["requests"] if q["kind"] == "check")
        print(f"| {row['article']} | newsqa, a new article, less its check | {new['total_s'] - check:.1f} | | | "
              f"| {(new['total_s'] - check) / b:.2f} |")  # fmt: skip
    print()


if __name__ == "__main__":
    main()
