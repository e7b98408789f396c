"""extract: fill any pydantic model from an article; its ``list[Evidence]`` fields come back verified."""

from __future__ import annotations

import functools
import json
from typing import TypeVar

from pydantic import BaseModel

from .. import prompts
from ..grounding.locate import resolve_refs
from ..model.client import ModelClient
from ..model.loop import run_sync
from ..schemas import Evidence, draft_model
from .common import ArticleInput, as_article, default_client, passages
from .drafts import public

__all__ = ["aextract", "extract"]

T = TypeVar("T", bound=BaseModel)


@functools.lru_cache(maxsize=64)
def _compact_schema(model: type[BaseModel]) -> str:
    return json.dumps(model.model_json_schema(), separators=(",", ":"))


async def aextract(
    article: ArticleInput,
    schema: type[T],
    *,
    client: ModelClient | None = None,
    cache: bool = True,
    max_tokens: int = 1200,
) -> T:
    """Fill any pydantic model from the article. ``list[Evidence]`` fields come back verified."""
    art = as_article(article)
    cl = client or default_client()
    draft_type = draft_model(schema)
    query = " ".join(f"{n} {f.description or ''}" for n, f in schema.model_fields.items())
    ids, chunks = passages(art, cl, query, max_tokens)
    allowed = set(ids) if ids is not None else None
    messages = prompts.messages_for(
        prompts.article_block(art, ids), prompts.render("extract", schema=_compact_schema(draft_type))
    )
    done = await cl.acomplete(messages, draft_type, max_tokens=max_tokens, use_cache=cache)

    def resolve(refs: list[str]) -> list[Evidence]:
        return resolve_refs(art, refs, chunks=chunks, allowed_sentences=allowed).evidence

    return public(schema, done.value, resolve, drop_unsupported=False, meta=None)


def extract(
    article: ArticleInput,
    schema: type[T],
    *,
    client: ModelClient | None = None,
    cache: bool = True,
    max_tokens: int = 1200,
) -> T:
    """Sync twin of :func:`aextract`."""
    return run_sync(aextract(article, schema, client=client, cache=cache, max_tokens=max_tokens))
