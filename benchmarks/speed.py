"""The embedded model's speed against the previous release and against bare llama-cpp, in one run.

    python benchmarks/speed.py                       # writes benchmarks/speed.md and speed.json
    python benchmarks/speed.py --previous 6796de1     # the commit to compare with (default below)
    python benchmarks/speed.py --articles sample      # fewer articles (sample, second, third)
    python benchmarks/speed.py --name speed-intel     # writes benchmarks/speed-intel.md and .json instead

Three systems answer the same questions about the same articles, each from new processes with a
fresh cache directory (the verified model file only):

* **newsqa** as checked out here;
* **previous**: newsqa at ``--previous``, exported from git into a temporary folder and run with the
  same interpreter and libraries (installed side by side: nothing of it is imported from here);
* **bare llama-cpp**: ``Llama.create_chat_completion`` with a plain prompt (the article, the question,
  "answer briefly"), generating exactly as many tokens as newsqa's draft and check did together (its
  end-of-reply tokens held back: a brief reply would otherwise stop sooner), model load included.

Per system and article: a cold ``newsqa ask`` from the shell (time to first output on a terminal,
total time, peak memory), a follow-up question from a new process, a follow-up in the same process,
and a cold ``newsqa summarize``. The shell runs have a pseudo-terminal as stderr, as a person has,
so "first output" is when the first byte of progress appears.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.buffers import same_buffers_path  # noqa: E402
from benchmarks.provenance import stamp  # noqa: E402
from newsqa.model.weights import assemble_model, share_model  # noqa: E402

OUT = Path(__file__).resolve().parent
PREVIOUS = "6796de1"  # the last commit before this round's issues (2026-11-28): "today's code" of #16
EVAL = ROOT / "fixtures" / "eval"
ARTICLES = {
    "sample": (
        ROOT / "fixtures" / "articles" / "dhs-national-guard.txt",
        "Who requested what?",
        "How many agents were drawn from other federal agencies?",
    ),
}
# Two longer dev articles, each with its first two questions (picked by that rule, not by result).
for key, name in (("second", "03_real-id-deadline-baucus-tester"), ("third", "07_california-wildfires-feinstein")):
    qs = [json.loads(x) for x in (EVAL / "questions.jsonl").read_text().splitlines() if x.strip()]
    mine = [q["question"] for q in qs if q["article"] == f"articles/{name}.txt"][:2]
    if len(mine) == 2:
        ARTICLES[key] = (EVAL / "articles" / f"{name}.txt", mine[0], mine[1])

# Runs a command with a pseudo-terminal as stderr; its own stderr's last line: first output (s), peak MB.
_RUNNER = r"""
import json, os, pty, resource, select, subprocess, sys, time
master, slave = pty.openpty()
t0 = time.perf_counter()
p = subprocess.Popen(sys.argv[1:], stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL)
os.close(slave)
first = None
out = b""
import threading
def drain():
    global out
    out = p.stdout.read()
t = threading.Thread(target=drain); t.start()
while True:
    r, _, _ = select.select([master], [], [], 0.05)
    if r:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            chunk = b""
        if chunk and first is None:
            first = time.perf_counter() - t0
        if not chunk and p.poll() is not None:
            break
    elif p.poll() is not None:
        break
