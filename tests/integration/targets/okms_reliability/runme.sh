#!/usr/bin/env bash
# The collection under API faults, ambiguous writes and SIGKILL, against emulators of its own (see
# reliability.py). Writes OUTPUT_DIR/okms_reliability/reliability.md on every run, passing or not.
set -eu
# ansible-test points ANSIBLE_COLLECTIONS_PATH at the tree holding ansible_collections/ovhcloud/kms.
collection_dir="${ANSIBLE_COLLECTIONS_PATH%%:*}/ansible_collections/ovhcloud/kms"
"${ANSIBLE_TEST_PYTHON_INTERPRETER:-python}" reliability.py --collection-dir "${collection_dir}" \
    --output-dir "${OUTPUT_DIR:?}/okms_reliability"
