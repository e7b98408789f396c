"""Add newsqa to a tool-calling chatbot in a few lines (any OpenAI-compatible endpoint with tools).

    CHAT_BASE_URL=https://api.openai.com/v1 CHAT_API_KEY=... \
        python examples/openai_tools.py "Summarise https://example.org/story and say who asked for what"

The bot's model (CHAT_BASE_URL, CHAT_API_KEY, CHAT_MODEL) decides when to call ``ask_article`` /
``summarize_article``; newsqa runs the call with its own configuration (the embedded model unless
OPENAI_BASE_URL / OPENAI_API_KEY say otherwise) and returns grounded JSON for the bot to phrase.
"""

from __future__ import annotations

import os
import sys

from openai import OpenAI

from newsqa import tools

MODEL = os.environ.get("CHAT_MODEL", "gpt-4o-mini")


def chat(user_message: str) -> str:
    client = OpenAI(base_url=os.environ.get("CHAT_BASE_URL"), api_key=os.environ.get("CHAT_API_KEY", "not-needed"))
    messages: list[dict] = [
        {
            "role": "system",
            "content": "You help readers understand news. Use the tools; quote the evidence they return.",
        },
        {"role": "user", "content": user_message},
    ]
    for _ in range(5):
        reply = client.chat.completions.create(model=MODEL, messages=messages, tools=tools.openai_tools())
        msg = reply.choices[0].message
        if not msg.tool_calls:
            return msg.content or ""
        messages.append(msg.model_dump(exclude_none=True))
        for call in msg.tool_calls:
            messages.append({"role": "tool", "tool_call_id": call.id, "content": tools.dispatch(call)})
    return "(gave up after 5 tool rounds)"


if __name__ == "__main__":
    print(chat(" ".join(sys.argv[1:]) or "What is newsqa?"))