t.join()
p.wait()
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
sys.stdout.buffer.write(out)
sys.stderr.write("\n" + json.dumps({"first": first, "peak": peak, "code": p.returncode}) + "\n")
"""


def fresh_cache() -> Path:
    d = Path(tempfile.mkdtemp(prefix="newsqa-speed-"))
    share_model(d)
    return d


def _env(cache: Path, pythonpath: str | None) -> dict[str, str]:
    # Run from the cache folder (see cwd= below): a checkout in the working directory would shadow
    # the version on PYTHONPATH.
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    env["NEWSQA_CACHE_DIR"] = str(cache)
    env["PYTHONPATH"] = pythonpath or ""
    return env


def shell(args: list[str], cache: Path, pythonpath: str | None) -> dict[str, Any]:
    """One ``newsqa`` command from the shell: seconds, seconds to first output, peak MB, its JSON."""
    t0 = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-c", _RUNNER, sys.executable, "-m", "newsqa", *args, "--json", "--no-cache"],
        capture_output=True, env=_env(cache, pythonpath), cwd=cache, timeout=1800,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    info = json.loads(r.stderr.decode().strip().splitlines()[-1])
    if info.get("code"):
        raise RuntimeError(f"newsqa {' '.join(args[:1])} failed: {r.stderr.decode()[-300:]}")
    return {"s": round(seconds, 2), "first_s": info.get("first"), "peak_mb": round(info["peak"]),
            "result": json.loads(r.stdout)}  # fmt: skip


_IN_PROCESS = r"""
import json, sys, time
import newsqa
article = newsqa.Article.from_file(sys.argv[1])
client = newsqa.ModelClient(cache=False)
newsqa.ask(article, sys.argv[2], client=client)
t0 = time.perf_counter()
newsqa.ask(article, sys.argv[3], client=client)
print(json.dumps({"followup_s": time.perf_counter() - t0}))
"""

_BARE = r"""
import json, os, sys, time
t0 = time.perf_counter()
from llama_cpp import Llama
from newsqa.model.cpu import safe_loading  # the same llama.cpp buffers as newsqa's load
with safe_loading():
    llama = Llama(model_path=sys.argv[1], n_ctx=8192, n_threads=os.cpu_count() or 2, n_batch=512, verbose=False)
import numpy as np
from llama_cpp import LogitsProcessorList
text = open(sys.argv[2]).read()
# Exactly as many generated tokens as newsqa's draft and check together (#16): the end-of-reply tokens
# are held back, so a reply that ends sooner does not make bare llama-cpp look faster for writing less.
ends = sorted({llama.token_eos(), *llama.tokenize(b"<|im_end|>", add_bos=False, special=True)})
def hold_ends(ids, scores):
    scores[ends] = -np.inf
    return scores
