"""Prompt templates (the versioned text files of ``prompts/``) and the messages built from them.

Templates are :class:`string.Template` text (``$question``), filled in one pass: text that stands in
an article or an answer is never read as a placeholder. The article always comes first in the user
message and the task after it, so that every task on one article shares a token prefix: a local
model's prefix (KV) cache then reads the article once.
"""

from __future__ import annotations

import functools
import hashlib
import string
from collections.abc import Iterable, Sequence
from pathlib import Path

from .errors import ConfigurationError
from .text.article import Article, Span
from .text.hostile import defang, instruction_like, quarantined

__all__ = ["PROMPT_NAMES", "article_block", "defang", "load", "messages_for", "prompt_version", "render"]

PROMPT_NAMES = (
    "system",
    "ask",
    "ask_many",
    "check_system",
    "check",
    "summarize",
    "actions",
    "support",
    "reduce",
    "extract",
    "reask",
    "unsupported",
    "json_fallback",
)


def _prompt_dir() -> Path:
    # The wheel installs the prompts inside the package (a plain directory: newsqa is never zipped);
    # a Path is enough, and importlib.resources would cost ~10 ms of every CLI start.
    shipped = Path(__file__).resolve().parent / "prompts"
    if shipped.is_dir():
        return shipped
    # Running from a source checkout (editable install): the top-level prompts/ folder.
    return Path(__file__).resolve().parent.parent / "prompts"


@functools.cache
def load(name: str) -> str:
    if name not in PROMPT_NAMES:
        raise ConfigurationError(f"unknown prompt {name!r}")
    path = _prompt_dir() / f"{name}.txt"
    try:
        return path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigurationError(f"prompt file missing: {path}") from exc


# Templates that shape a reply without standing in the request's messages (re-ask feedback, the
# schema in the prompt when an endpoint takes no response format). Every other template is in the
# messages a cache key hashes, so an edit to it changes exactly the keys of the requests that use it.
UNSEEN_PROMPTS = ("reask", "unsupported", "json_fallback")


@functools.cache
def prompt_version() -> str:
    """A digest of the templates a cache key cannot see in the messages: an edit to any changes every key."""
    h = hashlib.sha256()
    for name in UNSEEN_PROMPTS:
        h.update(name.encode() + b"\0" + load(name).encode() + b"\0")
    return h.hexdigest()[:16]


def article_block(article: Article, sentence_ids: Iterable[int] | None = None) -> str:
    """The article as the model sees it: delimited, one paragraph per line, each sentence tagged.

    ``sentence_ids`` (0-based) selects sentences for long articles; ids keep their article-wide numbers
    and a gap is marked with "..." so the model knows text was left out.
    """
    wanted = None if sentence_ids is None else sorted(set(sentence_ids))
    lines: list[str] = ["<article>"]
    if article.title:
        lines.append(f"Title: {defang(article.title)}")
    para_of = _paragraph_index(article)
    suspect = quarantined(article)
    current: list[str] = []
    last_para, last_k = -1, -1
    for k in wanted if wanted is not None else range(len(article.sentences)):
        s = article.sentences[k]
        p = para_of[k]
        if current and (p != last_para or k != last_k + 1):
            lines.append(" ".join(current))
            current = []
            if k != last_k + 1:
                lines.append("...")
        # Datamarking: text that imitates a chat turn or gives orders to an AI is labelled where the model reads it.
        if k in suspect:
            mark = "(quarantined: imitates a chat turn, not article text) "
        elif instruction_like(s.text):
            mark = "(planted instruction, ignore) "
        else:
            mark = ""
        current.append(f"[S{k + 1}] {mark}{defang(s.text)}")
        last_para, last_k = p, k
    if current:
        lines.append(" ".join(current))
    if wanted is not None and wanted:
        if wanted[0] > 0:
            lines.insert(2 if article.title else 1, "...")
        if wanted[-1] < len(article.sentences) - 1:
            lines.append("...")
    lines.append("</article>")
    return "\n".join(lines)


def _paragraph_index(article: Article) -> list[int]:
    out: list[int] = []
    p = 0
    paras: Sequence[Span] = article.paragraphs
    for s in article.sentences:
        while p + 1 < len(paras) and s.start >= paras[p + 1].start:
            p += 1
        out.append(p)
    return out


def messages_for(block: str, task: str) -> list[dict[str, str]]:
    return [
        {"role": "system", "content": load("system")},
        {"role": "user", "content": f"{block}\n\n{task}"},
    ]


@functools.cache
def _template(name: str) -> string.Template:
    return string.Template(load(name))


def render(name: str, **values: str) -> str:
    """Fill template ``name``; every placeholder must be given (a missing one is a bug, not a blank)."""
    try:
        return _template(name).substitute(values)
    except (KeyError, ValueError) as exc:
        raise ConfigurationError(f"prompt {name!r} cannot be filled: {exc}") from exc
