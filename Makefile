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
.PHONY: help venv run run-packages test checks lint typecheck imports pytest system-tools bench soak clean lock upgrade

help:
	@echo "make run    - set up .venv if missing and run gateway + worker (+ embedded Postgres/Redis)"
	@echo "make test   - set up .venv if missing and run lint, format check, types, import layers, pytest"
	@echo "make bench  - run the benchmarks in tests/benchmarks (BENCH=\"name ...\" for some; not part of make test)"
	@echo "make soak   - 30 min of mixed traffic on the whole stack; fails if memory grows >10% (SOAK=\"--duration 5m ...\")"
	@echo "make lock   - re-resolve the lock after a pyproject.toml change, keeping the other pins"
	@echo "make upgrade - re-resolve the lock with the newest releases pyproject.toml allows"

$(STAMP): $(LOCK) pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --no-deps --require-hashes --no-compile -r $(LOCK)
	$(BIN)/python -m pip install -q --no-deps --no-build-isolation -e .
	$(BIN)/python -m tests.support.lockfile prune
	@touch $(STAMP)

venv: $(STAMP)

run: $(STAMP) run-packages
	$(BIN)/ragway run

# The Debian packages the configuration needs and this host lacks (OCR: tesseract-ocr and the
# data of each language in ingestion.parsing.ocr.languages), installed as root or through
# passwordless sudo. Otherwise the command is printed and the stack runs without them: a scan
# then fails with last_error naming the package.
run-packages: $(STAMP)
	@missing="$$($(BIN)/ragway config system-packages)" || exit 1; \
	if [ -z "$$missing" ]; then exit 0; fi; \
	if [ "$$(id -u)" = 0 ]; then sudo=""; elif sudo -n true 2>/dev/null; then sudo=sudo; \
	else sudo=none; fi; \
	if [ "$$sudo" = none ] || ! command -v apt-get >/dev/null 2>&1; then \
		echo "OCR needs Debian packages this host lacks: sudo apt-get install" $$missing; exit 0; fi; \
	echo "installing Debian packages for OCR:" $$missing; \
	{ $$sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	  $$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		$$missing >/dev/null; } || echo "could not install them: sudo apt-get install" $$missing

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

# Debian packages the tests drive, installed with one apt-get run where missing:
# - chromium: the console's browser tests, through Playwright (never a browser download);
# - prometheus: promtool, for the alert rules' unit tests;
# - pgbouncer: the pooler tests (tests/deploy), in transaction mode before the test Postgres;
# - kubernetes-client: `kubectl kustomize` renders deploy/k8s for the manifest tests;
# - haproxy: the multi-host tests (tests/multi_host) put it before gateway hosts;
# - tesseract-ocr with English and German data: OCR (tests/ingestion/ocr).
SYSTEM_TOOLS = chromium:chromium promtool:prometheus pgbouncer:pgbouncer kubectl:kubernetes-client \
	haproxy:haproxy tesseract:tesseract-ocr
system-tools:
	@missing=""; for tool in $(SYSTEM_TOOLS); do \
		command -v $${tool%%:*} >/dev/null 2>&1 || test -x /usr/sbin/$${tool%%:*} || missing="$$missing $${tool#*:}"; \
	done; \
	tesseract --list-langs 2>/dev/null | grep -qx deu || missing="$$missing tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu"; \
	if [ -n "$$missing" ]; then echo "installing Debian packages for the tests:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi

# Three workers, each taking whole test files (module fixtures stay together): most tests wait
# on processes and sockets, not the CPU. On 2 cores two workers took 861 s; three take 754 s
# (1.6 cores busy on average), every test passing at load averages up to 9.
# Our modules' bytecode is written first, once: where PYTHONDONTWRITEBYTECODE is set, every
# gateway and worker process a test starts would compile them again (~0.25 s of CPU each).
pytest: $(STAMP) system-tools
	@$(BIN)/python -m compileall -q -j 0 gateway ingestion inference configs tests >/dev/null
	$(BIN)/pytest -n 3 --dist loadfile --no-loadscope-reorder

# The checks (ruff, mypy, import layers) one after the other, beside pytest in make test.
checks: lint typecheck imports

# The venv installs beside the Debian packages (system-tools); then
# the checks run beside pytest on three workers (pytest waits on processes and sockets more than
# on the CPU, and mypy's minute and a half no longer comes before it). Either failing fails.
test:
	@$(MAKE) --no-print-directory -j2 $(STAMP) system-tools
	@$(MAKE) --no-print-directory -j2 checks pytest

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
