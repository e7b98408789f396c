"""Fault injection against a fake OpenAI-compatible server on 127.0.0.1 (real sockets).

    python benchmarks/faults.py        # writes benchmarks/faults.md

Every case must end in a valid result or the documented typed error, within the retry budget, with
usage counted across attempts and nothing invalid cached. tests/test_faults.py asserts the same cases.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import newsqa  # noqa: E402
from newsqa.schemas import Answer, draft_model  # noqa: E402
from newsqa.testing import FakeOpenAIServer, chat_completion, streamed_completion  # noqa: E402

GOOD = json.dumps({"evidence": ["S1"], "status": "answered", "answer": "DHS asked the Pentagon for troops"})
DRAFT = draft_model(Answer)
MESSAGES = [{"role": "system", "content": "rules"}, {"role": "user", "content": "<article>\n[S1] x\n</article>\n\nq"}]


def err(status: int, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    return (status, headers or {}, json.dumps({"error": {"message": f"injected {status}"}}))


@dataclass
class Case:
    name: str
    script: list[Any]
    expect: str  # "ok" or the exception class name
    stream: bool = False
    timeout: float = 5.0


CASES = [
    Case("429 with Retry-After: 1", [err(429, {"retry-after": "1"}), GOOD], "ok"),
    Case("burst of 500, 502, 503", [err(500), err(502), err(503), GOOD], "ok"),
    Case("5xx beyond the retry budget", [err(503)] * 5, "RetriesExhaustedError"),
    Case("connection reset", ["reset", GOOD], "ok"),
    Case(
        "slower than the timeout",
        ["sleep:2", "sleep:2", "sleep:2", "sleep:2", "sleep:2"],
        "RetriesExhaustedError",
        timeout=0.5,
    ),
    Case("slow once, then fine", ["sleep:2", GOOD], "ok", timeout=0.5),
    Case("truncated JSON, then valid", ['{"evidence": ["S1"], "status": "answ', GOOD], "ok"),
    Case("schema-violating JSON, then valid", ['{"evidence": "S1", "status": "maybe"}', GOOD], "ok"),
    Case("invalid on every re-ask", ["{}", "[]", "null"], "ValidationExhaustedError"),
    Case(
        'finish_reason "length"',
        [chat_completion('{"evidence": ["S1"], "sta', finish_reason="length")],
        "TruncatedOutputError",
    ),
    Case("refusal", [chat_completion(None, refusal="I can't help with that.")], "RefusalError"),
    Case(
        "empty choices, then valid",
        [{"id": "x", "object": "chat.completion", "created": 0, "model": "m", "choices": []}, GOOD],
        "ok",
    ),
    Case("401 unauthorized (not retried)", [err(401)], "BackendError"),
    Case("400 bad request (not retried)", [err(400)], "BackendError"),
    Case(
        "streaming cut midway, then whole",
        [streamed_completion(GOOD, finish_reason=None), streamed_completion(GOOD)],
        "ok",
        stream=True,
    ),
]


def run_case(case: Case) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="newsqa-faults-") as cache_dir:
        return _run_case(case, newsqa.Cache(cache_dir))


def _run_case(case: Case, cache: newsqa.Cache) -> dict[str, Any]:
    with FakeOpenAIServer(case.script) as server:
        client = newsqa.ModelClient(
            base_url=server.base_url,
            api_key="sk-fake-" + "0" * 24,
            model="fake",
            response_format="json_object",
            timeout=case.timeout,
            max_retries=3,
            max_reasks=2,
            backoff=0.05,
            max_backoff=0.5,
            cache=cache,
        )
        t0 = time.perf_counter()
        outcome, usage = "ok", None
        try:
            if case.stream:
                from newsqa.model.loop import run_sync

                pieces: list[str] = []
                done = run_sync(client.acomplete(MESSAGES, DRAFT, on_delta=lambda p: pieces.append(p or "")))
            else:
                done = client.complete(MESSAGES, DRAFT)
            usage = done.usage
        except newsqa.NewsQAError as exc:
            outcome = type(exc).__name__
            usage = getattr(exc, "usage", None)
        except Exception as exc:  # an untyped escape is a failure of newsqa, reported as such
            outcome = f"UNTYPED {type(exc).__name__}"
        seconds = time.perf_counter() - t0
        requests = len(server.requests)
        client.close()
    cached = cache.stats().entries
    cache.close()
    return {
        "case": case.name,
        "expected": case.expect,
        "outcome": outcome,
        "requests": requests,
        "tokens": usage.total_tokens if usage else 0,
        "cached_entries": cached,
        "seconds": round(seconds, 2),
        "pass": outcome == case.expect and (cached == (1 if outcome == "ok" else 0)),
    }


def main() -> None:
    rows = [run_case(c) for c in CASES]
    lines = [
        "# Fault injection\n",
        "`python benchmarks/faults.py` — fake OpenAI-compatible server on 127.0.0.1 (real sockets); client with "
        "max_retries=3, max_reasks=2, backoff 0.05–0.5 s; `tests/test_faults.py` asserts the same cases.\n",
        "| case | outcome | expected | HTTP requests | tokens counted | cache entries after | seconds |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        mark = "" if r["pass"] else " **(MISMATCH)**"
        lines.append(
            f"| {r['case']} | {r['outcome']}{mark} | {r['expected']} | {r['requests']} | {r['tokens']} | {r['cached_entries']} | {r['seconds']} |"
        )
    (Path(__file__).resolve().parent / "faults.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
