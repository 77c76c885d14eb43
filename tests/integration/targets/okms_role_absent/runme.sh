#!/usr/bin/env bash
# okms_state=absent for a KMS name (or id) that matches nothing: the role only looks the KMS up, sends
# no mutating request, orders nothing, and removes the host's files.
set -eux
export ANSIBLE_ROLES_PATH=..
setup="$(cd ../okms_role_setup && pwd)"
config="$(cd ../.. && pwd)/integration_config.yml"
# shellcheck source=../okms_role_setup/audit.sh
source "${setup}/audit.sh"
work="${OUTPUT_DIR:?}/okms_role_absent"
rm -rf "${work}"
export OKMS_ROLE_WORK="${work}"

run() {
    local log="${work}/$1"
    shift
    ansible-playbook -i inventory.yml -e "@${config}" "$@" 2>&1 | tee "${log}"
    return "${PIPESTATUS[0]}"
}

deployed() {
    # What an earlier deployment left on the host.
    mkdir -p "${work}/host1/okms"
    for file in client.cert domain.key ca.pem okms.yaml; do
        echo "left by an earlier run" > "${work}/host1/okms/${file}"
    done
}

deployed
audit_mark

# Check mode: the files would go; they are still there, nothing was sent but reads.
run check.log absent.yml --check
grep -E '^host1 +:' "${work}/check.log" | grep -vq 'changed=0 '
test -f "${work}/host1/okms/domain.key"
audit_check no_mutation

# For real: the files go, still nothing but reads; then nothing left to do.
run absent.log absent.yml
audit_check no_mutation
grep -q 'only this host.s files are removed' "${work}/absent.log"
run absent_again.log absent.yml
grep -E '^host1 +:' "${work}/absent_again.log" | grep -q 'changed=0 '
audit_check no_mutation
run verify.log verify.yml

# The same with the id of a KMS that does not exist (terminated since).
deployed
audit_mark
run absent_id.log absent.yml -e okms_id=0b0e4a35-5d40-4d6e-9a8c-5e2f7d7f0c11
audit_check no_mutation
test -z "$(ls -A "${work}/host1/okms")"
