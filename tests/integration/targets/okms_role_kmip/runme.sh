#!/usr/bin/env bash
# KMIP with what the role deploys, on two hosts (host1 ECDSA, host2 RSA), with the PyKMIP example of the role
# README as written (its /etc/pykmip becomes a directory per host): (1) check mode before anything exists sends no
# mutating request and writes no file; (2) the role and the example, then kmip.yml: okms_instance returns the
# emulator's KMIP endpoints, okms.yaml and pykmip.conf name the endpoint of each certificate's type, each host's
# PyKMIP creates, activates, gets, locates, revokes and destroys a key (kmipObjectCount up by two, then back),
# and once host2's credential is revoked its files are refused.
set -eu
setup="$(cd ../okms_role_setup && pwd)"
config="$(cd ../.. && pwd)/integration_config.yml"
# shellcheck source=../okms_role_setup/audit.sh
source "${setup}/audit.sh"
work="${OUTPUT_DIR:?}/okms_role_kmip"
rm -rf "${work}"
mkdir -p "${work}"
export OKMS_ROLE_WORK="${work}"
# ansible-test runs a copy of the target; the README is in the collection under test, which ansible-test puts
# first in ANSIBLE_COLLECTIONS_PATH.
readme="${ANSIBLE_COLLECTIONS_PATH%%:*}/ansible_collections/ovhcloud/kms/roles/okms/README.md"
test -f "${readme}"

run() {
    # run LOG PLAYBOOK...: ansible-playbook with the emulator settings, its whole output in LOG.
    local log="${work}/$1"
    shift
    if ! ansible-playbook -i inventory.yml -e "@${config}" "$@" > "${log}" 2>&1; then
        tail -n 60 "${log}"
        echo "${log##*/}: ansible-playbook failed (whole output: ${log})" >&2
        return 1
    fi
}

# The README's PyKMIP example: the first yaml block of its KMIP section, as written but for /etc/pykmip.
awk '/^## KMIP$/ {section = 1} section && /^```yaml$/ {copy = 1; next} copy && /^```$/ {exit} copy' \
    "${readme}" > "${work}/readme_pykmip.yml"
grep -q '^    dest: /etc/pykmip/pykmip.conf$' "${work}/readme_pykmip.yml"
sed -i "s#/etc/pykmip/#${work}/{{ inventory_hostname }}/pykmip/#; s#/etc/pykmip\$#${work}/{{ inventory_hostname }}/pykmip#" \
    "${work}/readme_pykmip.yml"
if grep -n '/etc/pykmip' "${work}/readme_pykmip.yml"; then
    echo "readme_pykmip.yml: /etc/pykmip left (lines above)" >&2
    exit 1
fi

# 1. Check mode from nothing: the KMS would be ordered; no mutating request, no file.
audit_mark
run check.log bootstrap.yml --check
audit_check no_mutation
grep -qE '^host1 +: .* failed=0 ' "${work}/check.log"
grep -qE '^host2 +: .* failed=0 ' "${work}/check.log"
test -z "$(find "${work}" -mindepth 1 -not -name '*.log' -not -name readme_pykmip.yml)"

# 2. The role and the README's example, then KMIP with their files (one ansible-playbook run).
run run.log bootstrap.yml kmip.yml
grep -qE '^host1 +: .* failed=0 ' "${work}/run.log"
grep -qE '^host2 +: .* failed=0 ' "${work}/run.log"
# Every assertion of kmip.yml ran where it is meant to (a skipped assert proves nothing): 2 once, 3 on each host, 1 on host2.
test "$(grep -c '"msg": "All assertions passed"' "${work}/run.log")" = 9
for host in host1 host2; do
    test -s "${work}/${host}/pykmip/pykmip.conf"
done
