"""Where a benchmark figure comes from: the code it measured, the machine, and how busy it was."""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# What a run measures: newsqa, its prompts, and the peers' set-up.
MEASURED = ("newsqa", "prompts", "benchmarks/peer_systems.py")


def code_commit() -> str:
    """The last commit that changed what the runs measure, marked when the working tree differs from it."""
    last = subprocess.run(
        ["git", "log", "-1", "--format=%h", "--", *MEASURED], capture_output=True, text=True, cwd=ROOT
    )
    dirty = subprocess.run(["git", "status", "--porcelain", "--", *MEASURED], capture_output=True, text=True, cwd=ROOT)
    return last.stdout.strip() + (" with uncommitted changes" if dirty.stdout.strip() else "")


def cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown CPU"


def stamp() -> dict[str, str]:
    """The facts every benchmark record carries."""
    return {
        "commit": code_commit(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "cpu": cpu_model(),
        "load": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
