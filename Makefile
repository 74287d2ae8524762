# Developer entry points of the rest_api Odoo 18 addon. `make help` lists them.

SHELL := /bin/bash
PYTHON ?= python3
PORT ?= 8069

.DEFAULT_GOAL := help
.PHONY: help run test lint unit odoo e2e bench

help: ## list the targets
	@echo "rest_api developer targets:"
	@grep -E '^[a-z][a-z0-9_-]*:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-6s %s\n", $$1, $$2}'

run: ## serve a throwaway Odoo with rest_api on 127.0.0.1:PORT, default 8069 (prints a demo API key; Ctrl-C stops)
	@PORT=$(PORT) bash tools/run.sh

test: ## every test stage (lint, unit, odoo, e2e); last line "N passed, N failed"
	@bash tools/test.sh

lint: ## ruff check, ruff format --check, pylint-odoo
	@bash tools/test.sh lint

unit: ## pure-Python unit tests (tests/unit, no Odoo)
	@bash tools/test.sh unit

odoo: ## Odoo test runner on a throwaway database (--test-tags /rest_api)
	@bash tools/test.sh odoo

e2e: ## live Odoo server + pytest tests/e2e
	@bash tools/test.sh e2e

bench: ## REST vs /jsonrpc (search, read, create, write; ratios), SQL per call, overhead, memory (tools/bench.sh)
	@bash tools/bench.sh
