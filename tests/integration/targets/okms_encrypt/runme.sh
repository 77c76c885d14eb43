#!/usr/bin/env bash
# okms_encrypt and the okms_decrypt lookup through ansible-playbook: main.yml (every case, in one play), then
# inventory.yml with the inventory main.yml wrote, its connection taken from the OVH_* environment variables
# only (as an AWX credential injects them). Both run at -vvvv --diff, and no plaintext of values.yml, nor the
# access token main.yml fetched, may appear anywhere in that output.
set -eu
# Script targets get no roles path; setup_okms is a sibling target.
export ANSIBLE_ROLES_PATH=..
config="$(cd ../.. && pwd)/integration_config.yml"
work="${OUTPUT_DIR:?}/okms_encrypt"
rm -rf "${work}"
mkdir -p "${work}/home"
# Nothing from the machine: no OVH_* variables, no ~/.ovh.conf of the person running the tests.
unset OVH_ENDPOINT OVH_APPLICATION_KEY OVH_APPLICATION_SECRET OVH_CONSUMER_KEY OVH_CLIENT_ID OVH_CLIENT_SECRET
export HOME="${work}/home"

setting() {
    python -c 'import json, sys; print(json.load(open(sys.argv[1]))["okms_emulator_" + sys.argv[2]])' "${config}" "$1"
}

play() {
    # play LOG ARGS...: ansible-playbook at -vvvv --diff, its whole output in LOG.
    local log="${work}/$1"
    shift
    if ! ansible-playbook -vvvv --diff -e "@${config}" -e "enc_work=${work}" "$@" > "${log}" 2>&1; then
        tail -n 100 "${log}"
        echo "${log##*/}: ansible-playbook failed (whole output: ${log})" >&2
        exit 1
    fi
    grep -q 'PLAY RECAP' "${log}"
}

cleanup() {
    local status=$?
    if ! ansible-playbook -i "${INVENTORY_PATH}" -e "@${config}" -e "enc_work=${work}" cleanup.yml \
            > "${work}/cleanup.log" 2>&1; then
        tail -n 40 "${work}/cleanup.log"
        echo "cleanup.yml failed" >&2
        status=1
    fi
    exit "${status}"
}
trap cleanup EXIT

play main.log -i "${INVENTORY_PATH}" main.yml
OVH_ENDPOINT="$(setting endpoint)" OVH_CLIENT_ID="$(setting client_id)" OVH_CLIENT_SECRET="$(setting client_secret)" \
    REQUESTS_CA_BUNDLE="$(setting ca_path)" play inventory.log -i "${work}/inventory" inventory.yml
grep -qE '^app1 +: ok=4 +changed=1 ' "${work}/inventory.log"

# No plaintext, nor the token, in any of that output.
python - values.yml > "${work}/values" <<'PYTHON'
import sys

import yaml

with open(sys.argv[1], encoding="utf-8") as handle:
    for value in yaml.safe_load(handle).values():
        print(value.strip())
PYTHON
cat "${work}/secrets/token" >> "${work}/values"
test "$(wc -l < "${work}/values")" -eq 5
logs=("${work}/main.log" "${work}/inventory.log")
# The output is really -vvvv: module arguments are shown, with the plaintext masked.
grep -q '"plaintext": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"' "${work}/main.log"
# The check would see a leak: it finds every value once the values are appended to a copy of the output.
cat "${logs[@]}" "${work}/values" > "${work}/control"
test "$(grep -c -F -f "${work}/values" "${work}/control")" -ge "$(wc -l < "${work}/values")"
if grep -n -F -f "${work}/values" "${logs[@]}"; then
    echo "a plaintext or the token appears in the -vvvv output (lines above)" >&2
    exit 1
fi
echo "$(cat "${logs[@]}" | wc -l) lines of -vvvv --diff output, none holding any of $(wc -l < "${work}/values") values"
