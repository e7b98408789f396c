"""Record the replay fixtures from the real embedded model, served over HTTP on 127.0.0.1.

    python scripts/record_fixtures.py            # (re)record everything in fixtures/exchanges/

Starts ``python -m llama_cpp.server`` on a free loopback port with the embedded GGUF, runs each
scenario through a ModelClient whose transport records every exchange (credentials scrubbed), then
stops the server. The tests replay these files offline; a request they make that was not recorded
here fails loudly.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import newsqa  # noqa: E402
from newsqa.client import EMBEDDED_MODEL  # noqa: E402
from newsqa.local import assemble_model  # noqa: E402
from newsqa.session import Session  # noqa: E402
from newsqa.testing import RecordingTransport  # noqa: E402

EXCHANGES = ROOT / "fixtures" / "exchanges"
SAMPLE = ROOT / "fixtures" / "articles" / "dhs-national-guard.txt"
FOLLOW_UP = ["What was requested?", "Who made it?"]
QUESTIONS = [
    "Who requested what?",
    "How many agents were drawn from other federal agencies?",
    "What is DHS offering people who leave voluntarily?",
    "What did the Governor of Texas say?",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def llama_server() -> Iterator[str]:
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(assemble_model()),
        "--model_alias",
        EMBEDDED_MODEL,
        "--n_ctx",
        "8192",
        "--n_threads",
        str(os.cpu_count() or 2),
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.time() + 120
        while time.time() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"llama_cpp.server exited with {proc.returncode}")
            try:
                if httpx2.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            except httpx2.HTTPError:
                time.sleep(0.5)
        else:
            raise RuntimeError("llama_cpp.server did not become ready")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def client(base: str) -> newsqa.ModelClient:
    return newsqa.ModelClient(
        base_url=base,
        model=EMBEDDED_MODEL,
        response_format="json_object",
        cache=False,
        transport=RecordingTransport(httpx2.HTTPTransport(), EXCHANGES),
    )


def scenarios(c: newsqa.ModelClient) -> None:
    article = newsqa.Article.from_file(SAMPLE)
    for q in QUESTIONS:
        t = time.perf_counter()
        a = newsqa.ask(article, q, client=c)
        print(f"{time.perf_counter() - t:6.1f}s ask {q!r}: {a.status} {a.answer!r}", flush=True)
    t = time.perf_counter()
    s = newsqa.summarize(article, client=c)
    print(f"{time.perf_counter() - t:6.1f}s summarize: {s.headline!r}", flush=True)
    # Streaming, as the CLI does on a terminal.
    t = time.perf_counter()
    *_, streamed = newsqa.ask(article, QUESTIONS[0], client=c, stream=True)
    print(f"{time.perf_counter() - t:6.1f}s stream: {streamed.answer!r}", flush=True)
    # A follow-up that only makes sense with the conversation.
    session = Session(article, client=c)
    for q in FOLLOW_UP:
        t = time.perf_counter()
        a = session.ask(q)
        print(f"{time.perf_counter() - t:6.1f}s session {q!r}: {a.status} {a.answer!r}", flush=True)


def main() -> None:
    EXCHANGES.mkdir(parents=True, exist_ok=True)
    with llama_server() as base:
        scenarios(client(base))


if __name__ == "__main__":
    main()
