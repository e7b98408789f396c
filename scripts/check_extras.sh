#!/usr/bin/env bash
# Each extra alone, in a clean virtual environment, from this checkout: it must install what it
# needs and what it promises must work. Run by CI (make extras); about a minute per extra.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

check() {  # check NAME "PIP SPEC" 'PYTHON CODE'
    local name=$1 spec=$2 code=$3
    python3 -m venv "$work/$name"
    "$work/$name/bin/python" -m pip install -q --disable-pip-version-check "$spec" 2>&1 | grep -v '^WARNING: Location' || true
    (cd "$work" && NEWSQA_CACHE_DIR="$work/cache-$name" "$work/$name/bin/python" -c "$code")
    echo "extra ok: $name"
}

check core "$root" '
import subprocess, sys, newsqa
a = newsqa.Article.from_text("The council met on Monday. It approved the plan.")
assert len(a.sentences) == 2
c = newsqa.ModelClient(base_url="http://127.0.0.1:9/v1", model="m", cache=False)
assert c.tokenizer.count("hello world") == 2  # offline tiktoken encoding
assert subprocess.run([sys.executable, "-m", "newsqa", "--help"], capture_output=True).returncode == 0
try:
    newsqa.article_from_html("<html><body><p>x</p></body></html>")
except newsqa.ConfigurationError as exc:
    assert "newsqa[web]" in str(exc)
else:
    raise SystemExit("HTML extraction worked without the web extra")
'

check web "$root[web]" "
import newsqa
html = open('$root/fixtures/html/01_bbc-assange-sweden-drops-investigation.html', 'rb').read()
a = newsqa.article_from_html(html)
assert a.title and len(a.sentences) > 5, a
"

check mcp "$root[mcp]" '
from newsqa.faces.mcp_server import build_server
server = build_server()
print(type(server).__name__)
'

check local "$root[local]" '
import llama_cpp
from newsqa.model import weights
missing = [i for i in range(1, weights.PARTS + 1) if weights._part_path(i) is None]
assert not missing, missing
'

check batch "$root[batch]" "
import json, pathlib, tempfile
import pyarrow as pa, pyarrow.parquet as pq
from newsqa.corpus.sources import read_rows
d = pathlib.Path(tempfile.mkdtemp())
pq.write_table(pa.Table.from_pylist([{'id': 'a', 'text': 'The council met.', 'question': 'Who met?'}]), d / 'in.parquet')
rows = list(read_rows(d / 'in.parquet'))
assert rows[0].id == 'a' and rows[0].questions == ('Who met?',), rows
"

check ray "$root[ray]" '
import ray, ray.data
from newsqa.corpus.ray import batch_on_ray
print(ray.__version__)
'
