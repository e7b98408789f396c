"""How to ask each backend for JSON of a schema, and how to read the JSON back.

- ``json_schema``: OpenAI's strict structured outputs (every property required, no extra keys).
- ``json_object`` with a ``schema``: llama.cpp (server and in-process) constrains decoding to it.
- ``prompt``: the schema in the last user message, for endpoints that accept neither.

Whatever the format, the reply is validated with pydantic on our side.
"""

from __future__ import annotations

import copy
import functools
import json
import re
from typing import Any

from pydantic import BaseModel

from .. import prompts
from .settings import FORMATS, ResponseFormat

__all__ = ["extract_json", "format_refused", "json_schema", "next_format", "request_format", "strict_schema"]

JsonSchema = dict[str, Any]


# Schemas are built once per draft type; callers treat the result as read-only.
@functools.lru_cache(maxsize=64)
def json_schema(schema: type[BaseModel]) -> JsonSchema:
    return dict(schema.model_json_schema())


@functools.lru_cache(maxsize=64)
def strict_schema(schema: type[BaseModel]) -> JsonSchema:
    """``schema`` in the form OpenAI's strict mode accepts: closed objects, every property required."""
    strict: JsonSchema = _strict(copy.deepcopy(json_schema(schema)))
    return strict


def _strict(node: Any) -> Any:
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items()}
    if out.get("type") == "object" and "properties" in out:
        out["additionalProperties"] = False
        out["required"] = list(out["properties"])
    # Strict mode rejects a default of None beside a nullable type, and siblings next to a $ref.
    if out.get("default", 0) is None:
        del out["default"]
    if "$ref" in out and len(out) > 1:
        out = {"$ref": out["$ref"], **({"description": out["description"]} if "description" in out else {})}
    return out


def request_format(fmt: ResponseFormat, schema: type[BaseModel]) -> JsonSchema | None:
    """The ``response_format`` request field for ``fmt`` (None for ``prompt``)."""
    if fmt == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {"name": schema.__name__, "schema": strict_schema(schema), "strict": True},
        }
    if fmt == "json_object":
        return {"type": "json_object", "schema": json_schema(schema)}
    return None


def prompt_schema(schema: type[BaseModel]) -> str:
    """The text appended to the last message when the endpoint takes no response format."""
    spec = json.dumps(json_schema(schema), separators=(",", ":"))
    return "\n\n" + prompts.render("json_fallback", schema=spec)


def next_format(fmt: ResponseFormat) -> ResponseFormat | None:
    i = FORMATS.index(fmt) if fmt in FORMATS else len(FORMATS)
    return FORMATS[i + 1] if i + 1 < len(FORMATS) else None


# What endpoints say when they do not support a response format (OpenAI, vLLM, llama.cpp, Ollama,
# LiteLLM). A 400 about anything else (a prompt too long, a bad model name) is not a refusal.
_FORMAT_REFUSED = re.compile(
    r"response_format|json_schema|json schema|structured output|(?:format|schema)\b.{0,40}\bnot (?:be )?supported"
    r"|unsupported.{0,40}\b(?:format|schema)",
    re.IGNORECASE,
)


def format_refused(message: str) -> bool:
    """Whether an error message says the requested response format is not supported."""
    return bool(_FORMAT_REFUSED.search(message))


def extract_json(raw: str) -> str:
    """The JSON object in a reply: tolerate code fences and chatter around it (plain-prompt backends)."""
    s = raw.strip()
    if s.startswith("```"):
        s = re.sub(r"^```[a-zA-Z]*\s*|\s*```$", "", s)
    if not s.startswith("{"):
        i, j = s.find("{"), s.rfind("}")
        if 0 <= i < j:
            s = s[i : j + 1]
    return s
