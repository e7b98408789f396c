# Convenience targets; the README's two commands are the source of truth.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup run test fast lint extras fixtures bench clean

$(PY):
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

setup: $(PY)
	$(PY) -m pip install -q -e ".[local,web,mcp,ray]" --group dev

run: setup
	$(VENV)/bin/newsqa ask "Who requested what?" fixtures/articles/dhs-national-guard.txt

test: setup
	$(PY) -m pytest

fast:
	$(PY) -m pytest -m "not local_model" -q

lint: setup  # pinned linters (the lint dependency group), never inside the test suite
	$(PY) -m pip install -q --group lint
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check . && $(VENV)/bin/mypy newsqa

fixtures: setup  # needs llama_cpp.server (the bench group)
	$(PY) -m pip install -q --group bench
	$(PY) scripts/record_fixtures.py

bench: setup  # peers come from the bench group, never the core
	$(PY) -m pip install -q --group bench
	$(PY) benchmarks/embedded.py
	$(PY) benchmarks/peers.py

extras:  # each extra alone in a clean venv: it installs what it needs, and what it promises imports
	bash scripts/check_extras.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache dist build
