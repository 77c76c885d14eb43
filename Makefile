# ovhcloud.kms developer entry points. `make test` is what CI runs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(CURDIR)/$(VENV)/bin
# Override BUILD to run several checks side by side (e.g. make BUILD=/tmp/b1 units).
BUILD ?= $(CURDIR)/build
LOGS := $(BUILD)/logs
# ansible-test only runs from a tree ending in ansible_collections/<namespace>/<name>.
COLLECTIONS_ROOT := $(BUILD)/collections
COLLECTION_DIR := $(COLLECTIONS_ROOT)/ansible_collections/ovhcloud/kms
# Not collection content: never copied into the tree that sanity and the tarball see.
NOT_CONTENT := ^(emulator/|scripts/|demo/|specs/|\.ci/|Makefile$$|build/|\.venv/)

# Each step writes its whole output to $(LOGS)/<step>.log and prints one line
# (name, result, duration, log), plus the log's last lines when it fails.
# V=1 shows the whole output as well.
V ?= 0
STEP := $(PYTHON) $(CURDIR)/scripts/run_step.py $(if $(filter-out 0,$(V)),--verbose)
# $(call step,NAME): run the recipe of the internal target _NAME as step NAME.
step = $(STEP) $(LOGS)/$(1).log $(1) $(MAKE) --no-print-directory _$(1)
STARTED := $(shell date +%s)

export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS_ROOT)

.PHONY: help venv tools collection-tree lint sanity units emulator-tests check integration installed-collection test demo clean \
	_venv _tools _collection-tree _lint _sanity _units _emulator-tests _integration _installed-collection

help:
	@echo "make demo               start the local OKMS emulator and bootstrap three local hosts with the collection"
	@echo "make test               everything CI runs: units, emulator-tests, lint, integration, installed-collection, sanity"
	@echo "make check              the quick loop while coding: units and emulator-tests (no lint, no integration)"
	@echo "make units              unit tests of plugins/ (pytest)"
	@echo "make emulator-tests     the emulator's own tests (python-ovh against it, conformance to specs/)"
	@echo "make lint               ansible-lint (production profile), antsibull-docs, changelog fragments"
	@echo "make sanity             ansible-test sanity (SANITY_TARGETS='--test validate-modules' for one test)"
	@echo "make integration        ansible-test integration targets against emulators, in parallel workers"
	@echo "                          TARGETS='okms_instance okms_role' runs some targets only;"
	@echo "                          JOBS=N sets the number of workers"
	@echo "make installed-collection  build the tarball, install it alone, run ovhcloud.kms.bootstrap from it"
	@echo "make bench              time the role's no-op, credential readiness and lookups against the emulator;"
	@echo "                          rewrites docs/performance.md and docs/performance.png (not in make test)"
	@echo "make reliability-report  run the okms_reliability target alone and keep its report as docs/reliability.md"
	@echo "make venv               create $(VENV)/ and install the Python requirements (done by every target)"
	@echo "make clean              remove build/ and the virtualenv"
	@echo "Options: V=1 shows each step's whole output (always in build/logs/<step>.log);"
	@echo "         BUILD=DIR puts build/ elsewhere."

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-test.txt emulator/pyproject.toml
	@$(call step,venv)

_venv:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade --progress-bar off pip
	$(BIN)/python -m pip install --progress-bar off -r requirements.txt -r requirements-test.txt -e ./emulator
	touch $(VENV)/.installed

# ansible-test's shellcheck sanity test is skipped (with only a warning) without it.
tools:
	@command -v shellcheck >/dev/null || $(call step,tools)

_tools:
	if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck; \
	else echo "shellcheck is required for make sanity: install it with your package manager" >&2; exit 1; fi

collection-tree:
	@$(call step,collection-tree)

_collection-tree:
	rm -rf $(COLLECTION_DIR) && mkdir -p $(COLLECTION_DIR)
	git ls-files -z --cached --others --exclude-standard \
		| grep -zEv '$(NOT_CONTENT)' | xargs -0 -I{} sh -c 'if test -e "{}"; then printf "%s\0" "{}"; fi' \
		| tar --null -T - -cf - | tar -xf - -C $(COLLECTION_DIR)
	@# A repository of its own: ansible-test lists content with git, and the
	@# enclosing checkout ignores build/.
	cd $(COLLECTION_DIR) && git init -q && git add -A

