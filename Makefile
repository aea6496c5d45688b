# Scheduled tasks on AWS: EventBridge Scheduler -> Lambda (FastAPI + Mangum).
# `make` lists the targets. Every target creates the environment it needs; nothing is installed by hand.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

ROOT    := $(abspath .)
TOOLS   := $(ROOT)/.tools
UV      := $(TOOLS)/uv/bin/uv
UV_VERSION := 0.13.9
VENV    := $(ROOT)/.venv
PY      := $(VENV)/bin/python
EVENT   ?= events/callback.json
PORT    ?= 3000
ARGS    ?=
CONSOLE_PORT ?= 8001
# Debian's chromium for the console's browser tests (Playwright's own browser download is unreachable here).
export CHROMIUM ?= /usr/bin/chromium

# The Lambda runtime is python3.13: use it where it exists (PATH, then pyenv), else say so.
# (pyenv's shim for python3.13 exists but fails when 3.13 is not the selected version.)
PYTHON313 := $(shell scripts/find-python313.sh)
DEV_PYTHON := $(or $(PYTHON313),$(shell command -v python3))

export UV_PROJECT_ENVIRONMENT := $(VENV)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help
help: ## list the targets
	@# Colour only on a terminal: piped or redirected, the codes would be printed as they are.
	@if [ -t 1 ]; then on='\033[36m'; off='\033[0m'; else on=''; off=''; fi; \
	  awk -v on="$$on" -v off="$$off" 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %smake %-15s%s %s\n", on, $$1, off, $$2}' $(MAKEFILE_LIST)

$(UV):
	@python3 -m venv $(TOOLS)/uv
	@$(TOOLS)/uv/bin/pip install --quiet "uv==$(UV_VERSION)"

$(VENV)/.synced: $(UV) pyproject.toml uv.lock
	@if [ -z "$(PYTHON313)" ]; then echo "note: python3.13 (the Lambda runtime) not found; the dev environment uses $(DEV_PYTHON)" >&2; fi
	@$(UV) sync --locked --python "$(DEV_PYTHON)" --quiet
	@touch $@

.PHONY: install
install: $(VENV)/.synced ## create .venv (python3.13 where present) from uv.lock

.PHONY: lock
lock: $(UV) ## re-resolve uv.lock and re-export every requirements.txt from it
	@$(UV) lock --quiet
	@$(PY) scripts/export_requirements.py --write

.PHONY: lint
lint: install ## ruff, mypy, bandit, complexity (radon, at most 12 per function) and the requirements drift check
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy
	@$(VENV)/bin/bandit --quiet --recursive layers/shared/taskcore functions localcloud ops console clients/python
	@$(PY) -m scripts.complexity
	@$(PY) scripts/export_requirements.py --check

.PHONY: check-template
check-template: ## sam validate --lint, cfn-lint and checkov on template.yaml and on its offline SAM translation
	@scripts/template-checks.sh

# For the built-artifact test: boto3 alone, as the Lambda runtime provides it, and this host's builds
# of the layer's arm64 native extensions.
RUNTIME_SITE := $(ROOT)/.aws-sam/runtime-boto3
HOST_NATIVE  := $(ROOT)/.aws-sam/host-native
.PHONY: artifact-test-deps
artifact-test-deps: install
	@[ -f $(RUNTIME_SITE)/.done ] || { $(UV) pip install --quiet --python "$(DEV_PYTHON)" --target $(RUNTIME_SITE) \
	  "boto3==$$(sed -n '/^name = "boto3"/{n;s/version = "\(.*\)"/\1/p}' uv.lock)" && touch $(RUNTIME_SITE)/.done; }
	@rm -rf $(HOST_NATIVE) && $(PY) scripts/host_native_overlay.py .aws-sam/build/SharedLayer/python $(HOST_NATIVE) >/dev/null

.PHONY: browser
browser: ## Debian's chromium for the console's browser tests (installed with apt-get when missing, as root)
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "==> installing chromium (apt-get) for the console's browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "error: $(CHROMIUM) is missing and installing it needs root. Run: sudo apt-get update && sudo apt-get install -y chromium" >&2; \
	    echo "       (or point CHROMIUM=/path/to/chromium at another build; the browser tests are never skipped)" >&2; \
	    exit 1; \
	  fi; \
	fi

.PHONY: test
test: lint check-template browser ## lint, type checks, template checks, build (with python3.13), every test with coverage: what CI runs
	@if [ -n "$(PYTHON313)" ]; then \
	  $(MAKE) build artifact-test-deps && \
	  BUILT_ARTIFACTS=$(ROOT)/.aws-sam/build PYTHON313=$(PYTHON313) LAMBDA_RUNTIME_SITE=$(RUNTIME_SITE) HOST_NATIVE_SITE=$(HOST_NATIVE) \
	    env -u CONSOLE_SCREENSHOTS $(VENV)/bin/pytest -n 2 --cov --cov-report=term; \
	else \
	  echo "note: no python3.13: skipping sam build and the built-artifact test" >&2; \
	  env -u CONSOLE_SCREENSHOTS $(VENV)/bin/pytest -n 2 --cov --cov-report=term; \
	fi

