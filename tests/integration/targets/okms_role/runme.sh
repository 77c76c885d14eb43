#!/usr/bin/env bash
# The ovhcloud.kms.okms role on three local hosts (separate directories), against
# the emulator that `make integration` started (tests/integration/integration_config.yml).
set -eux
config="$(cd ../.. && pwd)/integration_config.yml"
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
run mark.log mark_audit.yml
run check1.log bootstrap.yml --check
run assert_check1.log assert_no_change.yml -e okms_expect_files=false
recap_changed "${hosts_dir}/check1.log"

# 2. First run, then the deployment is verified and really works.
run run1.log bootstrap.yml
recap_changed "${hosts_dir}/run1.log"
run verify1.log verify.yml

# 3. Second run in check mode, then for real: nothing to do.
run mark2.log mark_audit.yml
run check2.log bootstrap.yml --check
recap_unchanged "${hosts_dir}/check2.log"
run assert_check2.log assert_no_change.yml -e okms_expect_files=true
run run2.log bootstrap.yml
recap_unchanged "${hosts_dir}/run2.log"

# 4. Rotation by renew_before: new certificates deployed, old ones revoked; the
#    handler hook fires; at -vvvv, no private key shows (host2's and host3's
#    new keys travel from the controller).
run rotate.log bootstrap.yml -vvvv -e okms_credential_renew_before_days=25 -e okms_credential_validity_days=30
grep -q "okms certificate changed" "${hosts_dir}/rotate.log"
for host in host1 host2 host3; do
    key="${hosts_dir}/${host}/okms/domain.key"
    test "$(grep -vc -- '-----' "${key}")" -gt 2
    grep -v -- '-----' "${key}" | while read -r line; do
        if grep -qF -- "${line}" "${hosts_dir}/rotate.log"; then
            echo "the private key of ${host} appears in the -vvvv output" >&2
            exit 1
        fi
    done
done
# Control: the same check finds a key that is really there.
line="$(grep -v -- '-----' "${hosts_dir}/host2/okms/domain.key" | head -n 1)"
cat "${hosts_dir}/rotate.log" "${hosts_dir}/host2/okms/domain.key" > "${hosts_dir}/control.log"
grep -qF -- "${line}" "${hosts_dir}/control.log"
run verify_rotation.log verify.yml -e okms_expect_rotation=true
run run3.log bootstrap.yml -e okms_credential_renew_before_days=25 -e okms_credential_validity_days=30
recap_unchanged "${hosts_dir}/run3.log"

# 5. One host leaves: its credential is revoked and its files removed.
run absent.log bootstrap.yml --limit host3 -e okms_state=absent
run verify_absent.log verify_absent.yml
run absent_again.log bootstrap.yml --limit host3 -e okms_state=absent
recap_unchanged "${hosts_dir}/absent_again.log"
