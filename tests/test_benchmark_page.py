"""The README quotes only what the benchmark page produces: its figure blocks are the page's own."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BLOCK = re.compile(r"<!-- benchmarks:(\w+) -->\n(.*?)\n<!-- /benchmarks:\1 -->", re.S)


def test_every_readme_figure_block_stands_on_the_benchmark_page() -> None:
    readme = (ROOT / "README.md").read_text()
    page = (ROOT / "benchmarks" / "README.md").read_text()
    blocks = BLOCK.findall(readme)
    assert {name for name, _ in blocks} >= {"embedded", "quality"}
    for name, body in blocks:
        assert body.strip() and body.strip() in page, f"README block {name!r} is not the page's"


def test_readme_outside_its_blocks_quotes_no_measured_figure() -> None:
    readme = BLOCK.sub("", (ROOT / "README.md").read_text())
    # Seconds, percentages, ratios and memory are measurements; they belong in the generated blocks.
    measured = re.findall(r"\b\d+(?:\.\d+)?\s?(?:%|×|MB|GB|tok/s|tokens per second)(?!\w)", readme)
    measured += re.findall(r"\b\d+\.\d+\s?s\b", readme)
    assert measured == []
