# Developer entry points of the rest_api Odoo 18 addon. `make help` lists them.
# Every target first builds, once, the project virtualenv (tools/setup.sh).

SHELL := /bin/bash
PORT ?= 8069
# the set-up, then the command; a failed set-up still ends with the summary line
IN_VENV = if ! source tools/setup.sh; then echo "make: the set-up failed (see above)"; echo "0 passed, 1 failed"; exit 1; fi;

.DEFAULT_GOAL := help
.PHONY: help run test lint unit odoo e2e setup bench pot readme

help: ## list the targets
	@echo "rest_api developer targets:"
	@grep -E '^[a-z][a-z0-9_-]*:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-6s %s\n", $$1, $$2}'

run: ## serve a throwaway Odoo with rest_api on 127.0.0.1:PORT, default 8069 (prints a demo API key; Ctrl-C stops)
	@PORT=$(PORT) bash tools/run.sh

test: ## every test stage (lint, unit, odoo, e2e, setup); last line "N passed, N failed"
	@$(IN_VENV) python3 tools/run_tests.py

lint unit odoo e2e setup: ## one stage of make test
	@$(IN_VENV) python3 tools/run_tests.py $@

bench: ## REST vs /jsonrpc (search, read, create, write, aggregate; ratios), SQL per call, overhead, memory, nested reads (tools/bench.sh)
	@$(IN_VENV) bash tools/bench.sh

pot: ## export i18n/rest_api.pot from a throwaway database
	@$(IN_VENV) python3 tools/pot.py

readme: ## build README.rst from the readme/ fragments
	@python3 tools/readme.py
