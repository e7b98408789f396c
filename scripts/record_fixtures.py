"""Record the replay fixtures from the real embedded model, served over HTTP on 127.0.0.1.

    python scripts/record_fixtures.py            # (re)record everything in fixtures/exchanges/

Starts ``python -m llama_cpp.server`` on a free loopback port with the embedded GGUF, runs each
scenario through a ModelClient whose transport records every exchange (credentials scrubbed), then
stops the server. The tests replay these files offline; a request they make that was not recorded
here fails loudly.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx2

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import newsqa  # noqa: E402
from newsqa.faces.session import Session  # noqa: E402
from newsqa.model.settings import EMBEDDED_MODEL  # noqa: E402
from newsqa.testing import RecordingTransport, llama_server  # noqa: E402

EXCHANGES = ROOT / "fixtures" / "exchanges"
SAMPLE = ROOT / "fixtures" / "articles" / "dhs-national-guard.txt"
FOLLOW_UP = ["What was requested?", "Who is reviewing it?"]
QUESTIONS = [
    "Who requested what?",
    "How many agents were drawn from other federal agencies?",
    "What is DHS offering people who leave voluntarily?",
    "What did the Governor of Texas say?",
]


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
    with llama_server(alias=EMBEDDED_MODEL) as base:
        scenarios(client(base))


if __name__ == "__main__":
    main()
