# ragway: `make run` starts the whole stack, `make test` runs every check.
# Both install .venv from the committed lock first (configs/requirements.lock: every package,
# pinned, with hashes), so every machine tests the same versions. `make lock` moves the lock.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
LOCK   := configs/requirements.lock
STAMP  := $(VENV)/.ragway-installed

# The lock: runtime + dev extras + the build backend, for this Python on Linux x86_64.
# torchvision stays out (unstructured[pdf] -> timm asks for it; its only build here is a CUDA
# one that breaks the CPU torch, and nothing ragway runs imports it).
PIP_COMPILE = CUSTOM_COMPILE_COMMAND="make lock" $(BIN)/pip-compile --quiet --extra dev \
	--all-build-deps --generate-hashes --strip-extras --unsafe-package torchvision \
	--no-emit-index-url --no-emit-find-links --output-file $(LOCK) pyproject.toml

.DEFAULT_GOAL := help
.PHONY: help venv run test checks-and-tests lint typecheck imports pytest browser bench soak clean lock upgrade

help:
	@echo "make run    - set up .venv if missing and run gateway + worker (+ embedded Postgres/Redis)"
	@echo "make test   - set up .venv if missing and run lint, format check, types, import layers, pytest"
	@echo "make bench  - run the benchmarks in tests/benchmarks (BENCH=\"name ...\" for some; not part of make test)"
	@echo "make soak   - 30 min of mixed traffic on the whole stack; fails if memory grows >10% (SOAK=\"--duration 5m ...\")"
	@echo "make lock   - re-resolve the lock after a pyproject.toml change, keeping the other pins"
	@echo "make upgrade - re-resolve the lock with the newest releases pyproject.toml allows"

$(STAMP): $(LOCK) pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --no-deps --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	$(BIN)/python -m tests.support.lockfile prune
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP)
	$(BIN)/ragway run

# A check's output is printed whole when it ends, so that beside pytest (make test) it never
# lands inside pytest's progress lines.
define whole
	@echo "$(1)"; out=$$($(1) 2>&1); rc=$$?; printf '%s\n' "$$out"; exit $$rc
endef

lint: $(STAMP)
	$(call whole,$(BIN)/ruff check .)
	$(call whole,$(BIN)/ruff format --check .)

typecheck: $(STAMP)
	$(call whole,$(BIN)/mypy)

imports: $(STAMP)
	$(call whole,$(BIN)/lint-imports)

# The console's browser tests drive Debian's chromium through Playwright (never a download).
browser:
	@command -v chromium >/dev/null 2>&1 || { echo "installing chromium (Debian) for the console tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

pytest: $(STAMP) browser
	$(BIN)/pytest

# The checks run beside pytest (most of its time is spent waiting on processes and sockets,
# not on the CPU), and the venv install beside chromium's: about two minutes less.
test:
	@$(MAKE) --no-print-directory -j3 checks-and-tests

checks-and-tests: lint typecheck imports pytest

bench: $(STAMP)
	$(BIN)/python -m tests.benchmarks $(BENCH)

soak: $(STAMP)
	$(BIN)/python -m tests.soak $(SOAK)

lock: $(STAMP)
	$(PIP_COMPILE)
	@echo "$(LOCK) written. Run \`make test\` (it installs the new lock), then commit it with pyproject.toml."

upgrade: $(STAMP)
	$(PIP_COMPILE) --upgrade
	@echo "$(LOCK) moved to the newest releases pyproject.toml allows. Run \`make test\` before you commit it."

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache
