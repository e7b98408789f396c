"""Articles from the web: fetch a URL safely, extract the main text of an HTML page.

Extraction uses trafilatura (the ``web`` extra). Fetching refuses anything but http(s), refuses
loopback, private, link-local and other non-public addresses unless ``allow_private=True`` (checked
on every redirect hop), enforces a timeout, a size limit and an HTML/text content type.
"""

from __future__ import annotations

import ipaddress
import re
import socket
import time
from urllib.parse import urljoin, urlsplit, urlunsplit

from ..errors import ArticleError, ConfigurationError, EmptyArticleError, FetchError
from .article import DEFAULT_MAX_CHARS, Article

__all__ = ["article_from_html", "fetch_article", "is_public", "looks_like_html", "redact_url"]

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


def redact_url(url: str) -> str:
    """``url`` without user, password, query or fragment: safe for messages, logs and cache keys."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    host = parts.netloc.rsplit("@", 1)[-1]  # never the user or password
    return urlunsplit((parts.scheme, host, parts.path.rstrip("/"), "", ""))


def _embedded_ipv4(addr: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo), if any."""
    if addr.ipv4_mapped:
        return addr.ipv4_mapped
    if addr.sixtofour:
        return addr.sixtofour
    if addr.teredo:
        return addr.teredo[1]
    packed = int(addr)
    if packed >> 32 == 0 and packed > 1:  # ::a.b.c.d, the deprecated IPv4-compatible form
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF)
    if addr in _NAT64:
        return ipaddress.IPv4Address(packed & 0xFFFFFFFF)
    return None


_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_public(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    """A global unicast address, also when an IPv6 address carries an IPv4 one that is not."""
    if not addr.is_global or addr.is_multicast:
        return False
    if isinstance(addr, ipaddress.IPv6Address):
        inner = _embedded_ipv4(addr)
        if inner is not None:
            return inner.is_global and not inner.is_multicast
    return True


def _resolve(url: str, *, allow_private: bool) -> str:
    """The address to connect to for ``url``: resolved once, checked, and then used as is."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise FetchError(f"only http and https URLs can be fetched, not {parts.scheme or 'no scheme'!r}")
    try:
        host = parts.hostname
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as exc:
        raise FetchError(f"the URL {redact_url(url)!r} is not valid: {exc}") from None
    if not host:
        raise FetchError(f"the URL has no host: {redact_url(url)!r}")
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(f"cannot resolve {host}: {getattr(exc, 'strerror', None) or exc}") from None
    addrs = [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]
    if not allow_private:
        for addr in addrs:
            if not is_public(addr):
                raise FetchError(
                    f"refusing to fetch {host}: it resolves to the non-public address {addr} "
                    "(pass allow_private=True / --allow-private to allow it)"
                )
    if not addrs:
        raise FetchError(f"cannot resolve {host}: no addresses")
    return str(addrs[0])


def _pinned(url: str, address: str) -> tuple[str, dict[str, str], dict[str, str]]:
    """The request for ``url`` sent to ``address``: the URL names the address, Host and SNI the host."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{address}]" if ":" in address else address
    if parts.port:
        netloc += f":{parts.port}"
    host_header = f"[{host}]" if ":" in host else host
    if parts.port:
        host_header += f":{parts.port}"
    pinned = urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))
    return pinned, {"Host": host_header}, {"sni_hostname": host}


def fetch_article(
    url: str,
    *,
    timeout: float = 20.0,
    max_bytes: int = MAX_BYTES,
    allow_private: bool = False,
    max_chars: int = DEFAULT_MAX_CHARS,
    transport: object | None = None,
) -> Article:
    """Fetch ``url`` and extract its article (HTML) or take it as is (plain text).

    ``timeout`` bounds the whole fetch, redirects included, not only each read. Each hop's host is
    resolved once, its addresses checked, and the connection made to the checked address, so a
    resolver that answers differently the second time (DNS rebinding) cannot redirect it.
    """
    import httpx2

    deadline = time.monotonic() + timeout
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
                target, headers, extensions = _pinned(current, _resolve(current, allow_private=allow_private))
                with client.stream("GET", target, headers=headers, extensions=extensions) as resp:
                    if resp.is_redirect:
                        location = resp.headers.get("location")
                        if not location:
                            raise FetchError(f"{redact_url(current)} redirected without a Location")
                        current = urljoin(current, location)
                        continue
                    if resp.status_code >= 400:
                        raise FetchError(f"{redact_url(current)} answered HTTP {resp.status_code}")
                    ctype = resp.headers.get("content-type", "").split(";")[0].strip().lower()
                    if ctype not in _TYPES:
                        raise FetchError(
                            f"{redact_url(current)} is {ctype or 'of no content type'}, not an HTML or text page"
                        )
                    declared = resp.headers.get("content-length")
                    if declared and declared.isdigit() and int(declared) > max_bytes:
                        raise FetchError(
                            f"{redact_url(current)} is {int(declared):,} bytes; the limit is {max_bytes:,}"
                        )
                    body = bytearray()
                    for block in resp.iter_bytes():
                        body += block
                        if len(body) > max_bytes:
                            raise FetchError(f"{redact_url(current)} is larger than the {max_bytes:,}-byte limit")
                        if time.monotonic() > deadline:
                            raise httpx2.ReadTimeout("the whole fetch took too long")
                    encoding = resp.charset_encoding or "utf-8"
                break
            else:
                raise FetchError(f"{redact_url(url)} redirected more than {MAX_REDIRECTS} times")
    except httpx2.TimeoutException:
        raise FetchError(f"fetching {redact_url(current)} timed out after {timeout:g}s") from None
    except httpx2.HTTPError as exc:
        raise FetchError(f"cannot fetch {redact_url(current)}: {type(exc).__name__}") from None
    data = bytes(body)
    if ctype == "text/plain" and not looks_like_html(data):
        return Article.from_bytes(data, max_chars=max_chars)
    try:
        text = data.decode(encoding, "replace")
    except LookupError:  # a charset Python does not know: read it as UTF-8
        text = data.decode("utf-8", "replace")
    return article_from_html(text, url=current, max_chars=max_chars)