lint: venv collection-tree
	@$(call step,lint)

_lint:
	cd $(COLLECTION_DIR) && NO_COLOR=1 $(BIN)/ansible-lint --offline --profile production
	NO_COLOR=1 $(BIN)/ansible-lint --offline --profile production demo/
	$(BIN)/antsibull-docs lint-collection-docs --plugin-docs $(COLLECTION_DIR)
	cd $(COLLECTION_DIR) && $(BIN)/antsibull-changelog lint

sanity: venv tools collection-tree
	@$(call step,sanity)

_sanity:
	$(BIN)/python scripts/ansible_test_pip_bootstrap.py
	cd $(COLLECTION_DIR) && $(BIN)/ansible-test sanity --local --requirements --python 3.11 --color no $(SANITY_TARGETS)

units: venv collection-tree
	@$(call step,units)

_units:
	cd $(COLLECTION_DIR) && PYTHONPATH=$(COLLECTIONS_ROOT) $(BIN)/python -m pytest -q -p no:cacheprovider tests/unit

emulator-tests: venv
	@$(call step,emulator-tests)

_emulator-tests:
	cd emulator && $(BIN)/python -m pytest -q -p no:cacheprovider tests

# The quick loop while coding (well under a minute): no lint, no sanity, no integration.
check: units emulator-tests
	@echo "check passed in $$(( $$(date +%s) - $(STARTED) )) s"

# One log per target in $(LOGS)/integration/; see scripts/run_integration.py.
integration: venv collection-tree
	@$(call step,integration)

_integration:
	$(BIN)/python scripts/run_integration.py --collection-dir $(COLLECTION_DIR) --work-dir $(BUILD)/integration \
		--log-dir $(LOGS)/integration $(if $(JOBS),--jobs $(JOBS)) $(TARGETS)

# The release artefact: build the tarball, install it in an empty path, run the
# bootstrap playbook from there (twice: the second run must change nothing).
installed-collection: venv
	@$(call step,installed-collection)

_installed-collection:
	$(BIN)/python scripts/check_installed_collection.py --source $(CURDIR) --work-dir $(BUILD)/installed-collection

# The quick steps first, so that a simple mistake fails in seconds.
test: units emulator-tests lint integration installed-collection sanity
	@echo "all tests passed in $$(( ($$(date +%s) - $(STARTED)) / 60 ))m$$(( ($$(date +%s) - $(STARTED)) % 60 ))s"

# The okms_reliability target alone; the report it writes on every run becomes docs/reliability.md when it passes.
.PHONY: reliability-report
reliability-report:
	@$(MAKE) --no-print-directory integration TARGETS=okms_reliability
	mkdir -p docs && cp $(BUILD)/integration/worker-*/ansible_collections/ovhcloud/kms/tests/output/.tmp/output_dir/okms_reliability/reliability.md docs/reliability.md

demo: venv collection-tree
	@$(BIN)/python scripts/demo.py --work-dir $(BUILD)/demo --collections-root $(COLLECTIONS_ROOT)

clean:
	rm -rf $(BUILD) $(VENV)

# Not part of `make test` (5 to 10 minutes on 2 cores): times the role's no-op against a hand-written
# uri/stat play, credential readiness and key lookups against its own emulators, and rewrites
# docs/performance.md and docs/performance.png. One line per phase; the whole output (bench.log,
# results.json, each emulator's audit log) is in $(BUILD)/bench/.
.PHONY: bench _bench-requirements
bench: venv collection-tree $(VENV)/.bench-installed
	@$(BIN)/python scripts/bench.py --work-dir $(BUILD)/bench --collections-root $(COLLECTIONS_ROOT) --output docs

# requirements-bench.txt (matplotlib, for the plot) is not a run-time or test dependency.
$(VENV)/.bench-installed: $(VENV)/.installed requirements-bench.txt
	@$(call step,bench-requirements)

_bench-requirements:
	$(BIN)/python -m pip install --progress-bar off -r requirements-bench.txt
	touch $(VENV)/.bench-installed
