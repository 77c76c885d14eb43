#!/usr/bin/env bash
# The ovhcloud.kms.okms role on okms_role's three local hosts, in a KMS of its own: after a first run,
# certificates are rotated by renew_before (and no private key shows at -vvvv), then a host leaves.
set -eux
config="$(cd ../.. && pwd)/integration_config.yml"
role_test="$(cd ../okms_role && pwd)"
hosts_dir="${OUTPUT_DIR:?}/okms_role_rotation_hosts"
rm -rf "${hosts_dir}"
mkdir -p "${hosts_dir}"
export OKMS_ROLE_HOSTS_DIR="${hosts_dir}"

run() {
    # run LOG PLAYBOOK ARGS...: one of okms_role's playbooks, with the emulator settings, output kept in LOG.
    local log="${hosts_dir}/$1" playbook="${role_test}/$2"
    shift 2
    ansible-playbook -i "${role_test}/inventory.yml" -e "@${config}" -e okms_instance_name=it-role-rotation \
        "${playbook}" "$@" 2>&1 | tee "${log}"
    return "${PIPESTATUS[0]}"
}

recap_unchanged() {
    # Every host of the PLAY RECAP in LOG reports changed=0.
    grep -E '^(host[0-9]|localhost) +:' "$1" >/dev/null
    ! grep -E '^(host[0-9]|localhost) +:' "$1" | grep -vq 'changed=0 '
}

# 1. First run; verify.yml keeps each host's certificate and key for the checks below.
run run1.log bootstrap.yml
run verify1.log verify.yml

# 2. Rotation by renew_before: new certificates deployed, old ones revoked; the
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

# 3. One host leaves: its credential is revoked and its files removed.
run absent.log bootstrap.yml --limit host3 -e okms_state=absent
run verify_absent.log verify_absent.yml
run absent_again.log bootstrap.yml --limit host3 -e okms_state=absent
recap_unchanged "${hosts_dir}/absent_again.log"
