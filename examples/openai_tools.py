"""Add newsqa to a tool-calling chatbot in a few lines (any OpenAI-compatible endpoint with tools).

    OPENAI_API_KEY=... python examples/openai_tools.py "Summarise https://example.org/story and say who asked for what"

The bot's model decides when to call ``ask_article`` / ``summarize_article``; newsqa runs the call
(with its own model configuration) and returns grounded JSON for the bot to phrase.
"""

from __future__ import annotations

import os
import sys

from openai import OpenAI

import newsqa.tools

MODEL = os.environ.get("CHAT_MODEL", "gpt-4o-mini")


def chat(user_message: str) -> str:
    client = OpenAI()
    messages: list[dict] = [
        {
            "role": "system",
            "content": "You help readers understand news. Use the tools; quote the evidence they return.",
        },
        {"role": "user", "content": user_message},
    ]
    for _ in range(5):
        reply = client.chat.completions.create(model=MODEL, messages=messages, tools=newsqa.tools.openai_tools())
        msg = reply.choices[0].message
        if not msg.tool_calls:
            return msg.content or ""
        messages.append(msg.model_dump(exclude_none=True))
        for call in msg.tool_calls:
            messages.append({"role": "tool", "tool_call_id": call.id, "content": newsqa.tools.dispatch(call)})
    return "(gave up after 5 tool rounds)"


if __name__ == "__main__":
    print(chat(" ".join(sys.argv[1:]) or "What is newsqa?"))
