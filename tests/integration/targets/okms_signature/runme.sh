#!/usr/bin/env bash
# okms_signature and okms_signature_info in one play (signature.yml) at -vvvv --diff, then that whole output is
# searched: no private key (the host's domain.key, or any "PRIVATE KEY"), no OAuth2 client secret, and not the
# text signed with content (no_log) may appear in it.
set -eu
# Script targets get no roles path; setup_okms is a sibling target.
export ANSIBLE_ROLES_PATH=..
config="$(cd ../.. && pwd)/integration_config.yml"
work="${OUTPUT_DIR:?}/okms_signature"
rm -rf "${work}"
mkdir -p "${work}"
log="${work}/signature.log"
# Nothing from the machine: no OVH_* variables of the person running the tests.
unset OVH_ENDPOINT OVH_APPLICATION_KEY OVH_APPLICATION_SECRET OVH_CONSUMER_KEY OVH_CLIENT_ID OVH_CLIENT_SECRET

if ! ansible-playbook -vvvv --diff -i "${INVENTORY_PATH}" -e "@${config}" -e "work_dir=${work}" signature.yml \
        > "${log}" 2>&1; then
    tail -n 150 "${log}"
    echo "signature.yml failed (whole output: ${log})" >&2
    exit 1
fi
grep -q 'PLAY RECAP' "${log}"
grep -qE '^testhost +: .* failed=0 ' "${log}"

secrets="${work}/secrets"
# The base64 lines of the host's private key, the OAuth2 client secret, the signed text's marker.
grep -v -- '-----' "${work}/domain.key" > "${secrets}"
python -c 'import json, sys; print(json.load(open(sys.argv[1]))["okms_emulator_client_secret"])' "${config}" >> "${secrets}"
echo 'confidential-notes-7f3a' >> "${secrets}"
test "$(wc -l < "${secrets}")" -ge 4
# The output is really -vvvv: module arguments are shown, with no_log values masked.
grep -q '"content": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"' "${log}"
# The check would see a leak: it finds every value once the values are appended to a copy of the output.
cat "${log}" "${secrets}" > "${work}/control"
test "$(grep -c -F -f "${secrets}" "${work}/control")" -ge "$(wc -l < "${secrets}")"
if grep -n -F -f "${secrets}" "${log}" || grep -n 'PRIVATE KEY' "${log}"; then
    echo "a private key, the client secret or the signed text appears in the -vvvv output (lines above)" >&2
    exit 1
fi
echo "$(wc -l < "${log}") lines of -vvvv --diff output, none holding a private key, the client secret or the signed text"
