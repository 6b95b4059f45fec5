# Vigil: the two commands users need are `make up` (run the stack) and `make test` (run
# everything CI runs). Both bootstrap .venv from a fresh clone.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Python files we own; generated and third-party files stay out.
PY_PATHS := backend benchmarks scripts tests load-tests alert-testing

.PHONY: up down status serve test check lint typecheck pytest native-deps bench-overhead clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

## up: run the stack (for now the controller on its embedded default, on 127.0.0.1:8000)
up: $(STAMP)
	$(BIN)/vigil serve

serve: up

## native-deps: Debian packages for the native stack and config checks (root: installs them)
native-deps:
	bash scripts/install-native-deps.sh

## test: everything CI runs: lint, types, config checks and the whole pytest suite
test: $(STAMP) native-deps lint typecheck pytest

check: test

lint: $(STAMP)
	$(BIN)/ruff check $(wildcard $(PY_PATHS))
	$(BIN)/ruff format --check $(wildcard $(PY_PATHS))
	$(BIN)/yamllint -s prometheus alertmanager .yamllint.yml

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

## bench-overhead: instrumentation overhead benchmark (needs wrk; prints the ratio)
bench-overhead: $(STAMP)
	$(BIN)/python benchmarks/instrumentation_overhead.py

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis
