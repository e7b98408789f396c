"""Every prompt as the model receives it (snapshots), and placeholders filled in one pass."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import newsqa
from newsqa import prompts
from newsqa.grounding.second_reading import check_messages
from newsqa.grounding.support import Record, support_messages
from newsqa.model.formats import prompt_schema
from newsqa.schemas import Answer, Evidence, draft_model

SNAPSHOTS = Path(__file__).parent / "snapshots"
ARTICLE = newsqa.Article.from_text(
    "TITLE: Council approves plan\n\nThe council approved the plan on Monday. It will cost $4 million.\n\n"
    "Mayor Ruth Adams said the vote was close."
)


def _rendered() -> dict[str, list[dict[str, str]]]:
    block = prompts.article_block(ARTICLE)
    ev = [Evidence(quote=s.text, start=s.start, end=s.end) for s in ARTICLE.sentences[1:2]]
    notes = "[P1] The council approved the plan.\n[P2] It costs $4 million."
    return {
        "ask": prompts.messages_for(block, prompts.render("ask", question="What will the plan cost?")),
        "ask_many": prompts.messages_for(
            block, prompts.render("ask_many", questions="Q1: What will the plan cost?\nQ2: Who spoke?")
        ),
        "check": check_messages("What will the plan cost?", "$4 million", ev),
        "summarize": prompts.messages_for(block, prompts.load("summarize")),
        "actions": prompts.messages_for(block, prompts.load("actions")),
        "support": support_messages(
            [
                Record("key_point", "The plan costs $4 million.", ev),
                Record("action", "The council approved the plan (of or to the mayor).", ev),
            ]
        ),
        "reduce": [
            {"role": "system", "content": prompts.load("system")},
            {"role": "user", "content": prompts.render("reduce", notes=notes)},
        ],
        "extract": prompts.messages_for(block, prompts.render("extract", schema='{"type":"object"}')),
        "reask": [{"role": "user", "content": prompts.render("reask", error="status: Input should be 'answered'")}],
        "unsupported": [{"role": "user", "content": prompts.render("unsupported", refs="S9")}],
        "json_fallback": [{"role": "user", "content": prompt_schema(draft_model(Answer, first=("evidence",)))}],
    }


@pytest.mark.parametrize("name", list(_rendered()))
def test_prompt_snapshot(name: str) -> None:
    """The exact messages each prompt produces; set UPDATE_SNAPSHOTS=1 to rewrite them after a prompt change."""
    text = "\n\n".join(f"--- {m['role']} ---\n{m['content']}" for m in _rendered()[name]) + "\n"
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("UPDATE_SNAPSHOTS"):
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def test_every_prompt_has_a_snapshot() -> None:
    assert {p.stem for p in SNAPSHOTS.glob("*.txt")} | {"system", "check_system"} == set(prompts.PROMPT_NAMES)


def test_text_that_looks_like_a_placeholder_is_never_filled() -> None:
    """An evidence sentence holding "$answer" or "{answer}" must reach the check as written."""
    art = newsqa.Article.from_text("The memo said $answer and {answer} were placeholders. It cost $5.")
    ev = [Evidence(quote=art.sentences[0].text, start=art.sentences[0].start, end=art.sentences[0].end)]
    user = check_messages("What did the memo say? $question", "PROPOSED", ev)[1]["content"]
    assert "The memo said $answer and {answer} were placeholders." in user
    assert "What did the memo say? $question" in user
    assert user.count("PROPOSED") == 1


def test_a_missing_placeholder_is_an_error_not_a_blank() -> None:
    with pytest.raises(newsqa.ConfigurationError):
        prompts.render("check", text="t", question="q")
