"""Trial: llama.cpp's extra buffer types on this CPU -- do they crash, and what do they buy?

    python benchmarks/trials/amx.py                               # the installed llama-cpp-python
    python benchmarks/trials/amx.py --build /tmp/noamx_site       # and another build (a pip --target dir)

``newsqa/model/cpu.py`` loads the embedded model without llama.cpp's extra buffer types (AMX, CPU
weight repacking) when the installed build has AMX kernels, because those crashed the process at the
first decode on an Intel CPU with AMX. This trial records that crash and the price of the fallback:
for each build, each way of loading runs in a new process (so a crash is a result, not the end of the
trial) and reports the model load, reading 1,000 article tokens in one batch of 512 and one of 488, and
60 single generated tokens. The ways alternate, ``--rounds`` times, since this machine's speed varies
from one minute to the next; the table gives medians.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from benchmarks.provenance import stamp  # noqa: E402
from newsqa.model.weights import assemble_model  # noqa: E402

OUT = Path(__file__).resolve().parent / "amx.md"
ARTICLE = ROOT / "fixtures" / "articles" / "dhs-national-guard.txt"

_CHILD = r"""
import json, sys, time
from llama_cpp import Llama
from newsqa.model.cpu import model_params
fields = json.loads(sys.argv[3])
t = time.perf_counter()
with model_params(**fields):
    llama = Llama(model_path=sys.argv[1], n_ctx=8192, n_threads=2, n_batch=512, verbose=False)
load = time.perf_counter() - t
text = open(sys.argv[2]).read()
tokens = llama.tokenize((text * 3).encode())[:1000]
t = time.perf_counter()
llama.eval(tokens)
read = time.perf_counter() - t
t = time.perf_counter()
for token in tokens[:60]:
    llama.eval([token])
gen = time.perf_counter() - t
print(json.dumps({"load_s": load, "read_tok_s": 1000 / read, "gen_tok_s": 60 / gen}))
"""

WAYS = {
    "llama.cpp's defaults (extra buffers)": {},
    "no extra buffers (newsqa on an AMX build)": {"use_extra_bufts": False},
}


def _env(build: str | None) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in (build, str(ROOT)) if p)}


def has_amx(build: str | None) -> bool:
    code = "from newsqa.model.cpu import build_has_amx; print(build_has_amx())"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=_env(build), check=True)
    return r.stdout.strip() == "True"


def run(build: str | None, fields: dict[str, Any], model: Path) -> dict[str, Any]:
    r = subprocess.run(
        [sys.executable, "-c", _CHILD, str(model), str(ARTICLE), json.dumps(fields)],
        capture_output=True, text=True, env=_env(build), timeout=600,
    )  # fmt: skip
    if r.returncode < 0:
        return {"crashed": signal.Signals(-r.returncode).name}
    if r.returncode:
        raise RuntimeError(r.stderr[-500:])
    return dict(json.loads(r.stdout.strip().splitlines()[-1]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--build", action="append", default=[], help="another llama-cpp-python (a pip --target dir)")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    model = assemble_model()
    builds: list[str | None] = [None, *args.build]
    runs: dict[tuple[int, str], list[dict[str, Any]]] = {}
    for _ in range(args.rounds):
        for b, build in enumerate(builds):
            for way, fields in WAYS.items():
                r = run(build, fields, model)
                print(f"build {b} / {way}: {json.dumps(r)}", file=sys.stderr, flush=True)
                runs.setdefault((b, way), []).append(r)
    info = stamp()
    lines = [
        "# Trial: llama.cpp's extra buffer types on this CPU (newsqa/model/cpu.py)",
        "",
        f"`python benchmarks/trials/amx.py{''.join(f' --build {b}' for b in args.build)}` — {info['cpu']}, "
        f"{info['machine']}, load average at the end {info['load']}, {info['date']}, nothing else running. "
        f"Medians of {args.rounds} runs, each in a new process, the ways alternating.",
        "",
        "| llama-cpp-python | loaded with | model load (s) | reading (tokens/s) | generating (tokens/s) |",
        "|---|---|---:|---:|---:|",
    ]
    amx = [has_amx(build) for build in builds]
    for (b, way), rs in runs.items():
        name = ("installed" if builds[b] is None else f"`{builds[b]}`") + (" (AMX build)" if amx[b] else "")
        crashed = [r["crashed"] for r in rs if "crashed" in r]
        if crashed:
            lines.append(f"| {name} | {way} | crashed ({crashed[0]}) in {len(crashed)} of {len(rs)} runs | | |")
            continue
        med = {k: statistics.median(r[k] for r in rs) for k in ("load_s", "read_tok_s", "gen_tok_s")}
        lines.append(f"| {name} | {way} | {med['load_s']:.2f} | {med['read_tok_s']:.1f} | {med['gen_tok_s']:.1f} |")
    OUT.write_text("\n".join(lines) + "\n")
    print(OUT.read_text())


if __name__ == "__main__":
    main()
