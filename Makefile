# ragway: `make run` starts the whole stack, `make test` runs every check.
# Both create .venv first when it is missing (CPU torch kept; see configs/constraints.txt).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.ragway-installed

.DEFAULT_GOAL := help
.PHONY: help venv run test lint typecheck imports pytest bench soak clean

help:
	@echo "make run    - set up .venv if missing and run gateway + worker (+ embedded Postgres/Redis)"
	@echo "make test   - set up .venv if missing and run lint, format check, types, import layers, pytest"
	@echo "make bench  - run the benchmarks in tests/benchmarks (BENCH=\"name ...\" for some; not part of make test)"
	@echo "make soak   - 30 min of mixed traffic on the whole stack; fails if memory grows >10% (SOAK=\"--duration 5m ...\")"

$(STAMP): pyproject.toml configs/constraints.txt
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -c configs/constraints.txt -e '.[dev]'
	@# torchvision arrives via unstructured[pdf] as a CUDA build that breaks CPU torch; fast PDF parsing needs none.
	$(BIN)/python -m pip uninstall -q -y torchvision
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/ragway run

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

pytest: $(STAMP)
	$(BIN)/pytest

test: lint typecheck imports pytest

bench: $(STAMP)
	$(BIN)/python -m tests.benchmarks $(BENCH)

soak: $(STAMP)
	$(BIN)/python -m tests.soak $(SOAK)

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
