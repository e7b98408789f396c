"""An article: normalised text with paragraphs and sentences located by character offsets.

Everything downstream (chunks, prompts, evidence) points into ``Article.text`` with offsets, so the
text is normalised once here and never changed again.
"""

from __future__ import annotations

import hashlib
import logging
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from ..errors import (
    ArticleNotFoundError,
    ArticleTooLargeError,
    BinaryArticleError,
    EmptyArticleError,
)

__all__ = ["DEFAULT_MAX_CHARS", "DEFAULT_MAX_LINES", "MAX_SENTENCE_CHARS", "Article", "Span", "scrub_surrogates"]

log = logging.getLogger("newsqa")

# About 100,000 words: far above any news article, low enough to refuse a whole book by mistake.
DEFAULT_MAX_CHARS = 600_000
# A news article has hundreds of lines; hundreds of thousands means a log file or a data dump.
DEFAULT_MAX_LINES = 50_000

# Control characters other than tab and newline never belong in prose; NUL is the classic sign of binary.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u200b\ufeff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_HEADER = re.compile(r"^(TITLE|SOURCE|DATE|URL|AUTHOR):[ \t]*(.*)$")

# Words after which a period does not end a sentence, as they are written: titles, ranks, months,
# companies and U.S. states take a capital ("Gen.", "Ill.", "Mass."), so the ordinary words some of
# them spell ("fell ill. Doctors ...", "a mass. Then ...") still end their sentence.
_CAPITALISED_ABBREVIATIONS = frozenset(
    """Mr Mrs Ms Dr Prof Sr Jr St Mt Ft Gen Col Lt Sgt Capt Cmdr Adm Gov Sen Rep Rev Hon Pres Supt Insp Det Cpl
    Pvt Maj Brig Inc Ltd Co Corp Bros Dept Univ Assn Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec Ave Blvd
    Rd Ala Ariz Ark Calif Colo Conn Del Fla Ga Ill Ind Kan Ky La Md Mass Mich Minn Miss Mo Mont Neb Nev Okla
    Ore Pa Tenn Tex Va Vt Wash Wis Wyo""".split()
)
# ... and a few written in lower case mid-sentence.
_LOWER_ABBREVIATIONS = frozenset(["vs", "etc", "est", "approx", "fig", "al", "inc", "ltd", "co", "corp", "dept"])
# A candidate boundary: Latin-script terminal punctuation with optional closing quotes or brackets
# and then whitespace; the full stops of Chinese and Japanese (no space follows them); the marks of
# Arabic and Devanagari; or a line break before a list item, a timestamp or a speaker's label.
_BOUNDARY = re.compile(
    r"""[.!?]+["'”’)\]]*(?=\s+)"""
    r"""|[。！？｡]+[」』”’)\]）"']*"""
    r"""|[؟।॥]+["'”’)\]]*(?=\s)"""
    r"""|\n(?=[ \t]*(?:[-*•·–]\s|\d{1,3}[.)]\s|\[?\d{1,2}:\d{2}|[A-Z][\w .'-]{0,30}:\s))"""
    # Chat control tokens pasted into text start or end a "sentence": what they wrap is kept apart.
    r"""|(?=<\|(?:im_start|start_header_id|system|user|assistant)\|>|<start_of_turn>|\[INST\]|<<SYS>>)"""
    r"""|(?<=<\|im_end\|>)|(?<=<\|eot_id\|>)|(?<=<end_of_turn>)|(?<=\[/INST\])|(?<=<</SYS>>)"""
)
_PARA_BREAK = re.compile(r"""\n[ \t]*\n\s*|(?<=[.!?:"'”’)\]。！？」』）؟।])\n""")
# No sentence is longer than this: a text without sentence marks (a list, a transcript, a language
# newsqa does not know) is cut at clause marks or spaces, so no evidence span or prompt passage runs
# on for thousands of characters. News sentences are far shorter.
MAX_SENTENCE_CHARS = 600
_CLAUSE = re.compile(r"[;；,，、:：—–]\s*|\s+")
# What may start the next sentence: a capital or digit (after opening quotes), or markup (<, [, {, #).
_NEXT_START = re.compile(r"""\s+(?:[<\[{#]|["'“‘(]*[A-Z0-9])""")


@dataclass(frozen=True, slots=True)
class Span:
    """A stretch of ``Article.text``: ``text == article.text[start:end]``."""

    start: int
    end: int
    text: str


