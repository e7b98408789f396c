"""The actions pass: who did or requested what of whom, read sentence by sentence.

Asked for a list of records, a small model writes the same record until the list is full, and fills
its slots and its evidence from different sentences. So the pass shows the model the sentences that
name a party (at most :data:`ACTION_SENTENCES`, in article order: news puts its main acts first) and
asks, for each one, for the record that sentence states, or null. A record's evidence is the
sentence it was read from; the record checks (:mod:`newsqa.grounding.support`) then judge whether
that sentence states it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import cast

from pydantic import BaseModel

from .. import prompts
from ..grounding.locate import citable, resolve_refs
from ..model.client import Completion, ModelClient
from ..schemas import Action, sentence_actions_for
from ..text.article import Article
from ..text.hostile import instruction_like, quarantined
from ..text.words import names_and_numbers

__all__ = ["ACTIONS_MAX_TOKENS", "ACTION_SENTENCES", "action_sentences", "extract_actions"]

ACTION_SENTENCES = 8
ACTIONS_MAX_TOKENS = 900
_MIN_WORDS = 5  # shorter "sentences" are datelines, captions and fragments


def action_sentences(article: Article, among: Iterable[int] | None = None) -> tuple[int, ...]:
    """The first sentences (0-based ids, of ``among`` or of the whole article) that name a party; never
    one that reads as an instruction planted in the article (it could not be cited anyway)."""
    suspect = quarantined(article)
    out: list[int] = []
    for k in among if among is not None else range(len(article.sentences)):
        text = article.sentences[k].text
        if len(text.split()) < _MIN_WORDS or not any(n[:1].isalpha() for n in names_and_numbers(text)):
            continue
        if k in suspect or instruction_like(text):
            continue
        out.append(k)
        if len(out) == ACTION_SENTENCES:
            break
    return tuple(out)


async def extract_actions(
    cl: ModelClient, article: Article, block: str, sentence_ids: tuple[int, ...], *, cache: bool
) -> tuple[list[Action], Completion[BaseModel] | None]:
    """The records ``sentence_ids`` state, each with its sentence as evidence, after ``block`` (the
    article as the summary read it, so the model's state after reading it serves this request too)."""
    if not sentence_ids:
        return [], None
    listing = "\n".join(f"S{k + 1}: {prompts.defang(article.sentences[k].text)}" for k in sentence_ids)
    done = await cl.acomplete(
        prompts.messages_for(block, prompts.render("actions", sentences=listing)),
        sentence_actions_for(sentence_ids),
        max_tokens=ACTIONS_MAX_TOKENS,
        use_cache=cache,
    )
    records: list[Action] = []
    for k in sentence_ids:
        slot = cast(BaseModel | None, getattr(done.value, f"S{k + 1}", None))
        evidence = citable(article, resolve_refs(article, [f"S{k + 1}"]).evidence)
        if slot is not None and evidence:
            records.append(Action(**slot.model_dump(), evidence=evidence))
    return records, done
