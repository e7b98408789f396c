"""Embedded-model figures on this machine, each against a baseline measured in the same run.

    python benchmarks/embedded.py            # writes benchmarks/embedded.md and embedded.json

Cold answers, follow-ups, summaries and peak memory are measured by ``benchmarks/speed.py``.

1. A new article from a new process after another one (the system rules' state reused) vs the same
   article cold.
2. Prompt and generation speed of the bare model (tokens per second).
3. newsqa's overhead: ``newsqa.ask`` vs a bare llama-cpp ``create_chat_completion`` with the same
   messages and response format, same loaded model, KV cleared before each run, runs interleaved.
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import newsqa  # noqa: E402
from benchmarks.provenance import stamp  # noqa: E402
from newsqa import prompts  # noqa: E402
from newsqa.api.questions import ANSWER_MAX_TOKENS  # noqa: E402
from newsqa.model.local import local_transport  # noqa: E402
from newsqa.model.weights import assemble_model, share_model  # noqa: E402
from newsqa.schemas import Answer, draft_model  # noqa: E402
from newsqa.testing import llama_server  # noqa: E402

SAMPLE = ROOT / "fixtures" / "articles" / "dhs-national-guard.txt"
Q1 = "Who requested what?"
OUT = Path(__file__).resolve().parent


def fresh_cache() -> Path:
    """A cache directory holding the verified model file but no responses and no saved model state."""
    d = Path(tempfile.mkdtemp(prefix="newsqa-bench-"))
    share_model(d)
    return d


SECOND = ROOT / "fixtures" / "eval" / "articles" / "03_real-id-deadline-baucus-tester.txt"
# Runs a command and prints its peak resident memory (MB) last, on stderr: the child's own figure.
_PEAK = (
    "import resource, subprocess, sys\n"
    "r = subprocess.run(sys.argv[1:])\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, file=sys.stderr)\n"
    "sys.exit(r.returncode)\n"
)


def cli(question: str | None, cache: Path, article: Path = SAMPLE) -> tuple[float, dict, float]:
    """Time, JSON result and peak memory (MB) of one ``newsqa ask`` (or ``summarize``) from the shell."""
    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY", "OPENAI_BASE_URL")}
    env["NEWSQA_CACHE_DIR"] = str(cache)
    command = ["ask", question, str(article)] if question else ["summarize", str(article)]
    t0 = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-c", _PEAK, sys.executable, "-m", "newsqa", *command, "--json", "--no-cache"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    peak = float(r.stderr.strip().splitlines()[-1])
    return time.perf_counter() - t0, json.loads(r.stdout), peak


def server_vs_inprocess() -> None:
    """Start-up of a managed llama_cpp.server (until /v1/models answers) vs loading the model in process."""
    model = assemble_model()
    t0 = time.perf_counter()
    with llama_server(model):
        server = time.perf_counter() - t0
    t0 = time.perf_counter()
    # Loaded as newsqa loads it (newsqa.model.cpu): on an AMX build, llama.cpp's defaults take twice as long.
    code = (
        "import llama_cpp\nfrom newsqa.model.cpu import safe_loading\nwith safe_loading():\n"
        f"    llama_cpp.Llama(model_path={str(model)!r}, n_ctx=8192, n_threads={os.cpu_count() or 2}, verbose=False)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    inproc = time.perf_counter() - t0
    text = (
        "\n## Why in-process\n\n`python benchmarks/embedded.py --server`\n\n"
        "| start-up | seconds |\n|---|---:|\n"
        f"| managed `llama_cpp.server` subprocess, until `/v1/models` answers | {server:.2f} |\n"
        f"| in-process model load (new interpreter, import included) | {inproc:.2f} |\n\n"
        "Reading and generation cost the same in both (the same llama.cpp build); the server adds start-up,\n"
        "a second process to supervise and a port, and only helps follow-ups across processes if it stays\n"
        "resident. The in-process model with its article state saved to disk gets that benefit without a\n"
        "resident process (the cross-process follow-up row above).\n"
    )
    md = OUT / "embedded.md"
    body = md.read_text().split("\n## Why in-process")[0] if md.exists() else ""
    md.write_text(body.rstrip("\n") + "\n" + text)
    print(text)


def main() -> None:
    if "--server" in sys.argv:
        server_vs_inprocess()
        return
    results: dict[str, object] = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "python": platform.python_version(),
    }

    # Cold answers, follow-ups, summaries and peak memory are benchmarks/speed.py's (against the
    # previous release and bare llama-cpp); this script measures what that one does not.
    # 1. A new article after another: the system rules' state is reused, not read again.
    cache = fresh_cache()
    cli(Q1, cache)
    after, _, _ = cli(Q1, cache, SECOND)
    alone, a1, _ = cli(Q1, fresh_cache(), SECOND)
    results["cli_new_article_after_another_s"] = round(after, 1)
    results["cli_new_article_cold_s"] = round(alone, 1)
    results["cli_prompt_tokens"] = a1["usage"]["prompt_tokens"]
    print(f"new article after another {after:.1f}s, the same cold {alone:.1f}s", flush=True)

    # 2. In process: the model loaded once, for the bare comparison below.
    os.environ["NEWSQA_CACHE_DIR"] = str(fresh_cache())
    client = newsqa.ModelClient(cache=False)
    article = newsqa.Article.from_file(SAMPLE)
    transport = local_transport(None, n_ctx=client.settings.n_ctx)

    # 3 + 4. Bare llama-cpp with newsqa's exact request, against newsqa.ask; no saved state.
    transport.state_cache = False
    llama = transport._load()
    messages = prompts.messages_for(prompts.article_block(article), prompts.render("ask", question=Q1))
    kwargs = client._request_kwargs(messages, draft_model(Answer), ANSWER_MAX_TOKENS, "json_object", False)
    tokens = llama.tokenize(prompts.article_block(article).encode())

    llama.reset()
    t0 = time.perf_counter()
    llama.eval(tokens)
    prompt_tps = len(tokens) / (time.perf_counter() - t0)
    llama.reset()
    t0 = time.perf_counter()
    out = llama.create_completion("Write a short news paragraph about city budgets.", max_tokens=64, temperature=0)
    gen_s = time.perf_counter() - t0
    gen_tps = out["usage"]["completion_tokens"] / gen_s  # includes a ~10-token prompt: a slight underestimate
    results["prompt_tokens_per_s"] = round(prompt_tps, 1)
    results["generation_tokens_per_s"] = round(gen_tps, 1)
    print(f"prompt {prompt_tps:.1f} tok/s, generation {gen_tps:.1f} tok/s", flush=True)

    bare, ours = [], []
    for _ in range(2):
        llama.reset()
        t0 = time.perf_counter()
        llama.create_chat_completion(
            messages=kwargs["messages"],
            response_format=kwargs["response_format"],
            temperature=kwargs["temperature"],
            max_tokens=kwargs["max_tokens"],
        )
        bare.append(time.perf_counter() - t0)
        llama.reset()
        t0 = time.perf_counter()
        newsqa.ask(article, Q1, client=client)
        ours.append(time.perf_counter() - t0)
        print(f"bare {bare[-1]:.1f}s, newsqa {ours[-1]:.1f}s", flush=True)
    b, o = statistics.median(bare), statistics.median(ours)
    results["bare_llama_s"] = round(b, 2)
    results["newsqa_ask_s"] = round(o, 2)
    results["overhead_pct"] = round(100 * (o - b) / b, 1)

    results.update(stamp())  # taken at the end: the load average covers the run
    (OUT / "embedded.json").write_text(json.dumps(results, indent=2) + "\n")
    (OUT / "embedded.md").write_text(
        "# Embedded model on this machine\n\n"
        f"Measured by `python benchmarks/embedded.py` ({results['machine']}; {results['cpu']}),\n"
        "Qwen2.5-Coder-1.5B-Instruct Q4_K_M in-process through llama-cpp-python. Cold answers, follow-ups,\n"
        "summaries and peak memory: [speed.md](speed.md).\n\n"
        "| measurement | value | baseline in the same run | ratio |\n|---|---:|---:|---:|\n"
        f"| a new article from a new process, after another (system rules' state reused) | {after:.1f} s | the same article cold {alone:.1f} s | {after / alone:.2f} |\n"
        f"| prompt evaluation speed | {prompt_tps:.1f} tok/s | | |\n"
        f"| generation speed | {gen_tps:.1f} tok/s | | |\n"
        f"| `newsqa.ask`: the same draft request plus its second reading, KV cleared | {o:.2f} s | bare `create_chat_completion` of the draft alone {b:.2f} s | {o / b:.3f} ({results['overhead_pct']:+.1f} %) |\n"
        f"\nPrompt of the new article: {results['cli_prompt_tokens']} tokens (system rules + tagged article + question).\n"
    )
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
