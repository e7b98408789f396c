"""The public operations: ask, summarize, extract, streaming, and their async twins.

Each module wires one operation down the flow (article -> passages -> prompt -> model -> grounding
-> result); the rules that decide whether an answer stands live in :mod:`newsqa.grounding`.
"""

from .common import default_client
from .extraction import aextract, extract
from .questions import aask, aask_many
from .streaming import astream
from .summaries import asummarize, summarize
from .sync import ask

__all__ = ["aask", "aask_many", "aextract", "ask", "astream", "asummarize", "default_client", "extract", "summarize"]
