# Convenience targets; the README's two commands are the source of truth.
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup run test fast lint extras fixtures bench bench-background clean

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

PEERS := benchmarks/peers-venv

# a stamp, not bin/python: that is a symlink, and make would read its target's age
$(PEERS)/.installed: benchmarks/peers-requirements.txt  # peers whose pins clash with newsqa's openai
	test -x $(PEERS)/bin/python || python3 -m venv $(PEERS)
	$(PEERS)/bin/python -m pip install -q -r benchmarks/peers-requirements.txt
	touch $@

bench: setup $(PEERS)/.installed  # every figure of benchmarks/README.md, one run; peers never in the core
	$(PY) -m pip install -q --group bench
	$(PY) benchmarks/embedded.py
	$(PY) benchmarks/quality.py
	$(PY) benchmarks/speed.py
	$(PY) benchmarks/peers.py

bench-background:  # the same, detached from the terminal, with its progress in benchmarks/bench.log
	nohup $(MAKE) bench > benchmarks/bench.log 2>&1 &
	@echo "make bench is running in the background: tail -f benchmarks/bench.log"

extras:  # each extra alone in a clean venv: it installs what it needs, and what it promises imports
	bash scripts/check_extras.sh

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache dist build
