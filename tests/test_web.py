"""URL and HTML ingestion, against saved news pages served from 127.0.0.1."""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import newsqa
from newsqa.text.web import article_from_html, fetch_article

from .conftest import FIXTURES

HTML = FIXTURES / "html"
EXPECTED = [json.loads(line) for line in (HTML / "expected.jsonl").read_text().splitlines() if line.strip()]


def squash(s: str) -> str:
    return " ".join(s.split())


def _page_param(page: dict) -> object:
    marks = []
    if "physorg" in page["file"]:
        # Known: trafilatura drops the closing "More information: <citation>" block, which the
        # benchmark's ground truth counts as body text. Strict, so a fix is noticed.
        marks.append(pytest.mark.xfail(strict=True, reason="citation block after the article is dropped"))
    return pytest.param(page, marks=marks, id=page["file"].split("/")[1][:12])


@pytest.mark.parametrize("page", [_page_param(p) for p in EXPECTED])
def test_extracts_main_text_and_metadata(page: dict) -> None:
    a = article_from_html((HTML / page["file"].split("/")[1]).read_bytes(), url=page["url"])
    body = squash(a.text)
    assert squash(page["expected_text_start"])[:80] in body
    assert squash(page["expected_text_end"])[-60:] in body
    assert a.title and a.url == page["url"]
    for s in a.sentences:
        assert a.text[s.start : s.end] == s.text


RELEASE = threading.Event()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        path = self.path
        if path.startswith("/page/"):
            body = (HTML / path.split("/", 2)[2]).read_bytes()
            self._send(200, "text/html; charset=utf-8", body)
        elif path == "/text":
            self._send(200, "text/plain", b"A plain text story. It has two sentences.")
        elif path == "/image":
            self._send(200, "image/png", b"\x89PNG....")
        elif path == "/huge":
            self._send(200, "text/html", b"<html><body>" + b"x" * 300_000 + b"</body></html>")
        elif path == "/slow":
            RELEASE.wait(10)  # answers only once the test is over: the client must give up first
            self._send(200, "text/html", b"<html></html>")
        elif path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/text")
            self.end_headers()
        elif path == "/missing":
            self._send(404, "text/html", b"not found")
        else:
            self._send(500, "text/plain", b"?")

    def _send(self, code: int, ctype: str, body: bytes) -> None:
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (timeout test)
            self.wfile.write(body)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    RELEASE.set()
    httpd.shutdown()
    httpd.server_close()


def test_fetches_a_news_page(server: str) -> None:
    page = EXPECTED[0]
    a = fetch_article(f"{server}/page/{page['file'].split('/')[1]}", allow_private=True)
    assert squash(page["expected_text_start"])[:80] in squash(a.text)


def test_plain_text_and_redirects(server: str) -> None:
    a = fetch_article(f"{server}/redirect", allow_private=True)
    assert a.text == "A plain text story. It has two sentences." and len(a.sentences) == 2


def test_loopback_is_refused_unless_allowed(server: str) -> None:
    with pytest.raises(newsqa.FetchError, match=r"non-public address 127\.0\.0\.1"):
        fetch_article(f"{server}/text")


@pytest.mark.parametrize(
    "url", ["http://10.0.0.1/x", "http://192.168.1.1/", "http://[::1]/", "http://169.254.169.254/latest"]
)
def test_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(newsqa.FetchError, match="non-public"):
        fetch_article(url)


@pytest.mark.parametrize("url", ["ftp://example.org/a.txt", "file:///etc/passwd", "javascript:alert(1)", "http://"])
def test_only_http_urls(url: str) -> None:
    with pytest.raises(newsqa.FetchError):
        fetch_article(url, allow_private=True)


def test_guards(server: str) -> None:
    with pytest.raises(newsqa.FetchError, match="image/png"):
        fetch_article(f"{server}/image", allow_private=True)
    with pytest.raises(newsqa.FetchError, match="limit"):
        fetch_article(f"{server}/huge", allow_private=True, max_bytes=100_000)
    with pytest.raises(newsqa.FetchError, match="timed out"):
        fetch_article(f"{server}/slow", allow_private=True, timeout=0.5)
    with pytest.raises(newsqa.FetchError, match="404"):
        fetch_article(f"{server}/missing", allow_private=True)


def test_empty_page() -> None:
    with pytest.raises(newsqa.EmptyArticleError):
        article_from_html("<html><head><script>var x = 1;</script></head><body></body></html>")


def test_cli_reads_html_files_and_urls(server: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from click.testing import CliRunner

    from newsqa.faces.cli import main

    page = EXPECTED[2]
    name = page["file"].split("/")[1]
    env = {"NEWSQA_REPLAY_DIR": str(tmp_path), "NEWSQA_CACHE_DIR": str(tmp_path)}  # nothing recorded: shows the request
    for source in (str(HTML / name), f"{server}/page/{name}"):
        r = CliRunner(env=env).invoke(main, ["summarize", source, "--allow-private"])
        assert r.exit_code == 3, r.output
        assert "no recorded exchange" in r.output
        assert "Several thousand teachers" in r.output  # the page's main text, not its HTML, reached the model
        assert "<div" not in r.output


def test_dns_rebinding_cannot_reach_the_loopback_page(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The host resolves to a public address when checked, then to 127.0.0.1: the checked one is used."""
    import socket

    port = int(server.rsplit(":", 1)[1])
    answers = iter([("93.184.216.34", port), ("127.0.0.1", port), ("127.0.0.1", port)])
    real = socket.getaddrinfo

    def rebinding(host: str, *args: object, **kw: object) -> list[tuple[object, ...]]:
        if host != "news.example":
            return real(host, *args, **kw)  # type: ignore[arg-type]
        addr = next(answers)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", addr)]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    hits: list[str] = []
    monkeypatch.setattr(Handler, "log_message", lambda self, *a: hits.append(self.path))
    with pytest.raises(newsqa.FetchError):
        fetch_article(f"http://news.example:{port}/text")  # the test guard refuses the public address
    assert hits == []  # the loopback server never saw a request


@pytest.mark.parametrize(
    "address",
    ["::127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::7f00:1", "2002:7f00:1::", "2002:c0a8:101::1", "fc00::1", "fe80::1"],
)
def test_non_public_ipv6_forms_are_refused(address: str) -> None:
    import ipaddress

    from newsqa.text.web import is_public

    assert not is_public(ipaddress.ip_address(address))
    assert is_public(ipaddress.ip_address("2606:4700:4700::1111")) and is_public(ipaddress.ip_address("1.1.1.1"))


def test_credentials_in_a_url_are_never_echoed() -> None:
    with pytest.raises(newsqa.FetchError) as info:
        fetch_article("http://alice:s3cretpw@127.0.0.1:9/x")
    assert "s3cretpw" not in str(info.value) and "alice" not in str(info.value)
