# Cyphera — the two commands a newcomer needs are `make dev` and `make test`.
# Everything else here is what those two call.

SHELL := /usr/bin/env bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

UV_VERSION := 0.13.8
UV := $(shell command -v uv 2>/dev/null || echo "python3 -m uv")
RUN := $(UV) run --frozen

.PHONY: help dev test lint fmt setup check-tools check-browser python-deps node-deps artifacts web-assets proto bench-gas bench-lists bench-scheduler bench-renewals bench-api check-wrk clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-12s %s\n", $$1, $$2}'

dev: setup ## run the whole platform locally (PostgreSQL, anvil + framework, api, worker, signer)
	$(RUN) cyphera dev

test: setup check-browser check-wrk lint ## lint, then the whole test suite on a real PostgreSQL and a real anvil
	$(RUN) pytest

# The browser tests drive Debian's Chromium (never a downloaded build): only `make test` needs it.
check-browser:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then echo "installing chromium (browser tests) from Debian's packages"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; \
	  else echo "Chromium is needed for the browser tests: run 'sudo apt-get install -y chromium' and retry."; exit 1; fi; }

# The API benchmark's load tool (its small run is in the tests): Debian's wrk.
check-wrk:
	@command -v wrk >/dev/null || { \
	  if [ "$$(id -u)" = 0 ]; then echo "installing wrk (the API benchmark's load tool) from Debian's packages"; \
	    (apt-get install -y -qq wrk >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk; }); \
	  else echo "wrk is needed for the API benchmark: run 'sudo apt-get install -y wrk' and retry."; exit 1; fi; }

lint: setup ## ruff (format + lint), mypy strict, import contracts, tsc strict (the pages' script)
	$(RUN) ruff format --check src tests migrations scripts
	$(RUN) ruff check src tests migrations scripts
	$(RUN) mypy
	$(RUN) lint-imports
	node_modules/.bin/tsc -p tsconfig.json

fmt: setup ## format and autofix
	$(RUN) ruff format src tests migrations scripts
	$(RUN) ruff check --fix src tests migrations scripts

setup: check-tools python-deps node-deps artifacts web-assets

check-tools:
	@python3 -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "Python 3.11+ is needed: install it (Debian: apt-get install python3.11) and retry."; exit 1; }
	@command -v node >/dev/null && node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)' || \
	  { echo "Node.js 20+ with npm is needed (Debian: apt-get install nodejs npm) and retry."; exit 1; }
	@command -v initdb >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || \
	  { echo "PostgreSQL server binaries are needed (Debian: apt-get install postgresql) and retry."; exit 1; }
	@command -v uv >/dev/null || python3 -m uv --version >/dev/null 2>&1 || \
	  { echo "installing uv $(UV_VERSION) from PyPI"; python3 -m pip install --quiet "uv==$(UV_VERSION)"; }

python-deps: .venv/.synced
.venv/.synced: pyproject.toml uv.lock
	$(UV) sync --frozen
	@touch $@

node-deps: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	@touch $@

artifacts: python-deps node-deps ## export the framework's ABIs/bytecode and compile the test tokens
	$(RUN) python -c 'from cyphera.chain.artifacts import ensure_built; ensure_built()'

web-assets: build/web/.built ## bundle the pages' script (with viem) and stylesheet into build/web
build/web/.built: node_modules/.installed scripts/build_web_assets.mjs $(wildcard src/cyphera/web/ts/*.ts src/cyphera/web/static/*.css)
	node scripts/build_web_assets.mjs
	@touch $@

proto: python-deps ## regenerate the signer's gRPC code from proto/
	bash scripts/gen_proto.sh

bench-gas: setup ## gas per charge on a fresh anvil, vs a plain ERC-20 transfer
	$(RUN) python scripts/bench_gas.py

bench-lists: setup ## the dashboard's subscription list, server time per page, 100,000 subscriptions
	$(RUN) python scripts/bench_lists.py

bench-api: setup check-wrk ## the API under 64 connections (wrk): req/s, p50, p99 of a list, a GET, /healthz
	$(RUN) python scripts/bench_api.py

bench-renewals: setup ## 10,000 subscriptions due at once on anvil: time until every renewal is paid
	$(RUN) python scripts/bench_renewals.py

bench-scheduler: setup ## one scheduler tick with 1,000,000 subscriptions, none due (and the plan)
	$(RUN) python scripts/bench_scheduler.py

clean: ## remove local state (.cyphera/: dev database and chain, wherever kept) and build outputs
	@if [ -x .venv/bin/cyphera ]; then .venv/bin/cyphera clean; fi
	rm -rf .cyphera build
