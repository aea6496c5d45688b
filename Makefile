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

# The Lambda runtime is python3.13: use it where it exists (PATH, then pyenv), else say so.
# (pyenv's shim for python3.13 exists but fails when 3.13 is not the selected version.)
PYTHON313 := $(shell scripts/find-python313.sh)
DEV_PYTHON := $(or $(PYTHON313),$(shell command -v python3))

export UV_PROJECT_ENVIRONMENT := $(VENV)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36mmake %-10s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

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
lint: install ## ruff, mypy, bandit, and the requirements drift check
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@$(VENV)/bin/mypy
	@$(VENV)/bin/bandit --quiet --recursive layers/shared/taskcore functions
	@$(PY) scripts/export_requirements.py --check

.PHONY: test
test: lint ## lint, type-check, and run every test with coverage (what CI runs)
	@$(VENV)/bin/pytest -n 2 --cov --cov-report=term

.PHONY: invoke
invoke: install ## run the callback's Lambda entry point on EVENT (default events/callback.json), no Docker
	@$(PY) -m localcloud.invoke "$(EVENT)"

.PHONY: dev
dev: install ## the local cloud: scheduler API on http://127.0.0.1:$(PORT), schedules fire locally
	@$(PY) -m localcloud.dev --port $(PORT)

.PHONY: clean
clean: ## remove environments, caches and build output
	@rm -rf $(VENV) $(TOOLS) .aws-sam .pytest_cache .mypy_cache .ruff_cache .hypothesis .coverage htmlcov
