"""Test isolation: no network but loopback, no real model unless a test is marked local_model,
a fresh cache directory and a clean environment for every test."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"
EXCHANGES = FIXTURES / "exchanges"
SAMPLE = FIXTURES / "articles" / "dhs-national-guard.txt"

_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex


def _allowed(address: Any) -> bool:
    if isinstance(address, str):  # AF_UNIX
        return True
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if not _allowed(address):
        raise ConnectionRefusedError(f"tests may not reach {address!r}: only loopback is allowed")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if not _allowed(address):
        raise ConnectionRefusedError(f"tests may not reach {address!r}: only loopback is allowed")
    return _real_connect_ex(self, address)


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Path:
    for var in (
        "OPENAI_API_KEY",
        "OPENAI_BASE_URL",
        "NEWSQA_MODEL",
        "NEWSQA_GGUF",
        "NEWSQA_REPLAY_DIR",
        "NEWSQA_RECORD_DIR",
        "NEWSQA_RESPONSE_FORMAT",
        "NEWSQA_CACHE_TTL",
        "NEWSQA_CONTEXT_WINDOW",
        "NEWSQA_N_CTX",
    ):
        monkeypatch.delenv(var, raising=False)
    cache_dir = tmp_path_factory.mktemp("cache")
    monkeypatch.setenv("NEWSQA_CACHE_DIR", str(cache_dir))
    import newsqa.api.common

    monkeypatch.setattr(newsqa.api.common, "_default", None)
    return cache_dir


@pytest.fixture(autouse=True)
def _no_real_model(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading the embedded model is an error unless the test is marked ``local_model``."""
    if request.node.get_closest_marker("local_model"):
        return
    import newsqa.model.local

    def refuse(self: Any) -> Any:
        raise AssertionError("this test tried to run the real model; mark it local_model or use a replay transport")

    monkeypatch.setattr(newsqa.model.local.LocalModelTransport, "_load", refuse)


@pytest.fixture
def sample() -> Any:
    import newsqa

    return newsqa.Article.from_file(SAMPLE)


@pytest.fixture
def replay() -> Iterator[Any]:
    from newsqa.testing import ReplayTransport

    yield ReplayTransport(EXCHANGES)


@pytest.fixture
def replay_client(replay: Any) -> Any:
    import newsqa

    return newsqa.ModelClient(transport=replay, cache=False)


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    """Sync calls share one event loop for the whole process: close what each test opened on it."""
    yield
    from newsqa.model import client, loop

    if loop._loop is not None:
        loop.run_sync(client._close_live())


def on_a_terminal(args: list[str], env: dict[str, str]) -> tuple[list[bytes], int, float | None]:
    """Run ``python -m newsqa ARGS`` with a terminal as stdout and stderr: (chunks read, exit code,
    seconds to the first output)."""
    import os
    import pty
    import select
    import sys
    import time

    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child
        os.execve(sys.executable, [sys.executable, "-m", "newsqa", *args], env)
    chunks: list[bytes] = []
    first = None
    while select.select([fd], [], [], 60)[0]:
        try:
            data = os.read(fd, 4096)
        except OSError:
            break
        if not data:
            break
        first = first if first is not None else time.perf_counter() - t0
        chunks.append(data)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return chunks, os.waitstatus_to_exitcode(status), first