.PHONY: screenshots
screenshots: install browser ## retake the console's screenshots in docs/console (the browser tests, against make dev)
	@CONSOLE_SCREENSHOTS=$(ROOT)/docs/console $(VENV)/bin/pytest tests/console/test_browser.py -p no:cacheprovider -q

.PHONY: build
build: install ## sam build with python3.13, then precompile the artifacts to bytecode (.aws-sam/build)
	@scripts/build.sh

.PHONY: deploy
deploy: build ## sam deploy (ENV=dev|prod picks a samconfig.toml environment; first time: sam deploy --guided)
	@$(TOOLS)/sam/bin/sam deploy $(if $(ENV),--config-env $(ENV))

.PHONY: invoke
invoke: install ## run the callback's Lambda entry point on EVENT (default events/callback.json), no Docker
	@$(PY) -m localcloud.invoke "$(EVENT)"

.PHONY: dev
dev: install ## the local cloud: scheduler API on http://127.0.0.1:3000 (PORT=...), schedules fire locally; ARGS=--persist FILE keeps state
	@$(PY) -m localcloud.dev --port $(PORT) $(ARGS)

.PHONY: api
api: install ## the scheduler API alone on http://127.0.0.1:3000 (PORT=...); schedules are stored, nothing fires
	@$(PY) -m localcloud.dev --port $(PORT) --api-only $(ARGS)

.PHONY: console
console: install ## the console against a deployed stack: STACK=<name> or API_URL=<url>, every request SigV4-signed with your AWS credentials (CONSOLE_PORT=8001; loopback only)
	@$(PY) -m console $(if $(STACK),--stack "$(STACK)",$(if $(API_URL),--api-url "$(API_URL)",$(error give STACK=<stack name> or API_URL=<the API's URL>))) --port $(CONSOLE_PORT) $(ARGS)

.PHONY: dlq
dlq: install ## list the running local cloud's dead-lettered tasks with their errors
	@$(PY) -m localcloud.dlq list

.PHONY: redrive
redrive: install ## replay the running local cloud's dead-lettered tasks through the callback
	@$(PY) -m localcloud.dlq redrive

QUOTA ?= 10000000

.PHONY: migrate-ledger
migrate-ledger: install ## rewrite a ledger's tasks from the layout before issue 20: TABLE=<TaskLedgerTableName> [QUOTA=<MaxActiveSchedulesPerOwner>] [ARGS=--dry-run]
	@$(PY) -m ops.migrate_ledger --table "$(if $(TABLE),$(TABLE),$(error give TABLE=<the stack's TaskLedgerTableName output>))" --quota $(QUOTA) $(ARGS)

FUZZ_EXAMPLES ?= 500
FUZZ_SEED ?= 7

.PHONY: fuzz
fuzz: install ## fuzz the scheduler API from its OpenAPI document at length (FUZZ_EXAMPLES per operation, FUZZ_SEED)
	@FUZZ_EXAMPLES=$(FUZZ_EXAMPLES) FUZZ_SEED=$(FUZZ_SEED) $(VENV)/bin/pytest tests/reliability/test_fuzz_scheduler_api.py -p no:cacheprovider -q

ADVERSE_TASKS ?= 500
ADVERSE_SEED ?= 19
ADVERSE_WCU ?= 25

.PHONY: reliability-adverse
reliability-adverse: install ## the reliability workload under AWS's adverse behaviour at length (ADVERSE_TASKS, ADVERSE_SEED, ADVERSE_WCU): prints its counts
	@ADVERSE_TASKS=$(ADVERSE_TASKS) ADVERSE_SEED=$(ADVERSE_SEED) ADVERSE_WCU=$(ADVERSE_WCU) $(VENV)/bin/pytest tests/reliability/test_adverse_workload.py -p no:cacheprovider -q -n 0 -o timeout=3600

BURST_TASKS ?= 600

.PHONY: reliability-burst
reliability-burst: install ## the 09:00 burst at length (BURST_TASKS): one role's reminders due in one minute under DynamoDB's per-key limits; prints the hottest key
	@BURST_TASKS=$(BURST_TASKS) $(VENV)/bin/pytest tests/reliability/test_burst.py -p no:cacheprovider -q -n 0 -o timeout=3600

.PHONY: bench
bench: install ## cold start, warm latency, sizes, throughput, lateness, cost -> docs/performance.md (BENCH_QUICK=1: smoke run; ONLY=dispatcher: that part alone; RENDER=1: the docs' tables from the last results)
	@$(PY) -m bench.run $(if $(BENCH_QUICK),--quick) $(if $(ONLY),--only $(ONLY)) $(if $(RENDER),--render)

# Today's layout reads every live task of the owner on each create (moto answers in time proportional to the
# table), so the default count keeps this well under a minute; the docs' figures say the count they used.
HEAT_CREATES ?= 100
.PHONY: bench-heat
bench-heat: install ## the heat model alone: one service role's creates and runs, per partition key -> docs/performance.md (HEAT_CREATES=N)
	@$(PY) -m bench.run --only heat --heat-creates $(HEAT_CREATES)

.PHONY: clean
clean: ## remove environments, caches and build output
	@rm -rf $(VENV) $(TOOLS) .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis .coverage htmlcov bench/.build bench/results
