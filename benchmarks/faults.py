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
from newsqa.testing import (  # noqa: E402
    FakeOpenAIServer,
    actions_reply,
    asks_for_actions,
    chat_completion,
    check_reply,
    streamed_completion,
)

GOOD = json.dumps({"evidence": ["S1"], "status": "answered", "answer": "DHS asked the Pentagon for troops"})
DRAFT = draft_model(Answer)
MESSAGES = [{"role": "system", "content": "rules"}, {"role": "user", "content": "<article>\n[S1] x\n</article>\n\nq"}]


KEY = "sk-fake-" + "0" * 24


def err(status: int, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    return (status, headers or {}, json.dumps({"error": {"message": f"injected {status}"}}))


@dataclass
class Case:
    name: str
    script: list[Any]
    expect: str  # "ok" or the exception class name
    stream: bool = False
    timeout: float = 5.0  # one attempt
    total: float = 10.0  # the whole request, retries included


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
    Case(
        "401 whose body echoes the key",
        [(401, {}, json.dumps({"error": {"message": f"Incorrect API key provided: {KEY}"}}))],
        "BackendError",
    ),
    Case("400 bad request (not retried)", [err(400)], "BackendError"),
    Case("200 reply that is not JSON", [(200, {}, "hello")], "BackendError"),
    Case("200 HTML page", [(200, {"content-type": "text/html"}, "<html><body>Login</body></html>")], "BackendError"),
    Case("200 JSON list", [(200, {}, "[1, 2]")], "BackendError"),
    Case(
        "choices without a message",
        [(200, {}, json.dumps({"object": "chat.completion", "model": "m", "choices": [{"index": 0}]}))],
        "BackendError",
    ),
    Case("reply not UTF-8", [(200, {}, b"\xff\xfe\xfa\x00")], "BackendError"),
    Case("unparseable Retry-After, then fine", [err(429, {"retry-after": "soon"}), GOOD], "ok"),
    Case("Retry-After: 100000", [err(429, {"retry-after": "100000"})] * 5, "RetriesExhaustedError", total=3.0),
    Case("one byte a second", ["drip:1"] * 5, "RetriesExhaustedError", timeout=300.0, total=3.0),
    Case("never answers", ["sleep:30"] * 5, "RetriesExhaustedError", timeout=300.0, total=3.0),
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
            api_key=KEY,
            model="fake",
            response_format="json_object",
            timeout=case.total,
            attempt_timeout=case.timeout,
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
            import traceback

            if KEY in "".join(traceback.format_exception(exc)):
                outcome += " (SHOWS THE KEY)"
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


# -- hostile input, settings and pages, through the real command line ------------------------------
NOT_IN = json.dumps({"evidence": [], "status": "not_in_article", "answer": None})
_SUMMARY = {"headline": "Words", "summary": "Words.", "key_points": [{"point": "Words.", "evidence": ["S1"]}]}
SUMMARY = json.dumps({**_SUMMARY, "entities": {"people": [], "organizations": [], "places": []}, "actions": []})


def _fake_model(body: dict[str, Any]) -> str:
    last = str(body.get("messages", [{}])[-1].get("content", ""))
    if (checked := check_reply(body)) is not None:
        return json.dumps(checked)
    if asks_for_actions(body):
        return json.dumps(actions_reply(body))
    if "Summarize" in last or "<notes>" in last:
        return SUMMARY
    if "北京" in last:  # the Chinese article: an answer citing its second sentence, as a model would
        return json.dumps({"evidence": ["S2"], "status": "answered", "answer": "二十亿元"})
    return NOT_IN


@dataclass
class InputCase:
    name: str
    shell: str  # run by bash; $NEWSQA is the command, $TMP a scratch folder, $SAMPLE the sample article
    exit: int  # the exit code expected: 0 result, 2 input or settings, 3 backend
    env: dict[str, str] | None = None
    deadline: float = 20.0


_ZH = "北京市政府今天宣布，将在明年春季启动一项新的城市绿化计划，预计投资二十亿元。"  # 40 characters
INPUT_CASES = [
    InputCase("article from /dev/zero", '$NEWSQA ask "Who?" /dev/zero', 2),
    InputCase("300 MB pipe on stdin", 'yes "Text without end" | head -c 300000000 | $NEWSQA ask "Who?"', 2),
    InputCase(
        "bytes that are no text (\\xff\\xfeA\\x00B)",
        "printf '\\xff\\xfeA\\x00B' > $TMP/b.txt; $NEWSQA ask Who? $TMP/b.txt",
        0,
    ),
    InputCase("question with an undecodable byte", "$NEWSQA ask $'who \\xff?' $SAMPLE", 0),
    InputCase(
        "25,000-character Chinese article", f"python3 -c 'print(\"{_ZH}\" * 625)' | $NEWSQA ask 投资多少? --json", 0
    ),
    InputCase(
        "590,000 characters without a full stop", "python3 -c 'print(\"word \" * 118000)' | $NEWSQA ask Who? --json", 0
    ),
    InputCase(
        "summary of 590,000 characters without a full stop",
        "python3 -c 'print(\"word \" * 118000)' | $NEWSQA summarize --json",
        0,
        deadline=60.0,
    ),
    InputCase("NEWSQA_CACHE_TTL=soon", "$NEWSQA ask Who? $SAMPLE", 2, {"NEWSQA_CACHE_TTL": "soon"}),
    InputCase("NEWSQA_CONTEXT_WINDOW=big", "$NEWSQA ask Who? $SAMPLE", 2, {"NEWSQA_CONTEXT_WINDOW": "big"}),
    InputCase(
        "NEWSQA_N_CTX=-5 (embedded)", "$NEWSQA ask Who? $SAMPLE", 2, {"NEWSQA_N_CTX": "-5", "OPENAI_BASE_URL": ""}
    ),
    InputCase("port 99999", "$NEWSQA ask Who? $SAMPLE --base-url http://127.0.0.1:99999/v1", 2),
    InputCase(
        "truncated GGUF",
        "head -c 100000 $SAMPLE > $TMP/t.gguf; $NEWSQA ask Who? $SAMPLE --gguf $TMP/t.gguf",
        3,
        {"OPENAI_BASE_URL": ""},
    ),
    InputCase("unknown --skip-check", "$NEWSQA ask Who? $SAMPLE --skip-check nope", 2),
    InputCase("page with an unknown charset", "$NEWSQA ask Who? $PAGES/charset --allow-private --json", 0),
    InputCase("page that sends one byte a second", "$NEWSQA ask Who? $PAGES/drip --allow-private --timeout 3", 2),
    InputCase("a URL with credentials on loopback", "$NEWSQA ask Who? http://user:pw@127.0.0.1:9/x", 2),
]


class _Pages:
    """Hostile web pages on 127.0.0.1: an unknown charset, a body that drips one byte a second."""

    def __enter__(self) -> str:
        import http.server
        import threading

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                body = b"<html><head><title>Council</title></head><body><p>The council met on Monday.</p></body></html>"
                self.send_response(200)
                kind = "text/html; charset=x-no-such-charset" if self.path == "/charset" else "text/html"
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    for i in range(len(body)):
                        self.wfile.write(body[i : i + 1])
                        self.wfile.flush()
                        if self.path == "/drip":
                            time.sleep(1)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        threading.Thread(target=self._httpd.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._httpd.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()


def run_input_case(case: InputCase) -> dict[str, Any]:
    import os
    import subprocess

    with (
        tempfile.TemporaryDirectory(prefix="newsqa-faults-") as tmp,
        FakeOpenAIServer(_fake_model) as server,
        _Pages() as pages,
    ):
        env = {
            "PAGES": pages,
            **os.environ,
            "NEWSQA": f"{sys.executable} -m newsqa",
            "TMP": tmp,
            "SAMPLE": str(ROOT / "fixtures" / "articles" / "dhs-national-guard.txt"),
            "NEWSQA_CACHE_DIR": tmp,
            "OPENAI_BASE_URL": server.base_url,
            "NEWSQA_MODEL": "fake",
            **(case.env or {}),
        }
        env = {k: v for k, v in env.items() if v != "" and k != "NEWSQA_REPLAY_DIR"}
        t0 = time.perf_counter()
        r = subprocess.run(["bash", "-c", case.shell], env=env, capture_output=True, timeout=case.deadline * 3)
        seconds = time.perf_counter() - t0
        prompts = [" ".join(m.get("content") or "" for m in body.get("messages", [])) for body in server.requests]
    stderr = r.stderr.decode("utf-8", "replace")
    errors = [line for line in stderr.splitlines() if line.startswith("newsqa: error:")]
    detail = errors[0][len("newsqa: error: ") :] if errors else ""
    if r.returncode == 0 and "--json" in case.shell:
        from newsqa.text.tokens import get_tokenizer

        data = json.loads(r.stdout)
        counts = [get_tokenizer().count(p) for p in prompts]
        what = data.get("status") or f"summary of {len(data.get('key_points', []))} key point(s)"
        if data.get("evidence"):
            what += f", evidence of {max(len(e['quote']) for e in data['evidence'])} characters"
        detail = f"{what}; {len(prompts)} request(s), {sum(counts):,} tokens, the largest {max(counts, default=0):,} (window 8,192)"
    return {
        "case": case.name,
        "exit": r.returncode,
        "expected": case.exit,
        "traceback": "Traceback" in stderr,
        "detail": detail[:110],
        "seconds": round(seconds, 2),
        "pass": r.returncode == case.exit and "Traceback" not in stderr and seconds < case.deadline,
    }


# -- the library and protocol faces ------------------------------------------------------------------
def _rebinding() -> tuple[str, bool]:
    """A host public when checked and loopback afterwards: the checked address is the one connected to."""
    import socket

    hits: list[str] = []
    with _Pages() as pages:
        port = int(pages.rsplit(":", 1)[1])
        answers = iter([("93.184.216.34", port), ("127.0.0.1", port), ("127.0.0.1", port)])
        real_resolve, real_connect = socket.getaddrinfo, socket.socket.connect

        def resolve(host: str, *a: Any, **kw: Any) -> Any:
            if host != "news.example":
                return real_resolve(host, *a, **kw)
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", next(answers))]

        def connect(sock: socket.socket, address: Any) -> Any:
            if isinstance(address, tuple) and address[0] != "127.0.0.1":
                raise ConnectionRefusedError("this benchmark never connects past loopback")
            hits.append(str(address))
            return real_connect(sock, address)

        socket.getaddrinfo, socket.socket.connect = resolve, connect  # type: ignore[assignment,method-assign]
        try:
            newsqa.fetch_article(f"http://news.example:{port}/page")
            outcome = "fetched"
        except newsqa.FetchError:
            outcome = "FetchError"
        finally:
            socket.getaddrinfo, socket.socket.connect = real_resolve, real_connect  # type: ignore[method-assign]
    return f"{outcome}; connections to the loopback page: {len(hits)}", outcome == "FetchError" and not hits


def _ipv6_forms() -> tuple[str, bool]:
    import ipaddress

    from newsqa.text.web import is_public

    forms = ["::127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::", "fc00::1", "fe80::1"]
    refused = [f for f in forms if not is_public(ipaddress.ip_address(f))]
    return f"refused {len(refused)}/{len(forms)}: {', '.join(refused)}", len(refused) == len(forms)


def _credentials() -> tuple[str, bool]:
    try:
        newsqa.fetch_article("http://alice:s3cret@127.0.0.1:9/x")
    except newsqa.FetchError as exc:
        return f"FetchError: {exc}"[:100], "s3cret" not in str(exc) and "alice" not in str(exc)
    return "fetched", False


def _dispatch() -> tuple[str, bool]:
    from newsqa import tools

    calls: list[Any] = [None, 42, {"nothing": 1}, {"function": {"name": "nope", "arguments": "{}"}},
                        {"function": {"name": "ask_article", "arguments": "{not json"}}]  # fmt: skip
    outs = [json.loads(tools.dispatch(c)) for c in calls]
    ok = all(set(o) == {"error"} for o in outs)
    return f'{sum(set(o) == {"error"} for o in outs)}/{len(calls)} malformed calls answered with {{"error": ...}}', ok


def _mcp_errors() -> tuple[str, bool]:
    import asyncio
    import os

    from mcp import Client, StdioServerParameters

    env = {**os.environ, "NEWSQA_REPLAY_DIR": str(ROOT / "fixtures" / "exchanges")}
    params = StdioServerParameters(command=sys.executable, args=["-m", "newsqa", "mcp"], env=env)
    calls = [
        ("ask_article", {"article": " ", "question": "Who?"}),
        ("ask_article", {"article": "http://127.0.0.1:9/story", "question": "Who?"}),
        ("ask_article", {"article": "The council met.", "question": "why " * 1000}),
        ("summarize_article", {"article": "word " * 400_000}),
    ]

    async def run() -> list[str]:
        async with Client(params, read_timeout_seconds=60) as client:
            out = []
            for tool, args in calls:
                r = await client.call_tool(tool, args)
                text = " ".join(getattr(c, "text", "") for c in r.content)
                out.append(text if r.is_error else "")
            return out

    texts = asyncio.run(run())
    # The SDK prefixes "Error executing tool <name>"; readable means newsqa's own message follows it.
    readable = [t for t in texts if t and ":" in t and len(t.split(":", 1)[1].strip()) > 10]
    return f"{len(readable)}/{len(calls)} errors readable, e.g. {texts[0][:60]!r}", len(readable) == len(calls)


PROTOCOL_CASES = {
    "DNS rebinding (public when checked, loopback after)": _rebinding,
    "non-public IPv6 forms (embedded IPv4, NAT64, 6to4)": _ipv6_forms,
    "credentials in a URL": _credentials,
    "tools.dispatch with malformed calls": _dispatch,
    "MCP: empty article, refused URL, long question, oversize": _mcp_errors,
}


def run_protocol_case(name: str) -> dict[str, Any]:
    t0 = time.perf_counter()
    try:
        outcome, ok = PROTOCOL_CASES[name]()
    except Exception as exc:  # an untyped escape is a failure, reported as such
        outcome, ok = f"UNTYPED {type(exc).__name__}: {exc}"[:120], False
    return {"case": name, "outcome": outcome, "pass": ok, "seconds": round(time.perf_counter() - t0, 2)}


def main() -> None:
    rows = [run_case(c) for c in CASES]
    lines = [
        "# Fault injection\n",
        "`python benchmarks/faults.py` — fake OpenAI-compatible server on 127.0.0.1 (real sockets); client with "
        "max_retries=3, max_reasks=2, backoff 0.05–0.5 s, "
        "each request's total deadline 10 s (3 s for the cases that test it) and each attempt's 5 s (0.5 s for the slow "
        "cases); `tests/test_faults.py` asserts the same cases, and that the API key never appears in a printed chain.\n",
        "| case | outcome | expected | HTTP requests | tokens counted | cache entries after | seconds |",
        "|---|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        mark = "" if r["pass"] else " **(MISMATCH)**"
        lines.append(
            f"| {r['case']} | {r['outcome']}{mark} | {r['expected']} | {r['requests']} | {r['tokens']} | {r['cached_entries']} | {r['seconds']} |"
        )
    inputs = [run_input_case(c) for c in INPUT_CASES]
    lines += [
        "",
        "Hostile input, settings and pages, through the command line (a real process each; the fake server "
        "answers `not_in_article`): every case ends with the expected exit code (0 a result, 2 input or "
        "settings, 3 backend), one line on stderr and no traceback.",
        "",
        "| case | exit | expected | traceback | what it said | seconds |",
        "|---|---:|---:|---|---|---:|",
    ]
    for r in inputs:
        mark = "" if r["pass"] else " **(MISMATCH)**"
        detail = r["detail"].replace("|", "\\|")
        lines.append(
            f"| {r['case']} | {r['exit']}{mark} | {r['expected']} | {'yes' if r['traceback'] else 'no'} | {detail} | {r['seconds']} |"
        )
    protocol = [run_protocol_case(name) for name in PROTOCOL_CASES]
    lines += [
        "",
        "The library's and the MCP server's faces:",
        "",
        "| case | outcome | as it should | seconds |",
        "|---|---|---|---:|",
    ]
    for r in protocol:
        outcome = r["outcome"].replace("|", "\\|")
        lines.append(f"| {r['case']} | {outcome} | {'yes' if r['pass'] else '**NO**'} | {r['seconds']} |")
    (Path(__file__).resolve().parent / "faults.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
