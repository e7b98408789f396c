"""Answer quality of newsqa and its peers with the same real model, on the same questions, in one run.

    python benchmarks/quality.py                   # resumes; writes benchmarks/quality.md and quality.json
    python benchmarks/quality.py --fresh           # forget earlier rows and run everything again
    python benchmarks/quality.py --report          # the tables from the rows on disk, no model

The embedded model (Qwen2.5-Coder-1.5B-Instruct Q4_K_M) is served by ``llama_cpp.server`` on 127.0.0.1;
every system reaches it through a counting proxy in this process, which adds up each request's
prompt and completion tokens as the server counts them (one tokenizer, the model's own) and, in a
column of its own, the tokens of any JSON schema a system sends as its response format or tool.
Each system runs in its own process (its peak memory is its own) over the questions grouped by
article, so the server's reuse of a shared prompt prefix helps every system alike.

Questions (chosen by this rule before the first run): from each short article of the news dev set
(``fixtures/eval``; the long ones do not fit the peers that send the whole article) its first
answerable question and its first unanswerable one (else its second answerable one), and 30
questions of the SQuAD 2.0 test split, half unanswerable (``benchmarks/squad.py``'s split and
sampler). A 2-core CPU reads about 65 prompt tokens a second through the server, and the news
articles run to 3,000 tokens: this is the most that five systems can answer in an hour. Scoring is the accuracy harness's:
an answer is right when a gold answer is contained in it after normalisation or its token F1 is at
least 0.6; an unanswerable question is right when the system declines.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.peer_systems import OWN_VENV, SYSTEMS  # noqa: E402
from benchmarks.provenance import code_commit, stamp  # noqa: E402
from benchmarks.squad import correct  # noqa: E402
from benchmarks.squad import load as load_squad  # noqa: E402
from newsqa.model.weights import share_model  # noqa: E402
from newsqa.testing import llama_server  # noqa: E402
from newsqa.text.words import normalise  # noqa: E402

OUT = Path(__file__).resolve().parent
ROWS = OUT / "quality"
EVAL = ROOT / "fixtures" / "eval"
MODEL = "qwen2.5-coder-1.5b-instruct-q4_k_m"
PEERS_PYTHON = OUT / "peers-venv" / "bin" / "python"
IN_PROCESS = {"newsqa, in process"}  # systems that do not go through the server
SQUAD_N = 30

RETURNS = {
    "newsqa": "answer + evidence located in the article, checked",
    "LangChain": "schema: answer + quotes (unchecked)",
    "LlamaIndex": "free text",
    "Instructor": "schema: answer + quotes (unchecked)",
    "stuff baseline": "free text: answer + one quote",
    "newsqa, in process": "as newsqa, the embedded model in its own process (article state kept)",
}


# -- the questions --------------------------------------------------------------------------------------
def jobs() -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    news = [json.loads(x) for x in (EVAL / "questions.jsonl").read_text().splitlines() if x.strip()]
    for article in dict.fromkeys(q["article"] for q in news if not q["article"].startswith("long/")):
        mine = [q for q in news if q["article"] == article]
        answerable = [q for q in mine if q["answers"]]
        picked = answerable[:1] + ([q for q in mine if not q["answers"]][:1] or answerable[1:2])
        text = (EVAL / article).read_text()
        for q in picked:
            rows.append({"id": q["id"], "set": "news", "article": article, "text": text,
                         "question": q["question"], "answers": q["answers"]})  # fmt: skip
    for q in load_squad("test", SQUAD_N):
        answers = [] if q["is_impossible"] else q["answers"]
        rows.append({"id": q["id"], "set": "SQuAD", "article": q["pid"], "text": q["context"],
                     "question": q["question"], "answers": answers})  # fmt: skip
    return rows


# -- the counting proxy ---------------------------------------------------------------------------------
class Counter:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream  # the server's root, e.g. http://127.0.0.1:PORT
        self.lock = threading.Lock()
        self.totals = {"calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "schema_tokens": 0}
        self._schema_counts: dict[str, int] = {}

    def schema_tokens(self, body: dict[str, Any]) -> int:
        schemas: list[Any] = []
        fmt = body.get("response_format")
        if isinstance(fmt, dict):
            schemas.append(fmt.get("schema") or (fmt.get("json_schema") or {}).get("schema"))
        for tool in body.get("tools") or []:
            schemas.append(tool)
        n = 0
        for s in schemas:
            if not s:
                continue
            text = json.dumps(s, separators=(",", ":"))
            if text not in self._schema_counts:
                req = urllib.request.Request(
                    f"{self.upstream}/extras/tokenize/count",
                    data=json.dumps({"input": text}).encode(),
                    headers={"content-type": "application/json"},
                )
                with urllib.request.urlopen(req, timeout=60) as r:
                    self._schema_counts[text] = int(json.load(r)["count"])
            n += self._schema_counts[text]
        return n

    def add(self, body: dict[str, Any], reply: dict[str, Any]) -> None:
        usage = reply.get("usage") or {}
        schema = self.schema_tokens(body)
        with self.lock:
            self.totals["calls"] += 1
            self.totals["prompt_tokens"] += int(usage.get("prompt_tokens") or 0)
            self.totals["completion_tokens"] += int(usage.get("completion_tokens") or 0)
            self.totals["schema_tokens"] += schema


@contextlib.contextmanager
def counting_proxy(upstream_v1: str) -> Iterator[tuple[str, Counter]]:
    root = upstream_v1.removesuffix("/v1")
    counter = Counter(root)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
            self.send_response(status)
            self.send_header("content-type", ctype)
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self) -> None:
            if self.path == "/counter":
                with counter.lock:
                    self._send(200, json.dumps(counter.totals).encode())
                return
            self._forward(None)

        def do_POST(self) -> None:
            self._forward(self.rfile.read(int(self.headers.get("content-length") or 0)))

        def _forward(self, data: bytes | None) -> None:
            req = urllib.request.Request(root + self.path, data=data, method=self.command)
            req.add_header("content-type", self.headers.get("content-type") or "application/json")
            try:
                with urllib.request.urlopen(req, timeout=900) as r:
                    status, body, ctype = r.status, r.read(), r.headers.get("content-type") or "application/json"
            except urllib.error.HTTPError as e:
                status, body, ctype = e.code, e.read(), e.headers.get("content-type") or "application/json"
            if (
                data
                and status == 200
                and self.path.endswith("/chat/completions")
                and ctype.startswith("application/json")
            ):
                with contextlib.suppress(ValueError):
                    counter.add(json.loads(data), json.loads(body))
            self._send(status, body, ctype)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", counter
    finally:
        server.shutdown()


def _server_peak_mb(port: str) -> float | None:
    """Peak resident memory of the llama_cpp.server process listening on ``port`` (Linux)."""
    for proc in Path("/proc").iterdir():
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            if b"llama_cpp.server" in cmd and port.encode() in cmd:
                for line in (proc / "status").read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        return int(line.split()[1]) / 1024
        except OSError:
            continue
    return None


# -- running ---------------------------------------------------------------------------------------------
def run(systems: list[str]) -> dict[str, Any]:
    ROWS.mkdir(exist_ok=True)
    all_jobs = jobs()
    job_file = ROWS / "jobs.jsonl"
    job_file.write_text("".join(json.dumps({k: j[k] for k in ("id", "text", "question")}) + "\n" for j in all_jobs))
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    env["PYTHONPATH"] = str(ROOT)
    # The in-process row starts like a new user: the model file, no saved model states, no responses.
    cache = Path(tempfile.mkdtemp(prefix="newsqa-quality-"))
    share_model(cache)
    env["NEWSQA_CACHE_DIR"] = str(cache)
    server_peak = None
    with llama_server(alias=MODEL) as upstream, counting_proxy(upstream) as (base_url, _):
        for name in systems:
            python = str(PEERS_PYTHON) if name in OWN_VENV else sys.executable
            if name in OWN_VENV and not PEERS_PYTHON.exists():
                raise SystemExit(f"{name} runs from {PEERS_PYTHON.parent.parent}: make bench creates it")
            print(f"== {name}", file=sys.stderr, flush=True)
            subprocess.run(
                [python, str(OUT / "peer_systems.py"), name, "--base-url", base_url, "--model", MODEL,
                 "--jobs", str(job_file), "--out", str(rows_file(name)),
                 "--counter", base_url.removesuffix("/v1") + "/counter"],
                env=env, check=True,
            )  # fmt: skip
        server_peak = _server_peak_mb(upstream.rsplit(":", 1)[1].split("/")[0])
    return {"server_peak_mb": round(server_peak) if server_peak else None}


def rows_file(system: str) -> Path:
    return ROWS / (system.lower().replace(",", "").replace(" ", "-") + ".jsonl")


# -- scoring -----------------------------------------------------------------------------------------------
_QUOTE_MARKS = str.maketrans("", "", "\"'“”‘’`")


def _flat(s: str) -> str:
    """Text as a quote is compared: case, spacing and the kind of quotation mark do not matter."""
    return " ".join(normalise(s).lower().translate(_QUOTE_MARKS).split())


def score(system: str, by_id: dict[str, dict[str, Any]]) -> dict[str, Any]:
    path = rows_file(system)
    rows = [json.loads(x) for x in path.read_text().splitlines() if x.strip()] if path.exists() else []
    out: dict[str, Any] = {"n": len(rows)}
    for which in ("news", "SQuAD"):
        mine = [r for r in rows if by_id[r["id"]]["set"] == which]
        ans = [r for r in mine if by_id[r["id"]]["answers"]]
        una = [r for r in mine if not by_id[r["id"]]["answers"]]
        right = sum(1 for r in ans if not r["refused"] and correct(r["answer"], by_id[r["id"]]["answers"])[0])
        out[which] = {"answerable": [right, len(ans)], "unanswerable": [sum(1 for r in una if r["refused"]), len(una)]}
    quotes = bad = 0
    returns_quotes = False
    for r in rows:
        if r.get("quotes") is None:
            continue
        returns_quotes = True
        article = _flat(by_id[r["id"]]["text"])
        for q in r["quotes"] or []:
            quotes += 1
            bad += _flat(q).strip(" .") not in article
    out["quotes"] = [bad, quotes] if returns_quotes else None
    n = max(1, len(rows))
    for k in ("seconds", "prompt_tokens", "completion_tokens", "schema_tokens", "calls"):
        out[k] = sum(r.get(k, 0) for r in rows) / n
    out["errors"] = sum(1 for r in rows if r.get("error"))
    out["peak_mb"] = max((r.get("peak_mb", 0) for r in rows), default=0)
    return out


def _pct(k: int, n: int) -> str:
    return f"{k / n:.0%} ({k}/{n})" if n else "—"


def report(meta: dict[str, Any]) -> None:
    by_id = {j["id"]: j for j in jobs()}
    results = {name: score(name, by_id) for name in SYSTEMS}
    n_total = len(by_id)
    lines = [
        "| system | returns | news: answerable | news: unanswerable | SQuAD: answerable | SQuAD: unanswerable "
        "| quotes not in the article | s / question | prompt tokens / q | completion tokens / q "
        "| schema tokens / q (not in prompt here) | calls / q | errors | peak MB (client) |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        quotes = "— (none returned)" if r["quotes"] is None else _pct(*r["quotes"])
        # The in-process row bypasses the proxy: its model reads no schema tokens and none were counted.
        schema = "—" if name in IN_PROCESS else f"{r['schema_tokens']:.0f}"
        partial = "" if r["n"] == n_total else f" (partial: {r['n']} of {n_total})"
        lines.append(
            f"| {name}{partial} | {RETURNS[name]} | {_pct(*r['news']['answerable'])} | "
            f"{_pct(*r['news']['unanswerable'])} | {_pct(*r['SQuAD']['answerable'])} | "
            f"{_pct(*r['SQuAD']['unanswerable'])} | {quotes} | {r['seconds']:.1f} | {r['prompt_tokens']:.0f} | "
            f"{r['completion_tokens']:.0f} | {schema} | {r['calls']:.2f} | {r['errors']} | "
            f"{r['peak_mb']:.0f} |"
        )
    base = results["stuff baseline"]["seconds"] or 1.0
    ratios = ", ".join(f"{n} {r['seconds'] / base:.2f}×" for n, r in results.items() if n != "stuff baseline")
    # A run's own stamp (taken when it ended) wins over the report's.
    meta = {**stamp(), **meta}
    text = (
        "| | |\n|---|---|\n"
        f"| command | `python benchmarks/quality.py` ({meta.get('minutes', '?')} min) |\n"
        f"| newsqa code at commit | {meta.get('commit', '?')} |\n"
        f"| machine | {meta['machine']} ({meta['cpu']}), load average at the end {meta['load']}, {meta['date']} |\n"
        f"| model | {MODEL} over `llama_cpp.server` on 127.0.0.1 (server peak memory "
        f"{meta.get('server_peak_mb') or '—'} MB, shared by all) |\n"
        f"| questions | {sum(1 for j in by_id.values() if j['set'] == 'news')} news dev-set questions on its short "
        f"articles, {sum(1 for j in by_id.values() if j['set'] == 'SQuAD')} SQuAD 2.0 test-split questions "
        "(half unanswerable) |\n\n"
        + "\n".join(lines)
        + f"\n\nSeconds per question against the stuff baseline in the same run: {ratios}. Seconds and "
        "memory are this machine's (2 cores, no GPU).\n"
    )
    (OUT / "quality.md").write_text(text)
    (OUT / "quality.json").write_text(json.dumps({"meta": meta, "results": results}, indent=1) + "\n")
    print(text)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fresh", action="store_true")
    ap.add_argument("--report", action="store_true")
    ap.add_argument("--only", nargs="*", choices=list(SYSTEMS), default=list(SYSTEMS))
    args = ap.parse_args()
    meta_file = ROWS / "meta.json"
    if args.report:
        report(json.loads(meta_file.read_text()) if meta_file.exists() else {})
        return
    earlier = json.loads(meta_file.read_text()) if meta_file.exists() else {}
    if args.fresh or earlier.get("commit") != code_commit():
        # Rows measured on other code are not this run's: the table comes from one commit.
        for name in SYSTEMS:
            rows_file(name).unlink(missing_ok=True)
    ROWS.mkdir(exist_ok=True)
    meta_file.write_text(json.dumps({"commit": code_commit()}) + "\n")
    t0 = time.perf_counter()
    meta = run(args.only)
    meta.update(stamp())
    meta["minutes"] = round((time.perf_counter() - t0) / 60, 1)
    ROWS.mkdir(exist_ok=True)
    meta_file.write_text(json.dumps(meta) + "\n")
    report(meta)


if __name__ == "__main__":
    main()
