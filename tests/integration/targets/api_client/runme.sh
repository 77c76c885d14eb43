#!/usr/bin/env bash
# The shared API client (plugins/module_utils) against the live emulator that
# scripts/run_integration.py started and described in tests/integration/integration_config.yml.
set -eux
# ansible-test points ANSIBLE_COLLECTIONS_PATH at the tree holding ansible_collections/ovhcloud/kms.
PYTHONPATH="${ANSIBLE_COLLECTIONS_PATH%%:*}${PYTHONPATH:+:$PYTHONPATH}" \
    "${ANSIBLE_TEST_PYTHON_INTERPRETER:-python}" -m pytest -q -p no:cacheprovider test_api_client.py
