#!/usr/bin/env bash
# Every module's EXAMPLES, run as written (ids and paths substituted) against the emulator that
# `make integration` started; see run_examples.py. The full output is kept under OUTPUT_DIR.
set -eu
# ansible-test points ANSIBLE_COLLECTIONS_PATH at the tree holding ansible_collections/ovhcloud/kms.
collection_dir="${ANSIBLE_COLLECTIONS_PATH%%:*}/ansible_collections/ovhcloud/kms"
"${ANSIBLE_TEST_PYTHON_INTERPRETER:-python}" run_examples.py "${collection_dir}" "${OUTPUT_DIR:?}"
