# Every target creates the virtual environment first if it is missing or out of date.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
UV_VERSION := 0.13.9
export PAS_HOME ?= $(CURDIR)/.pas_home
export DAGSTER_HOME ?= $(PAS_HOME)/dagster
HOST ?= 127.0.0.1
PORT ?= 3000

.PHONY: help install demo demo-alpaca serve up test lint bench dev docs docs-serve clean

help:
	@echo "make demo   - set up and run one rebalance end to end (sample data, simulated broker)"
	@echo "make demo-alpaca - the demo against a local fake Alpaca server (alpaca-py over HTTP)"
	@echo "make test   - set up and run the whole test suite"
	@echo "make dev    - Dagster UI and daemon on http://$(HOST):$(PORT) (local development)"
	@echo "make serve  - the token-protected UI (API_TOKEN) with /metrics on $(HOST):$(PORT)"
	@echo "make up     - the protected UI and the daemon (schedules and sensors live)"
	@echo "make bench  - performance benchmarks with ratios against peer libraries"
	@echo "make docs   - build the MkDocs site (strict)"

$(BIN)/uv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "uv==$(UV_VERSION)"

# Installs the pinned lock file with byte-code compiled (the stack imports much slower without it).
$(VENV)/.installed: $(BIN)/uv requirements.lock pyproject.toml
	UV_COMPILE_BYTECODE=1 $(BIN)/uv pip sync --quiet --python $(BIN)/python requirements.lock
	UV_COMPILE_BYTECODE=1 $(BIN)/uv pip install --quiet --python $(BIN)/python --no-deps -e .
	touch $@

install: $(VENV)/.installed

# Benchmarks compare against peer libraries (riskfolio-lib, skfolio) kept out of the main
# environment: a second venv from requirements-bench.lock.
BENCH_VENV := .venv-bench
$(BENCH_VENV)/.installed: $(BIN)/uv requirements-bench.lock pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	UV_COMPILE_BYTECODE=1 $(BIN)/uv pip sync --quiet --python $(BENCH_VENV)/bin/python requirements-bench.lock
	UV_COMPILE_BYTECODE=1 $(BIN)/uv pip install --quiet --python $(BENCH_VENV)/bin/python --no-deps -e .
	touch $@

demo: install
	$(BIN)/pas demo

# The same demo, with orders sent by alpaca-py over HTTP to a local fake Alpaca paper account.
demo-alpaca: install
	$(BIN)/pas demo --broker fake-alpaca

test: install
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: $(BENCH_VENV)/.installed
	$(BENCH_VENV)/bin/python -m benchmarks.run

dev: install
	$(BIN)/pas instance >/dev/null
	$(BIN)/dagster dev -h $(HOST) -p $(PORT) -w workspace.yaml

serve: install
	$(BIN)/pas-serve --host $(HOST) --port $(PORT) -w workspace.yaml

# The protected webserver and the daemon together; Ctrl-C (or the webserver exiting) stops both.
up: install
	$(BIN)/pas instance >/dev/null
	$(BIN)/dagster-daemon run -w workspace.yaml & daemon=$$!; \
	trap 'kill $$daemon 2>/dev/null; wait $$daemon' EXIT INT TERM; \
	$(BIN)/pas-serve --host $(HOST) --port $(PORT) -w workspace.yaml

docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

docs-serve: install
	$(BIN)/mkdocs serve -a $(HOST):8001

clean:
	rm -rf $(PAS_HOME) site .pytest_cache .ruff_cache
