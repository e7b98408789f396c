"""Articles from the web: fetch a URL safely, extract the main text of an HTML page.

Extraction uses trafilatura (the ``web`` extra). Fetching refuses anything but http(s), refuses
loopback, private, link-local and other non-public addresses unless ``allow_private=True`` (checked
on every redirect hop), enforces a timeout, a size limit and an HTML/text content type.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urljoin, urlsplit

from ..errors import ArticleError, ConfigurationError, EmptyArticleError, FetchError
from .article import DEFAULT_MAX_CHARS, Article

__all__ = ["article_from_html", "fetch_article", "looks_like_html"]

MAX_BYTES = 5_000_000
MAX_REDIRECTS = 5
# Real pages nest a few dozen levels; thousands is an attack on the parser's recursion.
MAX_DEPTH = 400
_VOID = frozenset(
    ["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"]
)
_TAG = re.compile(r"<(/?)([a-zA-Z][\w:-]*)[^>]*?(/?)>")


def _max_depth(html: str) -> int:
    depth = deepest = 0
    for m in _TAG.finditer(html):
        closing, name, self_closing = m.group(1), m.group(2).lower(), m.group(3)
        if name in _VOID or self_closing:
            continue
        depth = max(0, depth - 1) if closing else depth + 1
        deepest = max(deepest, depth)
    return deepest


_TYPES = ("text/html", "application/xhtml+xml", "text/plain")
_USER_AGENT = "newsqa (+https://pypi.org/project/newsqa/)"


def looks_like_html(data: bytes | str) -> bool:
    head = data[:2048].lower() if isinstance(data, str) else data[:2048].lower().decode("latin-1")
    return bool(re.search(r"<!doctype html|<html[\s>]|<head[\s>]|<body[\s>]", head))


def article_from_html(
    html: str | bytes, *, url: str | None = None, max_chars: int = DEFAULT_MAX_CHARS, max_depth: int = MAX_DEPTH
) -> Article:
    """The main text of a news page with its title, author, date and site; offsets index the extracted text."""
    try:
        import trafilatura
    except ImportError as exc:
        raise ConfigurationError('HTML extraction needs trafilatura: pip install "newsqa[web]"') from exc
    if isinstance(html, bytes):
        html = html.decode("utf-8", "replace")
    if len(html) > max_chars * 8:
        raise ArticleError(f"the page has {len(html):,} characters; too large to extract")
    depth = _max_depth(html)
    if depth > max_depth:
        raise ArticleError(f"the page's HTML is nested {depth} levels deep; the limit is {max_depth}")
    doc = trafilatura.bare_extraction(
        html, url=url, with_metadata=True, include_comments=False, include_tables=False, include_images=False
    )
    text = getattr(doc, "text", None) if doc is not None else None
    if not text or not text.strip():
        raise EmptyArticleError("no article text found in the HTML page")
    # trafilatura separates paragraphs with one newline; newsqa's paragraphs are blank-line separated.
    text = re.sub(r"\n+", "\n\n", text.strip())
    return Article.from_text(
        text,
        title=getattr(doc, "title", None) or None,
        author=getattr(doc, "author", None) or None,
        date=getattr(doc, "date", None) or None,
        site=getattr(doc, "sitename", None) or None,
        url=url or getattr(doc, "url", None) or None,
        max_chars=max_chars,
        parse_header=False,
    )


def _check_url(url: str, *, allow_private: bool) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"only http and https URLs can be fetched, not {parts.scheme or 'no scheme'!r}")
    host = parts.hostname
    if not host:
        raise FetchError(f"the URL has no host: {url!r}")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(
            host, parts.port or (443 if parts.scheme == "https" else 80), type=socket.SOCK_STREAM
        )
    except socket.gaierror as exc:
        raise FetchError(f"cannot resolve {host}: {exc.strerror or exc}") from exc
    for info in infos:
        addr = ipaddress.ip_address(info[4][0])
        if not addr.is_global or addr.is_multicast:
            raise FetchError(
                f"refusing to fetch {host}: it resolves to the non-public address {addr} "
                "(pass allow_private=True / --allow-private to allow it)"
            )


def fetch_article(
    url: str,
    *,
    timeout: float = 20.0,
    max_bytes: int = MAX_BYTES,
    allow_private: bool = False,
    max_chars: int = DEFAULT_MAX_CHARS,
    transport: object | None = None,
) -> Article:
    """Fetch ``url`` and extract its article (HTML) or take it as is (plain text)."""
    import httpx2

    client = httpx2.Client(
        timeout=timeout,
        follow_redirects=False,
        headers={"User-Agent": _USER_AGENT, "Accept": "text/html,application/xhtml+xml,text/plain;q=0.8"},
        transport=transport,  # type: ignore[arg-type]
    )
    current = url
    try:
        with client:
            for _ in range(MAX_REDIRECTS + 1):
                _check_url(current, allow_private=allow_private)
                with client.stream("GET", current) as resp:
                    if resp.is_redirect:
                        location = resp.headers.get("location")
                        if not location:
                            raise FetchError(f"{current} redirected without a Location")
                        current = urljoin(current, location)
                        continue
                    if resp.status_code >= 400:
                        raise FetchError(f"{current} answered HTTP {resp.status_code}")
                    ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
                    if ctype not in _TYPES:
                        raise FetchError(f"{current} is {ctype or 'of no content type'}, not an HTML or text page")
                    declared = resp.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise FetchError(f"{current} is {int(declared):,} bytes; the limit is {max_bytes:,}")
                    body = bytearray()
                    for block in resp.iter_bytes():
                        body += block
                        if len(body) > max_bytes:
                            raise FetchError(f"{current} is larger than the {max_bytes:,}-byte limit")
                    encoding = resp.charset_encoding or "utf-8"
                break
            else:
                raise FetchError(f"{url} redirected more than {MAX_REDIRECTS} times")
    except httpx2.TimeoutException as exc:
        raise FetchError(f"fetching {current} timed out after {timeout:g}s") from exc
    except httpx2.HTTPError as exc:
        raise FetchError(f"cannot fetch {current}: {exc}") from exc
    data = bytes(body)
    if ctype == "text/plain" and not looks_like_html(data):
        return Article.from_bytes(data, max_chars=max_chars)
    return article_from_html(data.decode(encoding, "replace"), url=current, max_chars=max_chars)
