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
.PHONY: help venv run test checks lint typecheck imports pytest browser promtool pgbouncer kubectl haproxy tesseract bench soak clean lock upgrade

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

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

imports: $(STAMP)
	$(BIN)/lint-imports

# The console's browser tests drive Debian's chromium through Playwright (never a download).
browser:
	@command -v chromium >/dev/null 2>&1 || { echo "installing chromium (Debian) for the console tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null; }

# The alert rules' unit tests run Debian's promtool (package prometheus). After browser: two
# apt-get runs at once would fight over dpkg's lock.
promtool: browser
	@command -v promtool >/dev/null 2>&1 || { echo "installing promtool (Debian's prometheus) for the alert rule tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends prometheus >/dev/null; }

# The pooler tests (tests/deploy) run Debian's PgBouncer in transaction mode in front of the
# test Postgres. After promtool, for the same reason.
pgbouncer: promtool
	@command -v pgbouncer >/dev/null 2>&1 || test -x /usr/sbin/pgbouncer || { echo "installing pgbouncer (Debian) for the pooler tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends pgbouncer >/dev/null; }

# The Kubernetes manifests' tests (tests/deploy) render deploy/k8s with `kubectl kustomize`:
# Debian's kubernetes-client where no kubectl is installed. After pgbouncer.
kubectl: pgbouncer
	@command -v kubectl >/dev/null 2>&1 || { echo "installing kubectl (Debian's kubernetes-client) for the manifest tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kubernetes-client >/dev/null; }

# The multi-host tests (tests/multi_host) put Debian's HAProxy in front of gateway hosts
# (network namespaces). After kubectl.
haproxy: kubectl
	@command -v haproxy >/dev/null 2>&1 || test -x /usr/sbin/haproxy || { echo "installing haproxy (Debian) for the multi-host tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends haproxy >/dev/null; }

# OCR (tests/ingestion/ocr) runs Debian's Tesseract with its English and German data. After haproxy.
tesseract: haproxy
	@{ command -v tesseract >/dev/null 2>&1 && tesseract --list-langs 2>/dev/null | grep -qx deu; } || { echo "installing tesseract-ocr (Debian) for the OCR tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tesseract-ocr tesseract-ocr-eng tesseract-ocr-deu >/dev/null; }

# Two workers, each taking whole test files (module fixtures stay together): most tests wait
# on processes and sockets, not the CPU, so two halve the wall time on a 2-core machine.
pytest: $(STAMP) browser promtool pgbouncer kubectl haproxy tesseract
	$(BIN)/pytest -n 2 --dist loadfile --no-loadscope-reorder

# The checks (ruff, mypy, import layers) one after the other, beside pytest in make test.
checks: lint typecheck imports

# The venv installs beside chromium, promtool, pgbouncer, kubectl, haproxy and tesseract; then
# the checks run beside pytest on two workers (pytest waits on processes and sockets more than
# on the CPU, and mypy's minute and a half no longer comes before it). Either failing fails.
test:
	@$(MAKE) --no-print-directory -j2 $(STAMP) browser promtool pgbouncer kubectl haproxy tesseract
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
