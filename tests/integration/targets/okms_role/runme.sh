#!/usr/bin/env bash
# The ovhcloud.kms.okms role on three local hosts (separate directories), against
# the emulator that `make integration` started (tests/integration/integration_config.yml):
# check mode, first run, check mode and run again. okms_role_rotation goes on from a first run
# (rotation, a host leaving) with the same files, in its own KMS.
set -eux
config="$(cd ../.. && pwd)/integration_config.yml"
# shellcheck source=../okms_role_setup/audit.sh
source ../okms_role_setup/audit.sh
hosts_dir="${OUTPUT_DIR:?}/okms_role_hosts"
rm -rf "${hosts_dir}"
mkdir -p "${hosts_dir}"
export OKMS_ROLE_HOSTS_DIR="${hosts_dir}"

run() {
    # run LOG ARGS...: ansible-playbook with the emulator settings, output kept in LOG.
    local log="${hosts_dir}/$1"
    shift
    ansible-playbook -i inventory.yml -e "@${config}" "$@" 2>&1 | tee "${log}"
    return "${PIPESTATUS[0]}"
}

recap_unchanged() {
    # Every host of the PLAY RECAP in LOG reports changed=0.
    grep -E '^(host[0-9]|localhost) +:' "$1" >/dev/null
    ! grep -E '^(host[0-9]|localhost) +:' "$1" | grep -vq 'changed=0 '
}

recap_changed() {
    grep -E '^host[0-9] +:' "$1" | grep -vq 'changed=0 '
}

# 1. Check mode from nothing: no mutating request, no file.
audit_mark
run check1.log bootstrap.yml --check
audit_check no_mutation
for host in host1 host2 host3; do
    test ! -e "${hosts_dir}/${host}/okms"
done
recap_changed "${hosts_dir}/check1.log"

# 2. First run, then the deployment is verified and really works.
run run1.log bootstrap.yml
recap_changed "${hosts_dir}/run1.log"
run verify1.log verify.yml

# 3. Second run in check mode, then for real: nothing to do.
audit_mark
run check2.log bootstrap.yml --check
recap_unchanged "${hosts_dir}/check2.log"
audit_check no_mutation
for host in host1 host2 host3; do
    test -d "${hosts_dir}/${host}/okms"
done
run run2.log bootstrap.yml
recap_unchanged "${hosts_dir}/run2.log"
