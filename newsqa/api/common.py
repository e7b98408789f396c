"""What every operation needs: the default client, articles from any input, the prompt budget."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import QuestionError
from ..model.client import Completion, ModelClient
from ..schemas import Usage
from ..text.article import Article, scrub_surrogates
from ..text.chunking import Chunk, chunk_article
from ..text.hostile import quarantined
from ..text.retrieval import select_sentences

__all__ = ["ArticleInput", "as_article", "budget", "check_question", "chunks_for", "default_client", "meta", "passages"]

ArticleInput = Article | str | Path
MAX_QUESTION_CHARS = 2000
# Room kept in the context window for the system prompt, the task text and a re-ask round.
PROMPT_OVERHEAD = 700
# cl100k and the models' own tokenizers disagree by a few percent on news prose; stay clear of the edge.
TOKEN_MARGIN = 1.15
RETRIEVAL_CHUNK_TOKENS = 250
# Summaries of long articles read the article in parts of up to this many tokens (or the budget, if
# smaller): fewer, larger parts mean fewer calls, less repeated prompt and fewer notes to combine.
SUMMARY_CHUNK_TOKENS = 3000

_default: ModelClient | None = None
_default_lock = threading.Lock()


def default_client() -> ModelClient:
    """The client used when none is passed: configured from the environment, made once per process."""
    global _default
    with _default_lock:
        if _default is None:
            _default = ModelClient()
        return _default


def as_article(article: ArticleInput) -> Article:
    if isinstance(article, Article):
        return article
    if isinstance(article, Path):
        return Article.from_file(article)
    if isinstance(article, str):
        return Article.from_text(article)
    raise TypeError(f"article must be an Article, str or Path, not {type(article).__name__}")


def check_question(question: str) -> str:
    if not isinstance(question, str) or not question.strip():
        raise QuestionError("the question is empty")
    question, _ = scrub_surrogates(question)  # undecodable bytes from a terminal or a file
    if len(question) > MAX_QUESTION_CHARS:
        raise QuestionError(f"the question has {len(question):,} characters; the limit is {MAX_QUESTION_CHARS:,}")
    return " ".join(question.split())


def budget(client: ModelClient, max_tokens: int) -> int:
    """Tokens of article text a prompt may carry, leaving room for the reply and the instructions."""
    margin = 1.0 if client.exact_tokens else TOKEN_MARGIN
    return int((client.context_window - max_tokens - PROMPT_OVERHEAD) / margin)


def fits(article: Article, client: ModelClient, tokens: int) -> bool:
    # Tagging adds ~3 tokens per sentence. Prose runs ~4 characters a token and seldom under 2, so a
    # short text is known to fit without tokenizing it.
    if len(article.text) / 2 + 4 * len(article.sentences) <= tokens:
        return True
    return client.tokenizer.count(article.text) + 4 * len(article.sentences) <= tokens


def chunks_for(article: Article, client: ModelClient, tokens: int, size: int = SUMMARY_CHUNK_TOKENS) -> list[Chunk]:
    size = max(200, min(size, tokens))
    return chunk_article(article, max_tokens=size, overlap_tokens=size // 8, tokenizer=client.tokenizer)


def passages(
    article: Article,
    client: ModelClient,
    query: str,
    max_tokens: int,
    limit: int | None = None,
    whole: int | None = None,
) -> tuple[list[int] | None, list[Chunk] | None]:
    """All sentences (None) if the article fits; else those of the best-ranked passages, and the chunks.

    With a ``limit``, an article longer than ``whole`` tokens is read in passages of at most ``limit``
    tokens even when the window could hold more.
    """
    room = budget(client, max_tokens)
    if fits(article, client, min(room, whole) if whole else room):
        return None, None
    chunks = chunks_for(article, client, room, RETRIEVAL_CHUNK_TOKENS)
    return select_sentences(chunks, query, min(room, limit or room)), chunks


def meta(
    completions: Sequence[Completion[Any]], article: Article | None = None, *, notes: Sequence[str] = ()
) -> dict[str, Any]:
    """The run metadata of a result: the model that answered, whether all was cached, the usage, and
    what was noticed about the article (and ``notes`` on what was repaired)."""
    usage = Usage()
    for c in completions:
        usage = usage + c.usage
    warnings = list(article.warnings) if article is not None else []
    if article is not None and (n := len(quarantined(article))):
        warnings.append(
            f"{n} sentence(s) of the article imitate a chat turn (chat control tokens or a role header): "
            "they were quarantined, shown to the model as suspect and never used as evidence"
        )
    return {
        "model": completions[-1].model if completions else None,
        "cached": all(c.cached for c in completions),
        "usage": usage,
        "warnings": [*warnings, *notes],
    }