out = llama.create_chat_completion(
    messages=[{"role": "user", "content": f"{text}\n\nQuestion: {sys.argv[3]}\nAnswer briefly."}],
    temperature=0, max_tokens=int(sys.argv[4]), logits_processor=LogitsProcessorList([hold_ends]),
)
print(json.dumps({"s": time.perf_counter() - t0, "usage": out["usage"]}))
"""


def python(code: str, args: list[str], cache: Path, pythonpath: str | None) -> dict[str, Any]:
    r = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, env=_env(cache, pythonpath),
        cwd=cache, timeout=1800,
    )  # fmt: skip
    if r.returncode:
        raise RuntimeError(r.stderr[-300:])
    return dict(json.loads(r.stdout.strip().splitlines()[-1]))


def measure(label: str, pythonpath: str | None, which: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in which:
        article, q1, q2 = ARTICLES[key]
        cache = fresh_cache()
        cold = shell(["ask", q1, str(article)], cache, pythonpath)
        follow_new = shell(["ask", q2, str(article)], cache, pythonpath)
        inproc = python(_IN_PROCESS, [str(article), q1, q2], fresh_cache(), pythonpath)
        summary = shell(["summarize", str(article)], fresh_cache(), pythonpath)
        usage = cold["result"].get("usage", {})
        out[key] = {
            "cold_s": cold["s"], "first_output_s": cold["first_s"], "ask_peak_mb": cold["peak_mb"],
            "followup_new_process_s": follow_new["s"], "followup_in_process_s": round(inproc["followup_s"], 2),
            "summary_s": summary["s"], "summary_peak_mb": summary["peak_mb"],
            "prompt_tokens": usage.get("prompt_tokens"), "completion_tokens": usage.get("completion_tokens"),
            "requests": usage.get("requests"),
        }  # fmt: skip
        print(f"{label} {key}: {json.dumps(out[key])}", file=sys.stderr, flush=True)
    return out


def bare(which: list[str], completions: dict[str, int]) -> dict[str, Any]:
    out = {}
    model = str(assemble_model())
    for key in which:
        article, q1, _ = ARTICLES[key]
        r = python(_BARE, [model, str(article), q1, str(completions[key])], fresh_cache(), None)
        out[key] = {"cold_s": round(r["s"], 2), "prompt_tokens": r["usage"]["prompt_tokens"],
                    "completion_tokens": r["usage"]["completion_tokens"]}  # fmt: skip
        print(f"bare {key}: {json.dumps(out[key])}", file=sys.stderr, flush=True)
    return out


def export(rev: str) -> Path:
    """newsqa at ``rev``, unpacked from git into a temporary folder (its package only)."""
    d = Path(tempfile.mkdtemp(prefix=f"newsqa-{rev}-"))
    archive = subprocess.run(["git", "archive", rev, "newsqa", "prompts"], capture_output=True, check=True, cwd=ROOT)
    subprocess.run(["tar", "-x", "-C", str(d)], input=archive.stdout, check=True)
    return d


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--previous", default=PREVIOUS)
    ap.add_argument("--articles", default=",".join(ARTICLES))
    ap.add_argument("--name", default="speed", help="the files to write (make bench copies speed.md's figures)")
    args = ap.parse_args()
    which = [a for a in args.articles.split(",") if a in ARTICLES]
    prev_dir = export(args.previous)
    now = measure("newsqa", str(ROOT), which)
    # the previous release on the llama.cpp buffers this code uses (benchmarks/buffers.py)
    prev_path = os.pathsep.join(p for p in (str(prev_dir), same_buffers_path()) if p)
    prev = measure(f"previous {args.previous}", prev_path, which)
    base = bare(which, {k: int(now[k]["completion_tokens"] or 64) for k in which})
    data = {"previous": args.previous, "newsqa": now, "previous_results": prev, "bare": base, **stamp()}
    (OUT / f"{args.name}.json").write_text(json.dumps(data, indent=1) + "\n")
    write_table(data, args.name)


def _num(v: float | None, digits: int) -> str:
    return "—" if v is None else f"{v:.{digits}f}"


def write_table(data: dict[str, Any], out: str = "speed") -> None:
    rev = data["previous"]
    command = "python benchmarks/speed.py" + ("" if out == "speed" else f" --name {out}")
    lines = [
        f"# Embedded model: newsqa against its previous release ({rev}) and bare llama-cpp",
        "",
        f"`{command}` — newsqa code at {data['commit']}, {data['machine']} ({data['cpu']}), "
        f"load average at the end {data['load']}, {data['date']}. Seconds are this machine's.",
        "",
        "| article | measurement | newsqa | previous | speed-up (previous / newsqa) | bare llama-cpp | newsqa / bare |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for key, now in data["newsqa"].items():
        prev, bare_row = data["previous_results"][key], data["bare"][key]
        rows = [
            ("cold `newsqa ask` from the shell", "cold_s", True),
            ("time to first output on the terminal", "first_output_s", False),
            ("follow-up from a new process", "followup_new_process_s", False),
            ("follow-up in the same process", "followup_in_process_s", False),
            ("cold `newsqa summarize` from the shell", "summary_s", False),
            ("peak memory of `newsqa ask` (MB)", "ask_peak_mb", False),
            ("peak memory of `newsqa summarize` (MB)", "summary_peak_mb", False),
        ]
        for name, field, with_bare in rows:
            a, b = now.get(field), prev.get(field)
            ratio = f"{b / a:.2f}×" if a and b and not field.endswith("_mb") else ""
            bare_s = f"{bare_row['cold_s']:.1f}" if with_bare else ""
            vs_bare = f"{a / bare_row['cold_s']:.2f}×" if with_bare and a else ""
            digits = 0 if field.endswith("_mb") else 1
            lines.append(f"| {key} | {name} | {_num(a, digits)} | {_num(b, digits)} | {ratio} | {bare_s} | {vs_bare} |")
    lines += [
        "",
        "Bare llama-cpp: a new process loads the model and answers the article and the question from a plain",
        "prompt, generating exactly as many tokens as newsqa's draft and its check did together; newsqa also",
        "checks its answer (a second, short request) and shows its progress.",
    ]
    (OUT / f"{out}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