@dataclass(frozen=True)
class Article:
    """A news article ready for questions.

    Build one with :meth:`from_text`, :meth:`from_file`, :meth:`from_bytes` or :meth:`from_stdin`.
    ``warnings`` lists anything newsqa had to guess while reading (such as the text encoding).
    """

    text: str
    title: str | None = None
    source: str | None = None
    date: str | None = None
    url: str | None = None
    author: str | None = None
    site: str | None = None
    warnings: tuple[str, ...] = ()
    paragraphs: tuple[Span, ...] = field(default=(), repr=False, compare=False)
    sentences: tuple[Span, ...] = field(default=(), repr=False, compare=False)

    # -- construction -------------------------------------------------------------------------
    @classmethod
    def from_text(
        cls,
        text: str,
        *,
        title: str | None = None,
        source: str | None = None,
        date: str | None = None,
        url: str | None = None,
        author: str | None = None,
        site: str | None = None,
        max_chars: int = DEFAULT_MAX_CHARS,
        max_lines: int = DEFAULT_MAX_LINES,
        parse_header: bool = True,
        warnings: tuple[str, ...] = (),
    ) -> Article:
        """Normalise ``text`` (NFC, ``\\n`` line ends, no control characters) and index it.

        A leading block of ``TITLE:`` / ``SOURCE:`` / ``DATE:`` / ``URL:`` / ``AUTHOR:`` lines followed by a
        blank line is read as metadata, not body, when ``parse_header`` is true.
        """
        if not isinstance(text, str):
            raise TypeError(f"Article text must be str, not {type(text).__name__}")
        text, fixed = scrub_surrogates(text)
        if fixed:
            warnings = (*warnings, "the text held characters that are not valid Unicode; they were replaced")
        if "\x00" in text:
            raise BinaryArticleError("the input contains NUL bytes: it looks like binary data, not text")
        if len(text) > max_chars * 2:  # cheap early refusal before normalising a huge string
            raise ArticleTooLargeError(f"the article has {len(text):,} characters; the limit is {max_chars:,}")
        norm = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
        controls = len(_CONTROL.findall(norm))
        if controls > max(8, len(norm) // 100):
            raise BinaryArticleError(f"the input has {controls} control characters: it looks like binary data")
        norm = _CONTROL.sub("", norm)
        meta: dict[str, str] = {}
        if parse_header:
            norm, meta = _split_header(norm)
        norm = "\n".join(line.rstrip() for line in norm.strip().split("\n"))
        if not norm.strip():
            raise EmptyArticleError("the article is empty (no text after removing whitespace)")
        lines = norm.count("\n") + 1
        if lines > max_lines:
            raise ArticleTooLargeError(f"the article has {lines:,} lines; the limit is {max_lines:,} (set max_lines)")
        if len(norm) > max_chars:
            raise ArticleTooLargeError(
                f"the article has {len(norm):,} characters; the limit is {max_chars:,} (set max_chars to raise it)"
            )
        paragraphs = tuple(_paragraphs(norm))
        sentences = tuple(s for p in paragraphs for s in _sentences(norm, p))
        return cls(
            text=norm,
            title=title if title is not None else meta.get("TITLE"),
            source=source if source is not None else meta.get("SOURCE"),
            date=date if date is not None else meta.get("DATE"),
            url=url if url is not None else meta.get("URL"),
            author=author if author is not None else meta.get("AUTHOR"),
            site=site,
            warnings=warnings,
            paragraphs=paragraphs,
            sentences=sentences,
        )

    @classmethod
    def from_bytes(cls, data: bytes, *, max_chars: int = DEFAULT_MAX_CHARS, **kw: str | None) -> Article:
        """Decode ``data`` as UTF-8; if that fails, fall back to Windows-1252 and say so in ``warnings``."""
        if len(data) > max_chars * 4:
            raise ArticleTooLargeError(f"the input has {len(data):,} bytes; the limit is {max_chars:,} characters")
        if b"\x00" in data[:65536] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
            raise BinaryArticleError("the input contains NUL bytes: it looks like binary data, not text")
        warns: tuple[str, ...] = ()
        if data.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = data.decode("utf-16", "replace")
            if "\ufffd" in text:
                warns = ("input is not valid UTF-16; undecodable bytes were replaced",)
        else:
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError as exc:
                # Old newsroom exports are mostly Windows-1252; latin-1 catches the five bytes it leaves undefined.
                try:
                    text = data.decode("cp1252")
                    enc = "Windows-1252"
                except UnicodeDecodeError:
                    text = data.decode("latin-1")
                    enc = "Latin-1"
                msg = f"input is not valid UTF-8 (byte {exc.start}); decoded it as {enc}"
                log.warning(msg)
                warns = (msg,)
        return cls.from_text(text, max_chars=max_chars, warnings=warns, **kw)  # type: ignore[arg-type]

    @classmethod
    def from_file(cls, path: str | Path, *, max_chars: int = DEFAULT_MAX_CHARS, **kw: str | None) -> Article:
        p = Path(path)
        try:
            if p.is_dir():
                raise ArticleNotFoundError(f"{p} is a directory, not an article file")
            # Read through a cap, never by the size stat() reports: it is 0 for pipes and devices
            # (/dev/zero, a FIFO), which would otherwise be read until memory runs out.
            limit = max_chars * 4
            with p.open("rb") as f:
                data = f.read(limit + 1)
            if len(data) > limit:
                raise ArticleTooLargeError(f"{p} has more than {limit:,} bytes; the limit is {max_chars:,} characters")
        except FileNotFoundError as exc:
            raise ArticleNotFoundError(f"no such file: {p}") from exc
        except PermissionError as exc:
            raise ArticleNotFoundError(f"cannot read {p}: permission denied") from exc
        except OSError as exc:
            raise ArticleNotFoundError(f"cannot read {p}: {exc.strerror or exc}") from exc
        return cls.from_bytes(data, max_chars=max_chars, **kw)

    @classmethod
    def from_stdin(cls, stream: BinaryIO | None = None, *, max_chars: int = DEFAULT_MAX_CHARS) -> Article:
        src = stream if stream is not None else sys.stdin.buffer
        data = src.read(max_chars * 4 + 1)
        return cls.from_bytes(data, max_chars=max_chars)

    # -- derived ------------------------------------------------------------------------------
    @property
    def content_hash(self) -> str:
        """sha256 of the normalised text and title: stable across runs, platforms and line endings."""
        h = hashlib.sha256()
        h.update((self.title or "").encode())
        h.update(b"\x00")
        h.update(self.text.encode())
        return h.hexdigest()

    def __len__(self) -> int:
        return len(self.text)


def scrub_surrogates(text: str) -> tuple[str, bool]:
    """``text`` with lone surrogates (undecodable bytes that reached a str) replaced by U+FFFD."""
    fixed = _SURROGATE.sub("\ufffd", text)
    return fixed, fixed is not text and fixed != text


def _split_header(text: str) -> tuple[str, dict[str, str]]:
    lines = text.lstrip("\n").split("\n")
    meta: dict[str, str] = {}
    for i, line in enumerate(lines):
        if not line.strip():
            if meta and "TITLE" in meta:
                return "\n".join(lines[i + 1 :]), meta
            break
        m = _HEADER.match(line)
        if not m:
            break
        meta[m.group(1)] = m.group(2).strip()
    return text, {}


def _paragraphs(text: str) -> list[Span]:
    """Blank lines separate paragraphs, and so does a line break after a finished sentence.

    A line break after anything else (hard-wrapped prose) stays inside the paragraph.
    """
    out: list[Span] = []
    pos = 0
    for m in [*_PARA_BREAK.finditer(text), None]:
        end = m.start() if m else len(text)
        chunk = text[pos:end]
        if chunk.strip():
            lead = len(chunk) - len(chunk.lstrip())
            s, e = pos + lead, pos + len(chunk.rstrip())
            out.append(Span(s, e, text[s:e]))
        if m:
            pos = m.end()
    return out


def _sentences(text: str, para: Span) -> list[Span]:
    out: list[Span] = []
    start = para.start
    seg = para.text
    for m in _BOUNDARY.finditer(seg):
        end = m.end()
        latin = m.group(0)[:1] in (".", "!", "?")
        if latin and (not _NEXT_START.match(seg, end) or _is_abbreviation(seg, m.start())):
            continue
        out.extend(_bounded(text, start, para.start + end))
        start = para.start + end
    out.extend(_bounded(text, start, para.end))
    return out


def _bounded(text: str, start: int, end: int) -> list[Span]:
    """The sentence text[start:end] without its leading space, cut into pieces of MAX_SENTENCE_CHARS at most."""
    out: list[Span] = []
    s = start + _lead(text, start, end)
    e = s + len(text[s:end].rstrip())
    while s < e:
        cut = e
        if e - s > MAX_SENTENCE_CHARS:
            limit = s + MAX_SENTENCE_CHARS
            # The last clause mark or space in the second half of the window, else a hard cut.
            marks = [m.end() for m in _CLAUSE.finditer(text, s + MAX_SENTENCE_CHARS // 2, limit)]
            cut = marks[-1] if marks else limit
        piece_end = s + len(text[s:cut].rstrip())
        out.append(Span(s, piece_end, text[s:piece_end]))
        s = cut + _lead(text, cut, e)
    return out


def _lead(text: str, s: int, e: int) -> int:
    piece = text[s:e]
    return len(piece) - len(piece.lstrip())


_NUMBERED = frozenset(
    ["no", "nos", "sec", "secs", "art", "arts", "vol", "vols", "ch", "chap", "para", "pp", "fig", "tab"]
)
_WORD_BEFORE = re.compile(r"([A-Za-z][A-Za-z.]*)$")


def _is_abbreviation(seg: str, dot: int) -> bool:
    if seg[dot] != ".":
        return False
    # Only the word before the dot matters; a bounded window keeps this linear in long paragraphs.
    m = _WORD_BEFORE.search(seg, max(0, dot - 40), dot)
    if not m:
        return False
    word = m.group(1)
    # A citation runs on into its number: "18 U.S.C. 924(c)", "Sec. 5", "Art. 2", "Vol. 3".
    if seg[dot + 1 : dot + 3].lstrip()[:1].isdigit() and ("." in word or word.lower() in _NUMBERED):
        return True
    # Initials and dotted acronyms ("J.", "U.S.", "D.C.") rarely end a sentence in news prose.
    if len(word) == 1 and word.isupper():
        return True
    if "." in word and all(len(p) <= 2 for p in word.split(".")):
        return not word.replace(".", "").isupper() or len(word) <= 4
    return word in _CAPITALISED_ABBREVIATIONS or word in _LOWER_ABBREVIATIONS
