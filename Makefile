# ovhcloud.kms developer entry points. `make test` is what CI runs.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(CURDIR)/$(VENV)/bin
# Override BUILD to run several checks side by side (e.g. make BUILD=/tmp/b1 units).
BUILD ?= $(CURDIR)/build
# ansible-test only runs from a tree ending in ansible_collections/<namespace>/<name>.
COLLECTIONS_ROOT := $(BUILD)/collections
COLLECTION_DIR := $(COLLECTIONS_ROOT)/ansible_collections/ovhcloud/kms
# Not collection content: never copied into the tree that sanity and the tarball see.
NOT_CONTENT := ^(emulator/|scripts/|demo/|\.ci/|Makefile$$|build/|\.venv/)

export PATH := $(BIN):$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS_ROOT)

.PHONY: help venv tools collection-tree lint sanity units emulator-tests integration installed-collection test demo clean

help:
	@echo "make demo   - start the local OKMS emulator and show the collection at work"
	@echo "              (make integration TARGETS='okms_instance' runs some targets only)"
	@echo "make test   - everything CI runs: lint, sanity, unit, emulator and integration tests,"
	@echo "              and the built tarball installed alone (installed-collection)"
	@echo "make clean  - remove build/ and the virtualenv"

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt requirements-test.txt emulator/pyproject.toml
	@echo "== virtualenv $(VENV) ($(PYTHON))"
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt -r requirements-test.txt -e ./emulator
	@touch $@

# ansible-test's shellcheck sanity test is skipped (with only a warning) without it.
tools:
	@command -v shellcheck >/dev/null || { \
		echo "== installing shellcheck (Debian package)"; \
		if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
			apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq shellcheck >/dev/null; \
		else echo "shellcheck is required for make sanity: install it with your package manager" >&2; exit 1; fi; }

collection-tree:
	@rm -rf $(COLLECTION_DIR) && mkdir -p $(COLLECTION_DIR)
	@git ls-files -z --cached --others --exclude-standard \
		| grep -zEv '$(NOT_CONTENT)' | xargs -0 -I{} sh -c 'test -e "{}" && printf "%s\0" "{}"' \
		| tar --null -T - -cf - | tar -xf - -C $(COLLECTION_DIR)
	@# A repository of its own: ansible-test lists content with git, and the
	@# enclosing checkout ignores build/.
	@cd $(COLLECTION_DIR) && git init -q && git add -A

lint: venv collection-tree
	@echo "== ansible-lint (production profile)"
	cd $(COLLECTION_DIR) && $(BIN)/ansible-lint --offline --profile production
	$(BIN)/ansible-lint --offline --profile production demo/
	@echo "== antsibull-docs lint-collection-docs"
	$(BIN)/antsibull-docs lint-collection-docs --plugin-docs $(COLLECTION_DIR)
	@echo "== changelog fragments"
	cd $(COLLECTION_DIR) && $(BIN)/antsibull-changelog lint

sanity: venv tools collection-tree
	@echo "== ansible-test sanity"
	$(BIN)/python scripts/ansible_test_pip_bootstrap.py
	cd $(COLLECTION_DIR) && $(BIN)/ansible-test sanity --local --requirements --python 3.11 --color no $(SANITY_TARGETS)

units: venv collection-tree
	@echo "== unit tests"
	cd $(COLLECTION_DIR) && PYTHONPATH=$(COLLECTIONS_ROOT) $(BIN)/python -m pytest -q -p no:cacheprovider tests/unit

emulator-tests: venv
	@echo "== emulator tests"
	cd emulator && $(BIN)/python -m pytest -q -p no:cacheprovider tests

integration: venv collection-tree
	@echo "== integration tests against the emulator"
	$(BIN)/python scripts/run_integration.py --collection-dir $(COLLECTION_DIR) --state-dir $(BUILD)/emulator-integration $(TARGETS)

# The release artefact: build the tarball, install it in an empty path, run the
# bootstrap playbook from there (twice: the second run must change nothing).
installed-collection: venv
	@echo "== the built collection, installed alone, bootstraps a KMS"
	$(BIN)/python scripts/check_installed_collection.py --source $(CURDIR) --work-dir $(BUILD)/installed-collection

test: lint sanity units emulator-tests integration installed-collection
	@echo "== all tests passed"

demo: venv collection-tree
	@$(BIN)/python scripts/demo.py --work-dir $(BUILD)/demo --collections-root $(COLLECTIONS_ROOT)

clean:
	rm -rf $(BUILD) $(VENV)
